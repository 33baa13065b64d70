//! What the SDK's own retry classifiers leave out.
//!
//! The SDK retries Bedrock's throttling error codes (`ThrottlingException`, …), the errors
//! Bedrock models as retryable (`ModelNotReadyException`), HTTP 500/502/503/504 and transient
//! I/O failures, and honours `x-amz-retry-after` (milliseconds). [`HttpRetries`] adds, for a
//! proxy or gateway in front of Bedrock: any HTTP 429 is throttling whatever its body says,
//! and a plain `Retry-After: SECONDS` header sets the delay before the next try.

use std::time::Duration;

use aws_sdk_bedrockruntime::config::interceptors::InterceptorContext;
use aws_sdk_bedrockruntime::config::retry::{ClassifyRetry, RetryAction};
use aws_smithy_runtime_api::client::retries::classifiers::{RetryClassifierPriority, RetryReason};
use aws_smithy_types::retry::ErrorKind;

/// The longest `Retry-After` taken as given; the turn's timeout bounds the wait anyway.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// See the module documentation. Runs after the SDK's classifiers, and refines them.
#[derive(Debug, Default)]
pub(crate) struct HttpRetries;

impl ClassifyRetry for HttpRetries {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        self.classify_retry_v2(ctx, &RetryAction::NoActionIndicated)
    }

    fn classify_retry_v2(&self, ctx: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        let Some(response) = ctx.response() else {
            return RetryAction::NoActionIndicated;
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
        let kind = match previous {
            // Bedrock's own `x-amz-retry-after` already set the delay.
            RetryAction::RetryIndicated(RetryReason::RetryableError {
                retry_after: Some(_),
                ..
            }) => return RetryAction::NoActionIndicated,
            RetryAction::RetryIndicated(RetryReason::RetryableError { kind, .. }) => *kind,
            _ if status == 429 => ErrorKind::ThrottlingError,
            // Whatever else the SDK did not retry stays so.
            _ => return RetryAction::NoActionIndicated,
        };
        match retry_after {
            Some(delay) => RetryAction::retryable_error_with_explicit_delay(kind, delay),
            None if matches!(previous, RetryAction::NoActionIndicated) => {
                RetryAction::retryable_error(kind)
            }
            None => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "SOPilot HTTP 429 and Retry-After"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}
