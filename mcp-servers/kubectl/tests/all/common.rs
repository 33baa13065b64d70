//! A simulated cluster and an `mcp-kubectl` child process spoken to over stdio.

// Each test binary uses part of this module.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use std::ops::Deref;
use std::path::PathBuf;

use sopilot_sim_env::{RunningSim, Scenario, SimOptions};
use sopilot_test_support::{Client, Server};
pub use sopilot_test_support::{Reply, repo};

pub async fn sim() -> RunningSim {
    sim_of(&repo().join("tests/scenarios/payment-incident.yaml")).await
}

/// A simulated cluster seeded from a scenario file.
pub async fn sim_of(scenario: &std::path::Path) -> RunningSim {
    let scenario = Scenario::from_file(scenario).unwrap();
    sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .unwrap()
}

/// One of this crate's own scenarios (`tests/scenarios/NAME.yaml`).
pub fn own_scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/scenarios/{name}.yaml"))
}

/// The `mcp-kubectl` binary for a simulated cluster, with `--allow-write` when asked.
pub fn server(sim: &RunningSim, allow_write: bool) -> Server {
    let mut args = vec![
        "--kubeconfig".to_owned(),
        sim.kubeconfig().display().to_string(),
    ];
    if allow_write {
        args.push("--allow-write".to_owned());
    }
    Server::new(env!("CARGO_BIN_EXE_mcp-kubectl"))
        .args(args)
        .env("RUST_LOG", "warn")
}

/// A simulated cluster and an `mcp-kubectl` client connected to a server in front of it;
/// calls its tools through [`Client`].
pub struct Harness {
    pub sim: RunningSim,
    pub client: Client,
}

impl Deref for Harness {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Harness {
    pub async fn start(allow_write: bool) -> Harness {
        Self::start_with(sim().await, allow_write).await
    }

    /// The server in front of a given simulated cluster.
    pub async fn start_with(sim: RunningSim, allow_write: bool) -> Harness {
        let client = server(&sim, allow_write).stdio().await;
        Harness { sim, client }
    }
}
