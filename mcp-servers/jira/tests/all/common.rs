//! The simulated Jira in process, and an `mcp-jira` child process pointed at it and spoken
//! to over stdio, with its stderr kept for leak checks.

#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use std::ops::Deref;

use serde_json::{Value, json};
use sopilot_sim_jira::JiraState;
use sopilot_test_support::{Client, Server};

pub const EMAIL: &str = "bot@example.com";
/// Tokens no other text contains, so a leak is unmistakable.
pub const TOKEN: &str = "ATATT3x-jira-sim-secret-token-e2e";
pub const PAT: &str = "NjM0-jira-sim-secret-pat-e2e";

/// The site most tests use: OPS and PAY allowed by the tests, SEC not.
pub fn site() -> Value {
    json!({
        "users": [{"account_id": "acct-bot", "name": "SOPilot", "email": EMAIL, "api_token": TOKEN, "pat": PAT}],
        "projects": [
            {"key": "OPS", "name": "Operations"},
            {"key": "PAY", "name": "Payments"},
            {"key": "SEC", "name": "Security"},
        ],
        "issues": [
            {"key": "OPS-1", "type": "Incident", "summary": "payment-service 5xx", "description": "p99 **4s** since 10:02",
             "status": "In Progress", "labels": ["sev1", "payment-service"], "created": "-2h",
             "comments": [{"body": "rolled back to v41", "at": "-1h"}]},
            {"key": "OPS-2", "summary": "rotate certs", "labels": ["chore"], "created": "-1d"},
            {"key": "PAY-1", "type": "Bug", "summary": "refunds slow", "labels": ["payment-service"], "created": "-30m"},
            {"key": "SEC-1", "type": "Incident", "summary": "secret: leaked key", "labels": ["payment-service"], "created": "-10m"},
        ],
    })
}

pub const PROJECTS: &str = "OPS,PAY";

/// A simulated Jira serving on 127.0.0.1.
pub struct Sim {
    pub state: JiraState,
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
        let state = JiraState::from_section(Some(&section)).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = sopilot_sim_jira::router(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Sim { state, url, task }
    }

    /// The paths Jira received, as `METHOD PATH`.
    pub fn calls(&self) -> Vec<String> {
        self.state
            .requests()
            .into_iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }
}

/// The `mcp-jira` binary against `url` with Cloud credentials and `--projects PROJECTS`.
pub fn server(url: &str) -> Server {
    Server::new(env!("CARGO_BIN_EXE_mcp-jira"))
        .args(["--projects", PROJECTS])
        .env("JIRA_URL", url)
        .env("JIRA_EMAIL", EMAIL)
        .env("JIRA_API_TOKEN", TOKEN)
        .env_remove("JIRA_PAT")
}

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
    pub async fn start() -> Harness {
        Harness::on(site()).await
    }

    /// As [`Harness::start`], against the site `section` describes.
    pub async fn on(section: Value) -> Harness {
        let sim = Sim::start(section).await;
        let client = server(&sim.url)
            .env("RUST_LOG", "debug")
            .keep_stderr()
            .stdio()
            .await;
        Harness { sim, client }
    }

    /// Nothing the client saw or the server logged holds a credential.
    pub fn assert_no_leak(&self) {
        let seen = self.client.seen.lock().unwrap().join("\n");
        let log = self.client.log();
        for secret in [TOKEN, PAT] {
            assert!(!seen.contains(secret), "a result holds a credential");
            assert!(!log.contains(secret), "the log holds a credential");
        }
    }
}
