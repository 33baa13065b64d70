//! The simulated Slack Web API in process, and an `mcp-slack` child process pointed at it
//! and spoken to over stdio, with its stderr kept for leak checks.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use sopilot_sim_slack::SlackState;
use tokio::io::AsyncBufReadExt;

/// A token no other text contains, so a leak is unmistakable.
pub const TOKEN: &str = "xoxb-4242424242-sim-secret-token-e2e";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The workspace most tests use.
pub fn workspace() -> Value {
    json!({
        "tokens": [TOKEN],
        "users": [
            {"id": "U0ALICE", "name": "alice", "real_name": "Alice Ng"},
            {"id": "U0BOB", "name": "bob"},
        ],
        "channels": [
            {"id": "C0INCIDENTS", "name": "incidents", "members": ["U0SOPILOT", "U0ALICE", "U0BOB"],
             "topic": "Incident reports",
             "messages": [
                {"user": "U0ALICE", "text": "payment-service is paging", "at": "-10m",
                 "replies": [{"user": "U0BOB", "text": "looking at the pods", "at": "-9m"}],
                 "reactions": {"eyes": ["U0BOB"]}},
                {"user": "U0BOB", "text": "p99 latency is 4s\nerror rate 12%", "at": "-5m"},
             ]},
            {"id": "C0OPS", "name": "ops", "members": ["U0SOPILOT"]},
            {"id": "C0WARROOM", "name": "war-room", "members": ["U0ALICE"]},
            {"id": "C0RANDOM", "name": "random", "members": ["U0SOPILOT", "U0ALICE"],
             "messages": [{"user": "U0ALICE", "text": "lunch?", "at": "-1h"}]},
        ],
    })
}

/// The allow-list most tests use.
pub const ALLOWED: &str = "#incidents,C0OPS,war-room";

/// A simulated Slack serving on 127.0.0.1.
pub struct Sim {
    pub state: SlackState,
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Sim {
    pub async fn start(section: Value) -> Sim {
        let state = SlackState::from_section(Some(&section)).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/", listener.local_addr().unwrap());
        let app = sopilot_sim_slack::router(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Sim { state, url, task }
    }
}

/// What a tool call returned.
#[derive(Debug, Clone)]
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

pub struct Harness {
    pub sim: Sim,
    pub client: RunningService<RoleClient, ()>,
    /// Everything the server wrote to stderr so far.
    pub stderr: Arc<Mutex<String>>,
    /// Every tool result's text and structured content, for leak checks.
    pub seen: Mutex<Vec<String>>,
}

impl Harness {
    /// `mcp-slack ARGS` against a simulator seeded with `section`, logging at debug.
    pub async fn start(section: Value, args: &[&str]) -> Harness {
        Self::start_with_token(section, args, TOKEN).await
    }

    pub async fn start_with_token(section: Value, args: &[&str], token: &str) -> Harness {
        let sim = Sim::start(section).await;
        let cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-slack")).configure(|c| {
            c.args(args)
                .env("SLACK_BOT_TOKEN", token)
                .env("SLACK_API_URL", &sim.url)
                .env("RUST_LOG", "debug");
        });
        let (transport, stderr) = TokioChildProcess::builder(cmd)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        if let Some(stderr) = stderr {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut l = log.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let client = ().serve(transport).await.unwrap();
        Harness {
            sim,
            client,
            stderr: log,
            seen: Mutex::new(Vec::new()),
        }
    }

    /// Calls a tool; panics only on protocol failures, not on tool errors.
    pub async fn call(&self, name: &str, args: Value) -> Reply {
        let params = CallToolRequestParams::new(name.to_owned())
            .with_arguments(args.as_object().cloned().unwrap_or_default());
        let r = tokio::time::timeout(Duration::from_secs(60), self.client.call_tool(params))
            .await
            .expect("tool call timed out")
            .unwrap_or_else(|e| panic!("{name}: protocol error {e}"));
        let reply = Reply::from(r);
        self.seen
            .lock()
            .unwrap()
            .push(format!("{}\n{}", reply.text, reply.structured));
        reply
    }

    /// Calls a tool that must succeed.
    pub async fn ok(&self, name: &str, args: Value) -> Reply {
        let r = self.call(name, args).await;
        assert!(!r.is_error, "{name} failed: {}", r.text);
        r
    }

    /// Calls a tool that must fail, returning its message.
    pub async fn fails(&self, name: &str, args: Value) -> String {
        let r = self.call(name, args).await;
        assert!(r.is_error, "{name} should fail: {}", r.text);
        r.text
    }

    /// The server's stderr so far.
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The methods the simulator received, in order.
    pub fn methods(&self) -> Vec<String> {
        self.sim
            .state
            .requests()
            .into_iter()
            .map(|r| r.method)
            .collect()
    }
}
