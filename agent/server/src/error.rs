//! Errors become HTTP responses in one place, as JSON, without leaking internals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A refused or failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or wrong credentials")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    /// The token is valid but its role is too low for this request.
    #[error("token {token:?} has role {has}; to {to} needs role {needs}")]
    Role {
        token: String,
        has: crate::auth::Role,
        needs: crate::auth::Role,
        to: String,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("too many requests: {0}")]
    TooMany(String),
    #[error("not available: {0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::Role { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(detail) => {
                tracing::error!("internal error: {detail}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut body = json!({"error": self.to_string()});
        if let ApiError::Role { needs, .. } = &self {
            body["role_needed"] = json!(needs.name());
        }
        (status, Json(body)).into_response()
    }
}

impl From<sopilot_runtime::StoreError> for ApiError {
    fn from(e: sopilot_runtime::StoreError) -> Self {
        match e {
            sopilot_runtime::StoreError::NoRun(id) => ApiError::NotFound(format!("no run {id}")),
            sopilot_runtime::StoreError::NoApproval(id) => {
                ApiError::NotFound(format!("no approval {id}"))
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}
