//! The simulator on 127.0.0.1:0, seeded from tests/scenarios/aws-payment.yaml, and the real
//! AWS SDK clients pointed at it with static test credentials.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_cloudwatch::config::{BehaviorVersion, Credentials, Region};
use serde_json::Value;
use sopilot_sim_aws::AwsState;

/// The instant time-of-day-sensitive tests pin the simulated clock at: `SOPILOT_TEST_NOW`
/// (RFC 3339) when set, so CI can run them at several times of day, else 20:19 UTC.
pub fn test_now() -> chrono::DateTime<chrono::Utc> {
    let text = std::env::var("SOPILOT_TEST_NOW").unwrap_or_else(|_| "2026-03-10T20:19:00Z".into());
    chrono::DateTime::parse_from_rfc3339(&text)
        .unwrap_or_else(|e| panic!("SOPILOT_TEST_NOW={text:?}: {e}"))
        .with_timezone(&chrono::Utc)
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The scenario file as JSON (parsed once per test binary).
pub fn scenario() -> Value {
    static SCENARIO: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
        let text =
            std::fs::read_to_string(repo().join("tests/scenarios/aws-payment.yaml")).unwrap();
        sopilot_yaml::parse(&text).unwrap().to_json()
    });
    SCENARIO.clone()
}

pub fn state() -> AwsState {
    let s = scenario();
    AwsState::from_sections(s.get("cloudwatch"), s.get("logs"), s.get("cost"))
        .and_then(|state| state.with_xray(s.get("xray")))
        .unwrap()
}

pub struct Sim {
    pub state: AwsState,
    pub url: String,
}

pub async fn serve(state: AwsState) -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = sopilot_sim_aws::router(state.clone());
    tokio::spawn(async move { axum_serve(listener, router).await });
    Sim { state, url }
}

async fn axum_serve(listener: tokio::net::TcpListener, router: axum::Router) {
    let _ = axum::serve(listener, router).await;
}

pub async fn start() -> Sim {
    serve(state()).await
}

fn creds() -> Credentials {
    Credentials::new("AKIDTEST", "test-secret", None, None, "static")
}

/// Retries: `attempts` in all, with a short backoff so tests stay fast.
fn retry(attempts: u32) -> aws_sdk_cloudwatch::config::retry::RetryConfig {
    aws_sdk_cloudwatch::config::retry::RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(10))
}

impl Sim {
    pub fn cloudwatch(&self, attempts: u32) -> aws_sdk_cloudwatch::Client {
        let conf = aws_sdk_cloudwatch::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(creds())
            .endpoint_url(&self.url)
            .retry_config(retry(attempts))
            .build();
        aws_sdk_cloudwatch::Client::from_conf(conf)
    }

    pub fn logs(&self) -> aws_sdk_cloudwatchlogs::Client {
        let conf = aws_sdk_cloudwatchlogs::Config::builder()
            .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudwatchlogs::config::Region::new("us-east-1"))
            .credentials_provider(creds())
            .endpoint_url(&self.url)
            .retry_config(retry(3))
            .build();
        aws_sdk_cloudwatchlogs::Client::from_conf(conf)
    }

    pub fn xray(&self, attempts: u32) -> aws_sdk_xray::Client {
        let conf = aws_sdk_xray::Config::builder()
            .behavior_version(aws_sdk_xray::config::BehaviorVersion::latest())
            .region(aws_sdk_xray::config::Region::new("us-east-1"))
            .credentials_provider(creds())
            .endpoint_url(&self.url)
            .retry_config(retry(attempts))
            .build();
        aws_sdk_xray::Client::from_conf(conf)
    }

    pub fn arc(&self, attempts: u32) -> aws_sdk_arczonalshift::Client {
        let conf = aws_sdk_arczonalshift::Config::builder()
            .behavior_version(aws_sdk_arczonalshift::config::BehaviorVersion::latest())
            .region(aws_sdk_arczonalshift::config::Region::new("us-east-1"))
            .credentials_provider(creds())
            .endpoint_url(&self.url)
            .retry_config(retry(attempts))
            .build();
        aws_sdk_arczonalshift::Client::from_conf(conf)
    }

    pub fn cost(&self, attempts: u32) -> aws_sdk_costexplorer::Client {
        let conf = aws_sdk_costexplorer::Config::builder()
            .behavior_version(aws_sdk_costexplorer::config::BehaviorVersion::latest())
            .region(aws_sdk_costexplorer::config::Region::new("us-east-1"))
            .credentials_provider(creds())
            .endpoint_url(&self.url)
            .retry_config(retry(attempts))
            .build();
        aws_sdk_costexplorer::Client::from_conf(conf)
    }
}
