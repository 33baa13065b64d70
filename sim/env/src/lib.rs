//! SOPilot's simulated environment, for tests, `sopilot demo`, `sopilot rehearse`,
//! `sopilot sim serve` and `sopilot serve --simulate`: the scenario file ([`Scenario`]) and
//! [`start`], which starts every simulator on loopback from its section — the Kubernetes
//! API (`sopilot-sim-k8s`, with a kubeconfig), AWS (`sopilot-sim-aws`), Slack
//! (`sopilot-sim-slack`) and the scripted model (`sopilot-sim-model`) — and stops them all
//! gracefully with [`RunningSim::shutdown`]. A scenario with a `prometheus` section also gets
//! a real Prometheus serving its metric history ([`prometheus`]), and one with a `jira`
//! section a simulated Jira (`sopilot-sim-jira`; `JIRA_URL`, its credentials and
//! `SOPILOT_JIRA_PROJECTS` in [`RunningSim::server_env`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), sopilot_sim_env::SimError> {
//! let scenario = sopilot_sim_env::Scenario::from_file("tests/scenarios/payment-incident.yaml")?;
//! let sim = sopilot_sim_env::start(scenario, sopilot_sim_env::SimOptions::default()).await?;
//! println!("KUBECONFIG={} AWS_ENDPOINT_URL={}", sim.kubeconfig().display(), sim.aws_url());
//! let pod = sim.get("Pod", Some("payment"), "payment-service-7d8f9c6b5-x2k9p");
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod env;
mod error;
pub mod openmetrics;
pub mod prometheus;
mod scenario;

pub use env::{RunningSim, SIM_REGION, SimOptions, start};
pub use error::SimError;
pub use scenario::Scenario;
pub use sopilot_sim_aws::AwsState;
pub use sopilot_sim_jira::JiraState;
pub use sopilot_sim_k8s::{
    CRASH_ANNOTATION, K8sSimError, KUBECONFIG_CONTEXT, KubeState, KubernetesScenario, Limits,
    LogSource, Metrics, PodMetricsSource, ScenarioObject, Usage,
};
pub use sopilot_sim_model::ModelState;
pub use sopilot_sim_slack::SlackState;
