//! Bedrock failures, classified from the SDK's error once, here.

use std::error::Error;
use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_bedrockruntime::error::SdkError;
use aws_sdk_bedrockruntime::operation::converse::ConverseError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use sopilot_llm::LlmError;

/// Why a Bedrock Converse turn failed.
#[derive(Debug, thiserror::Error)]
pub enum BedrockError {
    /// The client cannot be built: no region, or an unusable setting.
    #[error("Bedrock is not configured: {0}")]
    Config(String),
    /// The conversation cannot be expressed as a Converse request.
    #[error("the conversation cannot be sent to Bedrock: {0}")]
    InvalidRequest(String),
    /// Bedrock still throttled the call after every retry.
    #[error(
        "Bedrock throttled model {model_id} and kept throttling through {attempts} attempts: {message} (wait and run again; for more throughput ask for a higher \"on-demand model invocation\" quota for this model in Service Quotas, or use a cross-region inference profile such as us.<model-id>)"
    )]
    Throttled {
        model_id: String,
        attempts: u32,
        message: String,
    },
    /// Bedrock refused the request as invalid (`ValidationException`, HTTP 400): a schema,
    /// a message or a parameter it does not accept. Retrying the same request cannot help.
    #[error("Bedrock rejected the request to model {model_id}: {message}{}", rejected_hint(.model_id, .message))]
    Rejected { model_id: String, message: String },
    /// The credentials may not call this model (`AccessDeniedException`, HTTP 403).
    #[error(
        "Bedrock denied access to model {model_id} in {region}: {message} (the credentials need the IAM permission bedrock:InvokeModel on the model, and on the inference profile when the id is one; and access to the model must be enabled in the Bedrock console, Model access, in {region})"
    )]
    AccessDenied {
        model_id: String,
        region: String,
        message: String,
    },
    /// No such model or inference profile in this region (`ResourceNotFoundException`).
    #[error(
        "Bedrock has no model {model_id} in {region}: {message} (check the id with `aws bedrock list-foundation-models --region {region}` or `aws bedrock list-inference-profiles --region {region}`, and the region: AWS_REGION)"
    )]
    ModelNotFound {
        model_id: String,
        region: String,
        message: String,
    },
    /// Bedrock or the model failed on its side (5xx, `ModelNotReadyException`,
    /// `ModelTimeoutException`, `ModelErrorException`, an unknown error code), after retries.
    #[error("Bedrock failed ({code}, HTTP {status}): {message}")]
    Service {
        code: String,
        status: u16,
        message: String,
    },
    /// The response could not be read as a Converse answer; says what was wrong.
    #[error("Bedrock answered something unreadable: {0}")]
    Malformed(String),
    /// The turn did not finish within its timeout (retries included).
    #[error("Bedrock did not answer within {} s", .0.as_secs_f64())]
    Timeout(Duration),
    /// The AWS credential chain found no usable credentials.
    #[error(
        "no AWS credentials to call Bedrock model {model_id}: {detail} (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; run `aws sso login` for an SSO profile; or set AWS_BEARER_TOKEN_BEDROCK to a Bedrock API key)"
    )]
    NoCredentials { model_id: String, detail: String },
    /// The request never got an answer: connection refused, DNS, TLS.
    #[error("could not reach Bedrock: {0}")]
    Unreachable(String),
}

impl BedrockError {
    /// Whether trying the same request again later may help.
    pub fn is_retryable(&self) -> bool {
        match self {
            BedrockError::Throttled { .. }
            | BedrockError::Service { .. }
            | BedrockError::Timeout(_)
            | BedrockError::Unreachable(_) => true,
            BedrockError::Config(_)
            | BedrockError::NoCredentials { .. }
            | BedrockError::InvalidRequest(_)
            | BedrockError::Rejected { .. }
            | BedrockError::AccessDenied { .. }
            | BedrockError::ModelNotFound { .. }
            | BedrockError::Malformed(_) => false,
        }
    }

    /// Classifies an SDK error from `Converse`.
    pub(crate) fn from_sdk(err: SdkError<ConverseError>, call: &Call<'_>) -> Self {
        let model_id = call.model_id.to_owned();
        let region = call.region.to_owned();
        let (attempts, timeout) = (call.attempts, call.timeout);
        match err {
            SdkError::ServiceError(e) => {
                let status = e.raw().status().as_u16();
                let err = e.into_err();
                let message = err.message().unwrap_or_default().to_owned();
                match err {
                    ConverseError::ThrottlingException(_) => BedrockError::Throttled {
                        model_id,
                        attempts,
                        message,
                    },
                    ConverseError::ValidationException(_) => {
                        BedrockError::Rejected { model_id, message }
                    }
                    ConverseError::AccessDeniedException(_) => BedrockError::AccessDenied {
                        model_id,
                        region,
                        message,
                    },
                    ConverseError::ResourceNotFoundException(_) => BedrockError::ModelNotFound {
                        model_id,
                        region,
                        message,
                    },
                    // A body that is not a Converse answer comes back as an error without a
                    // code on a 2xx status: the response itself is what was wrong.
                    other if (200..300).contains(&status) => BedrockError::Malformed(format!(
                        "HTTP {status} with a body that is not a Converse response: {}",
                        // Past the SDK's "unhandled error" to what the parser found.
                        other.source().map_or_else(|| chain(&other), chain)
                    )),
                    other => BedrockError::Service {
                        code: other.code().unwrap_or("no error code").to_owned(),
                        status,
                        message: if message.is_empty() {
                            chain(&other)
                        } else {
                            message
                        },
                    },
                }
            }
            other => {
                // "dispatch failure: io error: ...: Connection refused (os error 111)"
                let chain = chain(&other);
                if caused_by_credentials(&other) {
                    return BedrockError::NoCredentials {
                        model_id,
                        detail: chain,
                    };
                }
                match other {
                    SdkError::TimeoutError(_) => BedrockError::Timeout(timeout),
                    SdkError::DispatchFailure(e) if e.is_timeout() => {
                        BedrockError::Timeout(timeout)
                    }
                    SdkError::ResponseError(_) => {
                        BedrockError::Malformed(format!("the response could not be read: {chain}"))
                    }
                    SdkError::ConstructionFailure(_) => {
                        BedrockError::Config(format!("the request could not be built: {chain}"))
                    }
                    // Dispatch failures, and whatever a newer SDK adds (`SdkError` is
                    // non-exhaustive).
                    _ => BedrockError::Unreachable(chain),
                }
            }
        }
    }
}

/// What a failed call was: for the error's words.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    pub model_id: &'a str,
    pub region: &'a str,
    /// Tries allowed per turn.
    pub attempts: u32,
    pub timeout: Duration,
}

/// What to do about a `ValidationException`, for the messages whose cause is known.
fn rejected_hint(model_id: &str, message: &str) -> String {
    let m = message.to_ascii_lowercase();
    if m.contains("on-demand throughput") || m.contains("inference profile") {
        format!(
            " (this model is only served through an inference profile: use its profile id, e.g. bedrock:us.{model_id} or bedrock:eu.{model_id}; `aws bedrock list-inference-profiles` lists them)"
        )
    } else if m.contains("tool use") || (m.contains("toolconfig") && m.contains("support")) {
        " (this model does not support tool use in Converse; choose one that does, e.g. an Anthropic Claude, Amazon Nova, Mistral Large or Llama 3.1+ model)".to_owned()
    } else if m.contains("model identifier is invalid") {
        " (check the model id: `aws bedrock list-foundation-models`)".to_owned()
    } else {
        String::new()
    }
}

/// Whether the credential chain's failure is somewhere in an error's sources.
fn caused_by_credentials(e: &(dyn Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(cause) = next {
        if cause.is::<CredentialsError>() {
            return true;
        }
        next = cause.source();
    }
    false
}

/// An error and its sources, as one line: `a: b: c`.
fn chain(e: &(dyn Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

impl From<BedrockError> for LlmError {
    fn from(e: BedrockError) -> Self {
        let text = e.to_string();
        match e {
            BedrockError::Config(_)
            | BedrockError::NoCredentials { .. }
            | BedrockError::AccessDenied { .. }
            | BedrockError::ModelNotFound { .. } => LlmError::Config(text),
            BedrockError::Rejected { .. } | BedrockError::InvalidRequest(_) => {
                LlmError::Rejected(text)
            }
            BedrockError::Malformed(what) => LlmError::Malformed(format!("from Bedrock: {what}")),
            BedrockError::Timeout(d) => LlmError::Timeout(d.as_secs()),
            BedrockError::Throttled { .. }
            | BedrockError::Service { .. }
            | BedrockError::Unreachable(_) => LlmError::Provider(text),
        }
    }
}
