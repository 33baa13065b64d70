//! Serves a scenario until Ctrl-C, for poking at the simulated Kubernetes API with a real
//! `kubectl` without building `sopilot`:
//!
//! ```text
//! cargo run -p sopilot-sim-env --example serve -- tests/scenarios/payment-incident.yaml
//! ```
//!
//! Prints one JSON line (`{"kubernetes": URL, "kubeconfig": PATH}`); `sopilot sim serve`
//! prints every simulator's URL.

#![allow(clippy::print_stdout)]

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .context("usage: serve SCENARIO.yaml")?;
    let scenario = sopilot_sim_env::Scenario::from_file(&path)?;
    let sim = sopilot_sim_env::start(scenario, sopilot_sim_env::SimOptions::default()).await?;
    println!(
        "{}",
        serde_json::json!({"kubernetes": sim.kubernetes_url(), "kubeconfig": sim.kubeconfig()})
    );
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
