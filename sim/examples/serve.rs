//! Serves a scenario until Ctrl-C, for poking at the simulator with a real `kubectl`
//! before `sopilot sim serve` exists:
//!
//! ```text
//! cargo run -p sopilot-sim --example serve -- tests/scenarios/payment-incident.yaml
//! ```
//!
//! Prints one JSON line (`{"kubernetes": URL, "kubeconfig": PATH}`) like `sopilot sim serve`.

#![allow(clippy::print_stdout)]

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .context("usage: serve SCENARIO.yaml")?;
    let scenario = sopilot_sim::Scenario::from_file(&path)?;
    let sim = sopilot_sim::start(scenario, sopilot_sim::SimOptions::default()).await?;
    println!(
        "{}",
        serde_json::json!({"kubernetes": sim.kubernetes_url(), "kubeconfig": sim.kubeconfig()})
    );
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
