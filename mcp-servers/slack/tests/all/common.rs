//! The simulated Slack Web API in process, and an `mcp-slack` child process pointed at it
//! and spoken to over stdio, with its stderr kept for leak checks.

// Each test binary uses part of this module.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use std::ops::Deref;

use serde_json::{Value, json};
use sopilot_sim_slack::SlackState;
use sopilot_test_support::{Client, Server};
pub use sopilot_test_support::{Reply, repo};

/// A token no other text contains, so a leak is unmistakable.
pub const TOKEN: &str = "xoxb-4242424242-sim-secret-token-e2e";

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

/// The `mcp-slack` binary with `args` against `sim`, holding `token`.
pub fn server(sim: &Sim, args: &[&str], token: &str) -> Server {
    Server::new(env!("CARGO_BIN_EXE_mcp-slack"))
        .args(args.iter().copied())
        .env("SLACK_BOT_TOKEN", token)
        .env("SLACK_API_URL", &sim.url)
}

/// A simulated Slack and an `mcp-slack` client connected to a server in front of it, with
/// the server's stderr kept for leak checks; calls its tools through [`Client`].
pub struct Harness {
    pub sim: Sim,
    pub client: Client,
}

impl Deref for Harness {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Harness {
    /// `mcp-slack ARGS` against a simulator seeded with `section`, logging at debug.
    pub async fn start(section: Value, args: &[&str]) -> Harness {
        Self::start_with_token(section, args, TOKEN).await
    }

    pub async fn start_with_token(section: Value, args: &[&str], token: &str) -> Harness {
        let sim = Sim::start(section).await;
        let client = server(&sim, args, token)
            .env("RUST_LOG", "debug")
            .keep_stderr()
            .stdio()
            .await;
        Harness { sim, client }
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
