//! A simulated cluster and an `mcp-kubectl` child process spoken to over stdio.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;
use sopilot_sim::{RunningSim, Scenario, SimOptions};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub async fn sim() -> RunningSim {
    sim_of(&repo().join("tests/scenarios/payment-incident.yaml")).await
}

/// A simulated cluster seeded from a scenario file.
pub async fn sim_of(scenario: &std::path::Path) -> RunningSim {
    let scenario = Scenario::from_file(scenario).unwrap();
    sopilot_sim::start(scenario, SimOptions::default())
        .await
        .unwrap()
}

/// One of this crate's own scenarios (`tests/scenarios/NAME.yaml`).
pub fn own_scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/scenarios/{name}.yaml"))
}

pub struct Harness {
    pub sim: RunningSim,
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
    /// Everything a client receives: the text and the structured content.
    pub fn everything(&self) -> String {
        format!("{}\n{}", self.text, self.structured)
    }

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
    pub async fn start(allow_write: bool) -> Harness {
        Self::start_with(sim().await, allow_write).await
    }

    /// The server in front of a given simulated cluster.
    pub async fn start_with(sim: RunningSim, allow_write: bool) -> Harness {
        let kubeconfig = sim.kubeconfig().to_owned();
        let cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-kubectl")).configure(|c| {
            c.arg("--kubeconfig").arg(&kubeconfig);
            if allow_write {
                c.arg("--allow-write");
            }
            c.env("RUST_LOG", "warn");
        });
        let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap();
        Harness { sim, client }
    }

    /// Calls a tool; panics only on protocol failures, not on tool errors.
    pub async fn call(&self, name: &str, args: Value) -> Reply {
        let params = CallToolRequestParams::new(name.to_owned())
            .with_arguments(args.as_object().cloned().unwrap_or_default());
        let r = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            self.client.call_tool(params),
        )
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
