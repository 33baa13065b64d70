//! The embedded simulated environment, for `demo`, `rehearse` and `sim serve`.

use std::net::SocketAddr;

use serde_json::{Value, json};
use sopilot_sim::{RunningSim, Scenario, SimOptions};
use sopilot_sim_model::ModelState;

/// A running simulated environment: Kubernetes, and the scripted model.
pub struct SimEnv {
    pub sim: RunningSim,
    pub model_url: String,
    model_task: tokio::task::JoinHandle<()>,
}

impl SimEnv {
    /// Starts every simulated service the scenario describes, on loopback.
    pub async fn start(
        scenario: Scenario,
        kubernetes_addr: Option<SocketAddr>,
    ) -> Result<SimEnv, String> {
        let model = ModelState::from_section(scenario.model.as_ref()).map_err(|e| e.to_string())?;
        let mut options = SimOptions::default();
        if let Some(addr) = kubernetes_addr {
            options.kubernetes_addr = addr;
        }
        let sim = sopilot_sim::start(scenario, options)
            .await
            .map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot start the simulated model: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let router = sopilot_sim_model::router(model);
        let model_task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!("simulated model stopped: {e}");
            }
        });
        Ok(SimEnv {
            sim,
            model_url: format!("http://{addr}/v1"),
            model_task,
        })
    }

    /// The environment the MCP servers need to talk to the simulators.
    pub fn server_env(&self) -> Vec<(String, String)> {
        vec![(
            "KUBECONFIG".into(),
            self.sim.kubeconfig().display().to_string(),
        )]
    }

    /// The first line of `sopilot sim serve` (CONTRACTS.md). Services not simulated by this
    /// build are `null`.
    pub fn urls(&self) -> Value {
        json!({
            "kubernetes": self.sim.kubernetes_url(),
            "kubeconfig": self.sim.kubeconfig(),
            "aws": Value::Null,
            "slack": Value::Null,
            "model": self.model_url,
        })
    }

    /// Stops everything.
    pub async fn shutdown(self) {
        self.model_task.abort();
        self.sim.shutdown().await;
    }
}
