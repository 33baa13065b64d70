//! Failures, as messages a model (and an SRE) can act on.

use aws_sdk_cloudwatch::config::http::HttpResponse;
use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use rmcp::model::CallToolResult;
use sopilot_mcp_common::tool_error;

/// Error codes AWS uses for throttling (the SDK retries them before we see them).
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "LimitExceededException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

/// Why a tool could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ToolFailure {
    /// The arguments are wrong; the message says how to fix them.
    #[error("{0}")]
    BadArgument(String),
    /// What was named does not exist; the message lists what does.
    #[error("{0}")]
    NotFound(String),
    /// AWS kept throttling after every retry.
    #[error(
        "{service} is throttling requests ({code}: {message}) and still was after {attempts} attempts with backoff; wait a minute before calling again, or ask for less (fewer metrics, a shorter time range)"
    )]
    Throttled {
        service: &'static str,
        code: String,
        message: String,
        attempts: u32,
    },
    /// AWS failed on its side after every retry.
    #[error(
        "{service} failed on its side ({code}: {message}) after {attempts} attempts; try again later"
    )]
    ServerFault {
        service: &'static str,
        code: String,
        message: String,
        attempts: u32,
    },
    /// AWS refused the request.
    #[error("{service} refused the request ({code}): {message}")]
    Refused {
        service: &'static str,
        code: String,
        message: String,
    },
    /// AWS could not be reached, or credentials could not be loaded.
    #[error("cannot call {service}: {message}")]
    Unreachable {
        service: &'static str,
        message: String,
    },
    /// The metric's data cannot support the analysis (too short, too gappy, stale); the
    /// message says what is missing and what to ask for instead.
    #[error("{0}")]
    InsufficientData(String),
    /// The call took longer than its deadline.
    #[error("{0}")]
    Timeout(String),
    /// A query or filter pattern that could cut a log line apart or test it for a secret's
    /// text; never sent.
    #[error(
        "{0}. SOPilot does not run queries that can cut a log line apart or test it for a secret's text; query whole messages, or count by fields such as kubernetes.pod_name (e.g. filter @message like /Exception/ | stats count() as n by kubernetes.pod_name)"
    )]
    Unsafe(#[from] crate::guard::Refusal),
}

impl ToolFailure {
    /// As an MCP tool error (the model sees the message).
    pub fn into_result(self) -> CallToolResult {
        tool_error(self.to_string())
    }

    /// Classifies an SDK error by its structured parts (HTTP status, error code, kind).
    pub fn from_sdk<E>(service: &'static str, attempts: u32, e: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match &e {
            SdkError::ServiceError(ctx) => {
                let err = ctx.err();
                let code = err.code().unwrap_or("Unknown").to_owned();
                let message = err.message().unwrap_or("no message").to_owned();
                if THROTTLING.contains(&code.as_str()) {
                    ToolFailure::Throttled {
                        service,
                        code,
                        message,
                        attempts,
                    }
                } else if ctx.raw().status().is_server_error() {
                    ToolFailure::ServerFault {
                        service,
                        code,
                        message,
                        attempts,
                    }
                } else {
                    ToolFailure::Refused {
                        service,
                        code,
                        message,
                    }
                }
            }
            SdkError::TimeoutError(_) => ToolFailure::Timeout(format!(
                "{service} did not answer in time; try again, or ask for less"
            )),
            _ => ToolFailure::Unreachable {
                service,
                message: source_text(&e),
            },
        }
    }
}

/// The innermost message of an error chain (credentials problems are reported there).
fn source_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    parts.dedup();
    parts.join(": ")
}

/// Result of a tool body.
pub type ToolResult<T> = Result<T, ToolFailure>;
