//! SOPilot's simulated environment: a Kubernetes API server faithful enough for the real
//! `kubectl` and kube-rs, seeded from a scenario file, for tests, `sopilot demo` and
//! `sopilot rehearse`. (CloudWatch, Cost Explorer, Slack and the scripted model join it
//! as more listeners in [`start`].)
//!
//! ```no_run
//! # async fn demo() -> Result<(), sopilot_sim::SimError> {
//! let scenario = sopilot_sim::Scenario::from_file("tests/scenarios/payment-incident.yaml")?;
//! let sim = sopilot_sim::start(scenario, sopilot_sim::SimOptions::default()).await?;
//! println!("KUBECONFIG={}", sim.kubeconfig().display());
//! let pod = sim.get("Pod", Some("payment"), "payment-service-7d8f9c6b5-x2k9p");
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod error;
mod k8s;
mod kubeconfig;
mod quantity;
mod scenario;
mod server;
mod time;

pub use error::SimError;
pub use k8s::{KubeState, Limits, kube_router};
pub use kubeconfig::CONTEXT as KUBECONFIG_CONTEXT;
pub use scenario::{
    KubernetesScenario, LogSource, Metrics, PodMetricsSource, Scenario, ScenarioObject, Usage,
};
pub use server::{RunningSim, SimOptions, start};

/// The annotation that makes the pods of a template fail; see `docs/scenarios.md`.
pub const CRASH_ANNOTATION: &str = k8s::pods::CRASH_ANNOTATION;
