//! Failures, as messages a model (and an SRE) can act on.

use std::time::Duration;

use aws_sdk_arczonalshift::config::http::HttpResponse;
use aws_sdk_arczonalshift::error::{ProvideErrorMetadata, SdkError};
use sopilot_mcp_common::Failure;
use sopilot_mcp_common::aws::AwsFailure;

/// How to ask this server for less, closing the message of a call AWS kept throttling.
const ASK_LESS: &str = "one resource at a time";

/// Why a tool could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ToolFailure {
    /// The arguments are wrong; the message says how to fix them.
    #[error("{0}")]
    BadArgument(String),
    /// What was named does not exist; the message lists what does.
    #[error("{0}")]
    NotFound(String),
    /// The shift is refused before it is sent: it would leave no capacity, or the resource
    /// already has one. The message says why and what to do instead.
    #[error("{0}")]
    Refused(String),
    /// AWS failed, refused, throttled or could not be reached, after the SDK's retries.
    #[error(transparent)]
    Aws(#[from] AwsFailure),
    /// The call took longer than its deadline.
    #[error("{0}")]
    Timeout(String),
}

impl Failure for ToolFailure {
    fn timed_out(limit: Duration) -> Self {
        ToolFailure::Timeout(format!(
            "the tool did not finish within {} s; ARC or CloudWatch is slow, try again",
            limit.as_secs()
        ))
    }
}

impl ToolFailure {
    /// Classifies an SDK error ([`AwsFailure::from_sdk`]).
    pub fn from_sdk<E>(service: &'static str, attempts: u32, e: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        AwsFailure::from_sdk(service, attempts, ASK_LESS, e).into()
    }
}

/// Result of a tool body.
pub type ToolResult<T> = Result<T, ToolFailure>;
