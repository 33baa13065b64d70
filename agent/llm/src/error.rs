//! Model failures.

/// Why a model turn failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("model provider error: {0}")]
    Provider(String),
    /// The provider refused the request itself (a schema, a message, a parameter);
    /// sending it again unchanged cannot succeed. The text names the provider.
    #[error("{0}")]
    Rejected(String),
    #[error("the model answered something unreadable: {0}")]
    Malformed(String),
    #[error("the model did not answer within {0} s")]
    Timeout(u64),
    #[error("bad model configuration: {0}")]
    Config(String),
    #[error("script {file}: {message}")]
    Script { file: String, message: String },
}

impl LlmError {
    /// Whether trying again later may help.
    pub fn is_retryable(&self) -> bool {
        match self {
            LlmError::Provider(_) | LlmError::Timeout(_) => true,
            LlmError::Rejected(_)
            | LlmError::Malformed(_)
            | LlmError::Config(_)
            | LlmError::Script { .. } => false,
        }
    }
}
