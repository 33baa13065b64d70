//! The crate's one error type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the simulated Kubernetes API could not load its scenario section or start.
#[derive(Debug, thiserror::Error)]
pub enum K8sSimError {
    /// The `kubernetes` section is valid YAML but not a valid section.
    #[error("scenario line {line}: {message}")]
    Scenario {
        /// 1-based line of the offending node.
        line: usize,
        /// What is wrong there.
        message: String,
    },
    /// The listener could not be bound.
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
    /// An object handed to the running simulator was refused by the API.
    #[error("object refused: {0}")]
    Refused(String),
}

impl K8sSimError {
    pub(crate) fn scenario(line: usize, message: impl Into<String>) -> Self {
        K8sSimError::Scenario {
            line,
            message: message.into(),
        }
    }
}
