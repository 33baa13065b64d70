//! The crate's one error type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the simulator could not load a scenario or start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The scenario file is not valid YAML (the message names the line).
    #[error("scenario: {0}")]
    Yaml(#[from] sopilot_yaml::YamlError),
    /// The scenario is valid YAML but not a valid scenario.
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
    /// A listener could not be bound.
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

impl SimError {
    pub(crate) fn scenario(line: usize, message: impl Into<String>) -> Self {
        SimError::Scenario {
            line,
            message: message.into(),
        }
    }
}
