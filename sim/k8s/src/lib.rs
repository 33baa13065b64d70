//! SOPilot's simulated Kubernetes API server: faithful enough for the real `kubectl` and
//! kube-rs, seeded from a scenario file's `kubernetes` section, for tests, `sopilot demo`
//! and `sopilot rehearse`. `sopilot-sim-env` starts it together with the simulated AWS,
//! Slack and model; [`start`] starts it alone.
//!
//! ```no_run
//! # async fn demo(node: &sopilot_yaml::Node) -> Result<(), sopilot_sim_k8s::K8sSimError> {
//! let kubernetes = sopilot_sim_k8s::KubernetesScenario::from_node(node)?;
//! let sim = sopilot_sim_k8s::start(&kubernetes, sopilot_sim_k8s::KubeOptions::default()).await?;
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
mod tls;

pub use error::K8sSimError;
pub use k8s::{KubeState, Limits, kube_router};
pub use kubeconfig::CONTEXT as KUBECONFIG_CONTEXT;
pub use scenario::{
    KubernetesScenario, LogSource, Metrics, PodMetricsSource, ScenarioObject, Usage,
};
pub use server::{KubeOptions, RunningKube, start, start_tls};

/// The annotation that makes the pods of a template fail; see `docs/scenarios.md`.
pub const CRASH_ANNOTATION: &str = k8s::pods::CRASH_ANNOTATION;
