//! AWS SDK failures, classified by their structured parts (error kind, error code, HTTP
//! status) into messages a model and an SRE can act on. Every AWS-backed server uses this one
//! classifier; what it says about asking for less is the server's own ([`AwsFailure::from_sdk`]).

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Error codes AWS uses for throttling (the SDK retries them before we see them).
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "LimitExceededException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

/// Why an AWS call failed, after the SDK's retries.
#[derive(Debug, thiserror::Error)]
pub enum AwsFailure {
    /// AWS kept throttling after every retry.
    #[error(
        "{service} is throttling requests ({code}: {message}) and still was after {attempts} attempts with backoff; wait a minute before calling again, or ask for less ({ask_less})"
    )]
    Throttled {
        service: &'static str,
        code: String,
        message: String,
        attempts: u32,
        /// How to ask this server for less, e.g. `a shorter period, fewer groups`.
        ask_less: &'static str,
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
    /// AWS did not answer within the SDK's timeouts.
    #[error("{service} did not answer in time; try again, or ask for less")]
    Timeout { service: &'static str },
}

impl AwsFailure {
    /// Classifies an SDK error of a call to `service` made with `attempts` tries; `ask_less`
    /// ends the throttling message with what this server's caller can narrow (e.g.
    /// `fewer metrics, a shorter time range`).
    pub fn from_sdk<E>(
        service: &'static str,
        attempts: u32,
        ask_less: &'static str,
        e: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match &e {
            SdkError::ServiceError(ctx) => {
                let err = ctx.err();
                let code = err.code().unwrap_or("Unknown").to_owned();
                let message = err.message().unwrap_or("no message").to_owned();
                if THROTTLING.contains(&code.as_str()) {
                    AwsFailure::Throttled {
                        service,
                        code,
                        message,
                        attempts,
                        ask_less,
                    }
                } else if ctx.raw().status().is_server_error() {
                    AwsFailure::ServerFault {
                        service,
                        code,
                        message,
                        attempts,
                    }
                } else {
                    AwsFailure::Refused {
                        service,
                        code,
                        message,
                    }
                }
            }
            SdkError::TimeoutError(_) => AwsFailure::Timeout { service },
            _ => AwsFailure::Unreachable {
                service,
                message: source_text(&e),
            },
        }
    }
}

/// The whole message of an error chain, outermost first (credentials problems are reported
/// in the innermost part).
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    const ASK: &str = "fewer things";

    fn service_error(status: u16, code: &str) -> AwsFailure {
        let err = ErrorMetadata::builder()
            .code(code)
            .message("it said no")
            .build();
        let raw = HttpResponse::new(
            StatusCode::try_from(status).unwrap_or_else(|e| panic!("{status}: {e}")),
            SdkBody::empty(),
        );
        AwsFailure::from_sdk("Test API", 3, ASK, SdkError::service_error(err, raw))
    }

    #[test]
    fn throttling_codes_are_throttling_whatever_the_status() {
        for code in THROTTLING {
            let f = service_error(400, code);
            assert!(matches!(f, AwsFailure::Throttled { .. }), "{code}: {f:?}");
            assert_eq!(
                f.to_string(),
                format!(
                    "Test API is throttling requests ({code}: it said no) and still was after 3 attempts with backoff; wait a minute before calling again, or ask for less (fewer things)"
                )
            );
        }
    }

    #[test]
    fn a_5xx_is_a_server_fault_and_a_4xx_a_refusal() {
        assert_eq!(
            service_error(503, "ServiceUnavailable").to_string(),
            "Test API failed on its side (ServiceUnavailable: it said no) after 3 attempts; try again later"
        );
        assert_eq!(
            service_error(400, "InvalidParameterValue").to_string(),
            "Test API refused the request (InvalidParameterValue): it said no"
        );
    }

    #[test]
    fn timeouts_and_unreachable_endpoints_say_which_service() {
        let timeout: SdkError<ErrorMetadata, HttpResponse> = SdkError::timeout_error("slow");
        assert_eq!(
            AwsFailure::from_sdk("Test API", 3, ASK, timeout).to_string(),
            "Test API did not answer in time; try again, or ask for less"
        );
        let io = std::io::Error::other("no credentials in the chain");
        let construction: SdkError<ErrorMetadata, HttpResponse> =
            SdkError::construction_failure(io);
        let text = AwsFailure::from_sdk("Test API", 3, ASK, construction).to_string();
        assert!(text.starts_with("cannot call Test API: "), "{text}");
        assert!(text.ends_with("no credentials in the chain"), "{text}");
    }
}
