//! Kubernetes `Status` answers: every refusal the API gives, in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The `reason` of a failed request, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    AlreadyExists,
    Conflict,
    Invalid,
    MethodNotAllowed,
    UnsupportedMediaType,
    RequestEntityTooLarge,
    TooManyRequests,
    Expired,
    InternalError,
}

impl Reason {
    pub fn code(self) -> u16 {
        match self {
            Reason::BadRequest => 400,
            Reason::Unauthorized => 401,
            Reason::Forbidden => 403,
            Reason::NotFound => 404,
            Reason::MethodNotAllowed => 405,
            Reason::AlreadyExists | Reason::Conflict => 409,
            Reason::Expired => 410,
            Reason::RequestEntityTooLarge => 413,
            Reason::UnsupportedMediaType => 415,
            Reason::Invalid => 422,
            Reason::TooManyRequests => 429,
            Reason::InternalError => 500,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Reason::BadRequest => "BadRequest",
            Reason::Unauthorized => "Unauthorized",
            Reason::Forbidden => "Forbidden",
            Reason::NotFound => "NotFound",
            Reason::AlreadyExists => "AlreadyExists",
            Reason::Conflict => "Conflict",
            Reason::Invalid => "Invalid",
            Reason::MethodNotAllowed => "MethodNotAllowed",
            Reason::UnsupportedMediaType => "UnsupportedMediaType",
            Reason::RequestEntityTooLarge => "RequestEntityTooLarge",
            Reason::TooManyRequests => "TooManyRequests",
            Reason::Expired => "Expired",
            Reason::InternalError => "InternalError",
        }
    }
}

/// A failed request's answer: a `Status` object with `reason`, `code` and `message`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiStatus {
    pub reason: Reason,
    pub message: String,
    /// `details` (name, group, kind, causes) when the API gives them.
    pub details: Option<Value>,
}

impl ApiStatus {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        ApiStatus {
            reason,
            message: message.into(),
            details: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Reason::BadRequest, message)
    }

    pub fn invalid(kind: &str, name: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiStatus {
            reason: Reason::Invalid,
            message: format!("{kind} \"{name}\" is invalid: {message}"),
            details: Some(json!({"name": name, "kind": kind,
                                 "causes": [{"reason": "FieldValueInvalid", "message": message}]})),
        }
    }

    /// `pods "x" not found`, with the details kubectl reads.
    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        let what = qualified(group, plural);
        ApiStatus {
            reason: Reason::NotFound,
            message: format!("{what} \"{name}\" not found"),
            details: Some(json!({"name": name, "group": group, "kind": plural})),
        }
    }

    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        let what = qualified(group, plural);
        ApiStatus {
            reason: Reason::AlreadyExists,
            message: format!("{what} \"{name}\" already exists"),
            details: Some(json!({"name": name, "group": group, "kind": plural})),
        }
    }

    /// The optimistic-concurrency refusal, worded as the API words it.
    pub fn conflict(group: &str, plural: &str, name: &str) -> Self {
        let what = qualified(group, plural);
        ApiStatus {
            reason: Reason::Conflict,
            message: format!(
                "Operation cannot be fulfilled on {what} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
            details: Some(json!({"name": name, "group": group, "kind": plural})),
        }
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(Reason::MethodNotAllowed, message)
    }

    /// The `Status` object.
    pub fn to_value(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason.name(),
            "code": self.reason.code(),
        });
        if let (Some(details), Some(map)) = (&self.details, status.as_object_mut()) {
            map.insert("details".to_owned(), details.clone());
        }
        status
    }
}

fn qualified(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_owned()
    } else {
        format!("{plural}.{group}")
    }
}

impl IntoResponse for ApiStatus {
    fn into_response(self) -> Response {
        let code =
            StatusCode::from_u16(self.reason.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self
            .details
            .as_ref()
            .and_then(|d| d.get("retryAfterSeconds"))
            .and_then(Value::as_u64);
        let mut response = super::handlers::json_response(code, &self.to_value());
        if let Some(seconds) = retry_after
            && let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}
