//! The simulated AWS in process and an `mcp-cloudwatch` child process spoken to over stdio.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;
use sopilot_sim_aws::AwsState;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// tests/scenarios/aws-payment.yaml as JSON.
pub fn scenario() -> Value {
    let text = std::fs::read_to_string(repo().join("tests/scenarios/aws-payment.yaml")).unwrap();
    sopilot_yaml::parse(&text).unwrap().to_json()
}

pub fn state_from(s: &Value) -> AwsState {
    AwsState::from_sections(s.get("cloudwatch"), s.get("logs"), s.get("cost")).unwrap()
}

/// Serves `state` on 127.0.0.1:0; returns the endpoint URL.
pub async fn serve(state: AwsState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum_serve(listener, sopilot_sim_aws::router(state)).await;
    });
    url
}

async fn axum_serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
) -> std::io::Result<()> {
    axum::serve(listener, router).await
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

pub struct Harness {
    pub state: AwsState,
    pub url: String,
    pub client: RunningService<RoleClient, ()>,
}

/// What a tool call returned.
#[derive(Debug)]
pub struct Reply {
    pub text: String,
    pub structured: Value,
    pub is_error: bool,
}

impl Reply {
    fn from(r: CallToolResult) -> Self {
        let text = r
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect::<Vec<_>>()
            .join("\n");
        Reply {
            text,
            structured: r.structured_content.unwrap_or(Value::Null),
            is_error: r.is_error == Some(true),
        }
    }
}

impl Harness {
    pub async fn start() -> Harness {
        Self::with(common_state()).await
    }

    pub async fn with(state: AwsState) -> Harness {
        Self::with_env(state, Vec::new()).await
    }

    /// A server whose clock is pinned at `now` (`SOPILOT_NOW`), for a state frozen at the
    /// same instant ([`AwsState::from_sections_at`]): answers never depend on when it runs.
    pub async fn pinned(state: AwsState, now: chrono::DateTime<chrono::Utc>) -> Harness {
        Self::with_env(state, vec![("SOPILOT_NOW", now.to_rfc3339())]).await
    }

    async fn with_env(state: AwsState, extra: Vec<(&'static str, String)>) -> Harness {
        let url = serve(state.clone()).await;
        let mut env = aws_env(&url);
        env.extend(extra);
        let cmd =
            tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-cloudwatch")).configure(|c| {
                c.env_remove("AWS_PROFILE");
                for (k, v) in &env {
                    c.env(k, v);
                }
            });
        let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap();
        Harness { state, url, client }
    }

    /// Calls a tool; panics only on protocol failures, not on tool errors.
    pub async fn call(&self, name: &str, args: Value) -> Reply {
        let params = CallToolRequestParams::new(name.to_owned())
            .with_arguments(args.as_object().cloned().unwrap_or_default());
        let r = tokio::time::timeout(Duration::from_secs(60), self.client.call_tool(params))
            .await
            .expect("tool call timed out")
            .unwrap_or_else(|e| panic!("{name}: protocol error {e}"));
        Reply::from(r)
    }

    /// Calls a tool that must succeed.
    pub async fn ok(&self, name: &str, args: Value) -> Reply {
        let r = self.call(name, args).await;
        assert!(!r.is_error, "{name} failed: {}", r.text);
        r
    }
}

/// The instant time-of-day-sensitive tests pin their clocks at: `SOPILOT_TEST_NOW` (RFC 3339)
/// when set, so CI can run them at several times of day, else 20:19 UTC, a time at which an
/// unpinned run once failed.
pub fn test_now() -> chrono::DateTime<chrono::Utc> {
    let text = std::env::var("SOPILOT_TEST_NOW").unwrap_or_else(|_| "2026-03-10T20:19:00Z".into());
    chrono::DateTime::parse_from_rfc3339(&text)
        .unwrap_or_else(|e| panic!("SOPILOT_TEST_NOW={text:?}: {e}"))
        .with_timezone(&chrono::Utc)
}

pub fn common_state() -> AwsState {
    state_from(&scenario())
}

/// Starts the server on `--http 127.0.0.1:0` against `endpoint`; returns it and its URL
/// (read from its log line). Its stderr keeps being drained so it never blocks.
pub async fn http_server(endpoint: &str) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-cloudwatch"));
    for (k, v) in aws_env(endpoint) {
        cmd.env(k, v);
    }
    let mut child = cmd
        .args(["--http", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(i) = line.find("http://") {
                return line[i..].trim().to_owned();
            }
        }
        panic!("no listening line")
    })
    .await
    .unwrap();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}
