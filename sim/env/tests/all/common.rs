//! Shared test helpers: start the simulated environment on 127.0.0.1 with its own
//! kubeconfig.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use sopilot_sim_env::{RunningSim, Scenario, SimOptions};

/// The repository's `tests/scenarios/NAME.yaml`.
pub fn scenario_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/scenarios/{name}.yaml"))
}

/// The shared payment incident scenario.
pub fn payment_scenario() -> Scenario {
    Scenario::from_file(scenario_path("payment-incident")).expect("the payment scenario loads")
}

pub async fn start(scenario: Scenario) -> RunningSim {
    sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .expect("the simulator starts")
}

pub async fn start_payment() -> RunningSim {
    start(payment_scenario()).await
}

pub async fn start_yaml(yaml: &str) -> RunningSim {
    start(Scenario::from_yaml(yaml).expect("the test scenario parses")).await
}

pub const CRASH_POD: &str = "payment-service-7d8f9c6b5-x2k9p";
