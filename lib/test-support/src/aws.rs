//! The simulated AWS (`sopilot-sim-aws`) seeded from `tests/scenarios/aws-payment.yaml`, served
//! on a free loopback port, and an AWS-backed server pointed at it with static test
//! credentials.

use serde_json::Value;
use sopilot_sim_aws::AwsState;

use crate::{Server, repo};

/// `tests/scenarios/aws-payment.yaml` as JSON.
pub fn scenario() -> Value {
    let text = std::fs::read_to_string(repo().join("tests/scenarios/aws-payment.yaml")).unwrap();
    sopilot_yaml::parse(&text).unwrap().to_json()
}

/// The simulated AWS of a scenario's `cloudwatch`, `logs`, `cost` and `xray` sections.
pub fn state_from(s: &Value) -> AwsState {
    AwsState::from_sections(s.get("cloudwatch"), s.get("logs"), s.get("cost"))
        .and_then(|state| state.with_xray(s.get("xray")))
        .unwrap()
}

/// The simulated AWS of the repository's scenario.
pub fn common_state() -> AwsState {
    state_from(&scenario())
}

/// Serves `state` on 127.0.0.1:0; returns the endpoint URL.
pub async fn serve(state: AwsState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, sopilot_sim_aws::router(state)).await;
    });
    url
}

/// The environment of a server pointed at `endpoint` with static test credentials; never
/// reaches instance metadata or a real profile.
pub fn aws_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "AKIDTEST".into()),
        ("AWS_SECRET_ACCESS_KEY", "test-secret".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_CONFIG_FILE", "/dev/null".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ("AWS_MAX_ATTEMPTS", "3".into()),
        ("RUST_LOG", "warn".into()),
    ]
}

/// The server binary `bin` against `endpoint`: [`aws_env`], without the test's `AWS_PROFILE`.
pub fn aws_server(bin: &str, endpoint: &str) -> Server {
    Server::new(bin)
        .env_remove("AWS_PROFILE")
        .envs(aws_env(endpoint))
}
