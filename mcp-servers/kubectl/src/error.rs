//! Failures, as messages a model (and an SRE) can act on.

use std::time::Duration;

use sopilot_mcp_common::Failure;

/// Why a tool could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ToolFailure {
    /// The arguments are wrong; the message says how to fix them.
    #[error("{0}")]
    BadArgument(String),
    /// The object does not exist.
    #[error("{kind} {name:?} not found{}; {hint}", .namespace.as_ref().map(|n| format!(" in namespace {n:?}")).unwrap_or_default())]
    NotFound {
        kind: &'static str,
        namespace: Option<String>,
        name: String,
        hint: String,
    },
    /// The API server refused or failed.
    #[error("the Kubernetes API answered {code} {reason}: {message}")]
    Api {
        code: u16,
        reason: String,
        message: String,
    },
    /// The API server could not be reached or answered nonsense.
    #[error("cannot reach the Kubernetes API: {0}")]
    Transport(String),
    /// The call took longer than its deadline.
    #[error("the Kubernetes API did not answer within {0} s")]
    Timeout(u64),
    /// The request is refused by design (Secrets, a missing --allow-write).
    #[error("{0}")]
    Refused(String),
    /// A resource (`kind`) argument names no single resource.
    #[error(transparent)]
    Resolve(#[from] crate::resolve::ResolveError),
}

impl Failure for ToolFailure {
    fn timed_out(limit: Duration) -> Self {
        ToolFailure::Timeout(limit.as_secs())
    }
}

impl ToolFailure {
    /// A not-found failure with a hint on how to find the right name.
    pub fn not_found(
        kind: &'static str,
        namespace: Option<&str>,
        name: &str,
        hint: impl Into<String>,
    ) -> Self {
        ToolFailure::NotFound {
            kind,
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
            hint: hint.into(),
        }
    }
}

impl From<kube::Error> for ToolFailure {
    fn from(e: kube::Error) -> Self {
        match e {
            kube::Error::Api(status) => ToolFailure::Api {
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            },
            other => ToolFailure::Transport(other.to_string()),
        }
    }
}

/// The HTTP status of an API error, if it is one.
pub fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// Result of a tool body.
pub type ToolResult<T> = Result<T, ToolFailure>;
