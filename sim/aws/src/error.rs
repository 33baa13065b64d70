//! Errors: a scenario section the simulator cannot load, and (separately) the AWS-shaped
//! errors its operations answer with.

/// Why a scenario's `cloudwatch`, `logs` or `cost` section cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AwsSimError {
    /// A field is missing, has the wrong type or an invalid value.
    #[error("scenario section `{section}`, field `{field}`: {message}")]
    Scenario {
        section: &'static str,
        /// A dotted path such as `metrics[2].series.noise.seed`.
        field: String,
        message: String,
    },
}

impl AwsSimError {
    pub(crate) fn scenario(
        section: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        AwsSimError::Scenario {
            section,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Decodes a scenario section into `T`, naming the offending field on failure.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    section: &'static str,
    value: &serde_json::Value,
) -> Result<T, AwsSimError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "(top level)".to_owned()
        } else {
            path
        };
        AwsSimError::scenario(section, field, e.into_inner().to_string())
    })
}

/// An error as an AWS service answers it: a code (`__type`), a message and an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiError {
    /// A client fault (HTTP 400).
    pub fn client(code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: 400,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// A server fault (HTTP 500).
    pub fn server(code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: 500,
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// What an operation answers: a response body (as JSON; CBOR is derived from it) or an error.
pub type ApiResult = Result<serde_json::Value, ApiError>;
