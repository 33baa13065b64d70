//! The crate's one error type: why a scenario could not be loaded or the environment could
//! not start. Its messages are the ones `sopilot` prints.

use std::net::SocketAddr;
use std::path::PathBuf;

use sopilot_sim_aws::AwsSimError;
use sopilot_sim_k8s::K8sSimError;
use sopilot_sim_model::ModelSimError;
use sopilot_sim_slack::SlackSimError;

/// Why the simulated environment could not load a scenario or start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The scenario file is not valid YAML (the message names the line).
    #[error("scenario: {0}")]
    Yaml(#[from] sopilot_yaml::YamlError),
    /// The scenario is valid YAML but not a valid scenario (its top level or its
    /// `kubernetes` section).
    #[error("scenario line {line}: {message}")]
    Scenario {
        /// 1-based line of the offending node.
        line: usize,
        /// What is wrong there.
        message: String,
    },
    /// The scenario file could not be read.
    #[error("cannot read scenario {path}: {source}")]
    ReadScenario {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The Kubernetes API's listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why it could not be bound.
        source: std::io::Error,
    },
    /// The kubeconfig file (or the temporary directory holding it) could not be written.
    #[error("cannot write kubeconfig {path}: {source}")]
    Kubeconfig {
        /// Where it was to go.
        path: PathBuf,
        /// Why it could not be written.
        source: std::io::Error,
    },
    /// An object handed to the running simulator was refused by the Kubernetes API.
    #[error("object refused: {0}")]
    Refused(String),
    /// The listener of the simulated AWS, Slack or model could not be bound on loopback.
    #[error("cannot start the simulated {service}: {source}")]
    Listen {
        /// `AWS`, `Slack` or `model`.
        service: &'static str,
        /// Why it could not be bound.
        source: std::io::Error,
    },
    /// The `model` section is not a script (the message names the section).
    #[error(transparent)]
    Model(#[from] ModelSimError),
    /// The `slack` section cannot seed the simulated Slack.
    #[error("scenario section `slack`: {0}")]
    Slack(#[from] SlackSimError),
    /// The `jira` section cannot seed the simulated Jira.
    #[error("scenario section `jira`: {0}")]
    Jira(#[from] sopilot_sim_jira::JiraSimError),
    /// A `cloudwatch`, `logs` or `cost` section cannot seed the simulated AWS.
    #[error("scenario: {0}")]
    Aws(#[from] AwsSimError),
    /// The scenario has a `prometheus` section but a binary of Debian's `prometheus` package
    /// is not on the PATH.
    #[error(
        "the scenario's `prometheus` section needs a real Prometheus, but `{0}` is not on the \
         PATH: apt-get install -y --no-install-recommends prometheus (it has prometheus and promtool)"
    )]
    PrometheusMissing(&'static str),
    /// The real Prometheus for the scenario's `prometheus` section could not be started.
    #[error("the scenario's Prometheus: {step} failed: {message}")]
    Prometheus {
        /// What was being done (`promtool tsdb create-blocks-from`, `starting prometheus`).
        step: &'static str,
        /// Why it failed (the tool's output, the server's last log lines).
        message: String,
    },
}

impl SimError {
    pub(crate) fn scenario(line: usize, message: impl Into<String>) -> Self {
        SimError::Scenario {
            line,
            message: message.into(),
        }
    }
}

impl From<K8sSimError> for SimError {
    fn from(e: K8sSimError) -> Self {
        match e {
            K8sSimError::Scenario { line, message } => SimError::Scenario { line, message },
            K8sSimError::Bind { addr, source } => SimError::Bind { addr, source },
            K8sSimError::Kubeconfig { path, source } => SimError::Kubeconfig { path, source },
            K8sSimError::Refused(message) => SimError::Refused(message),
        }
    }
}
