//! The simulated AWS in process and an `mcp-cost` child process spoken to over stdio.

// Each test binary uses part of this module.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use std::ops::Deref;

use sopilot_sim_aws::AwsState;
pub use sopilot_test_support::aws::{aws_env, common_state, serve};
use sopilot_test_support::{Client, HttpServer, Server};

/// The `mcp-cost` binary against `endpoint` ([`aws_env`]).
pub fn server(endpoint: &str) -> Server {
    sopilot_test_support::aws::aws_server(env!("CARGO_BIN_EXE_mcp-cost"), endpoint)
}

/// A simulated AWS and an `mcp-cost` client connected to a server in front of it; calls
/// its tools through [`Client`].
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
        let url = serve(state.clone()).await;
        let client = server(&url).stdio().await;
        Harness { state, url, client }
    }
}

/// Starts the server on `--http 127.0.0.1:0` against `endpoint`; returns it (killed when
/// dropped) and its URL.
pub async fn http_server(endpoint: &str) -> (HttpServer, String) {
    let http = server(endpoint).http().await;
    let url = http.url.clone();
    (http, url)
}
