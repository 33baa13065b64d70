//! Failures, as messages a model (and an SRE) can act on.

use std::time::Duration;

use aws_sdk_cloudwatch::config::http::HttpResponse;
use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use sopilot_mcp_common::Failure;
use sopilot_mcp_common::aws::AwsFailure;

/// How to ask this server for less, closing the message of a call AWS kept throttling.
const ASK_LESS: &str = "fewer metrics, a shorter time range";

/// Why a tool could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ToolFailure {
    /// The arguments are wrong; the message says how to fix them.
    #[error("{0}")]
    BadArgument(String),
    /// What was named does not exist; the message lists what does.
    #[error("{0}")]
    NotFound(String),
    /// AWS failed, refused, throttled or could not be reached, after the SDK's retries.
    #[error(transparent)]
    Aws(#[from] AwsFailure),
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

impl Failure for ToolFailure {
    fn timed_out(limit: Duration) -> Self {
        ToolFailure::Timeout(format!(
            "the tool did not finish within {} s; ask for less (fewer minutes, a narrower filter)",
            limit.as_secs()
        ))
    }
}

impl ToolFailure {
    /// Classifies an SDK error ([`AwsFailure::from_sdk`], with this server's way to ask for
    /// less).
    pub fn from_sdk<E>(service: &'static str, attempts: u32, e: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        AwsFailure::from_sdk(service, attempts, ASK_LESS, e).into()
    }
}

/// Result of a tool body.
pub type ToolResult<T> = Result<T, ToolFailure>;
