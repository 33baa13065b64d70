//! Model failures.

/// Why a model turn failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("model provider error: {0}")]
    Provider(String),
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
            LlmError::Malformed(_) | LlmError::Config(_) | LlmError::Script { .. } => false,
        }
    }
}
