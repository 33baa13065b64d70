//! The embedded simulated environment, for `demo`, `rehearse` and `sim serve`.

use axum::serve::ListenerExt;
use std::net::SocketAddr;

use serde_json::{Value, json};
use sopilot_sim::{RunningSim, Scenario, SimOptions};
use sopilot_sim_aws::AwsState;
use sopilot_sim_model::ModelState;
use sopilot_sim_slack::SlackState;

/// A running simulated environment: Kubernetes, AWS (CloudWatch, Logs, Cost Explorer),
/// Slack and the scripted model.
pub struct SimEnv {
    pub sim: RunningSim,
    pub aws_url: String,
    pub model_url: String,
    pub slack: SlackState,
    pub slack_url: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// The region the simulated AWS answers for.
pub const SIM_REGION: &str = "us-east-1";

/// Serves a router on a fresh loopback port; returns its address and task.
async fn spawn(
    name: &'static str,
    router: axum::Router,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot start the simulated {name}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let task = tokio::spawn(async move {
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!("simulated {name} stopped: {e}");
        }
    });
    Ok((addr, task))
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
        let slack = SlackState::from_section(sim.scenario().slack.as_ref())
            .map_err(|e| format!("scenario section `slack`: {e}"))?;
        let aws = AwsState::from_sections(
            sim.scenario().cloudwatch.as_ref(),
            sim.scenario().logs.as_ref(),
            sim.scenario().cost.as_ref(),
        )
        .map_err(|e| format!("scenario: {e}"))?;
        let (aws_addr, aws_task) = spawn("AWS", sopilot_sim_aws::router(aws.clone())).await?;
        let (model_addr, model_task) = spawn("model", sopilot_sim_model::router(model)).await?;
        let (slack_addr, slack_task) =
            spawn("Slack", sopilot_sim_slack::router(slack.clone())).await?;
        Ok(SimEnv {
            sim,
            aws_url: format!("http://{aws_addr}"),
            model_url: format!("http://{model_addr}/v1"),
            slack,
            slack_url: format!("http://{slack_addr}/api/"),
            tasks: vec![aws_task, model_task, slack_task],
        })
    }

    /// The environment the MCP servers need to talk to the simulators.
    pub fn server_env(&self) -> Vec<(String, String)> {
        vec![
            (
                "KUBECONFIG".into(),
                self.sim.kubeconfig().display().to_string(),
            ),
            ("AWS_ENDPOINT_URL".into(), self.aws_url.clone()),
            ("AWS_REGION".into(), SIM_REGION.into()),
            ("AWS_ACCESS_KEY_ID".into(), "sopilot-sim".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "sopilot-sim".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("SLACK_API_URL".into(), self.slack_url.clone()),
            ("SLACK_BOT_TOKEN".into(), self.slack.token().to_owned()),
        ]
    }

    /// The first line of `sopilot sim serve` (CONTRACTS.md).
    pub fn urls(&self) -> Value {
        json!({
            "kubernetes": self.sim.kubernetes_url(),
            "kubeconfig": self.sim.kubeconfig(),
            "aws": self.aws_url,
            "slack": self.slack_url,
            "model": self.model_url,
        })
    }

    /// Stops everything.
    pub async fn shutdown(self) {
        for t in self.tasks {
            t.abort();
        }
        self.sim.shutdown().await;
    }
}
