//! The simulated AWS in process and an `mcp-cloudwatch` child process spoken to over stdio.

// Each test binary uses part of this module.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use std::ops::Deref;

use sopilot_sim_aws::AwsState;
pub use sopilot_test_support::Reply;
pub use sopilot_test_support::aws::{aws_env, common_state, scenario, serve, state_from};
use sopilot_test_support::{Client, HttpServer, Server};

/// The `mcp-cloudwatch` binary against `endpoint` ([`aws_env`]).
pub fn server(endpoint: &str) -> Server {
    sopilot_test_support::aws::aws_server(env!("CARGO_BIN_EXE_mcp-cloudwatch"), endpoint)
}

/// A simulated AWS and an `mcp-cloudwatch` client connected to a server in front of it;
/// calls its tools through [`Client`].
pub struct Harness {
    pub state: AwsState,
    pub url: String,
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
        let client = server(&url).envs(extra).stdio().await;
        Harness { state, url, client }
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

/// Starts the server on `--http 127.0.0.1:0` against `endpoint`; returns it (killed when
/// dropped) and its URL.
pub async fn http_server(endpoint: &str) -> (HttpServer, String) {
    let http = server(endpoint).http().await;
    let url = http.url.clone();
    (http, url)
}
