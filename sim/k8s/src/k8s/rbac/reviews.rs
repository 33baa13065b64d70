//! The two review-style APIs RBAC needs: TokenRequest (`POST .../serviceaccounts/NAME/token`,
//! what `kubectl create token` calls) and SelfSubjectAccessReview (what `kubectl auth can-i`
//! calls).

use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use serde_json::{Value, json};

use super::Identity;
use super::attributes::{Attributes, Target};
use super::authorize;
use crate::k8s::handlers::json_response;
use crate::k8s::protobuf;
use crate::k8s::state::KubeState;
use crate::k8s::status::{ApiStatus, Reason};
use crate::time;

/// Where kubectl sends its access reviews.
pub const SSAR_PATH: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

/// A request to one of the review APIs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Review {
    /// `POST /api/v1/namespaces/NS/serviceaccounts/NAME/token`.
    Token { namespace: String, name: String },
    /// `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`.
    SelfSubjectAccess,
}

impl Review {
    pub fn of(method: &Method, path: &str) -> Option<Review> {
        if *method != Method::POST {
            return None;
        }
        if path.trim_end_matches('/') == SSAR_PATH {
            return Some(Review::SelfSubjectAccess);
        }
        match path
            .trim_matches('/')
            .split('/')
            .collect::<Vec<_>>()
            .as_slice()
        {
            [
                "api",
                "v1",
                "namespaces",
                ns,
                "serviceaccounts",
                name,
                "token",
            ] => Some(Review::Token {
                namespace: (*ns).to_owned(),
                name: (*name).to_owned(),
            }),
            _ => None,
        }
    }
}

/// Answers a review request: its body read as JSON or Kubernetes protobuf, 201 with the
/// review and its status.
pub async fn serve(
    state: &KubeState,
    identity: &Identity,
    review: Review,
    request: Request,
) -> Response {
    let answer = match body_of(state, request).await {
        Ok(body) => match &review {
            Review::Token { namespace, name } => token_request(state, namespace, name, &body),
            Review::SelfSubjectAccess => self_subject_access_review(state, identity, &body),
        },
        Err(status) => Err(status),
    };
    match answer {
        Ok(value) => json_response(StatusCode::CREATED, &value),
        Err(status) => status.into_response(),
    }
}

async fn body_of(state: &KubeState, request: Request) -> Result<Value, ApiStatus> {
    let protobuf = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(protobuf::MEDIA_TYPE));
    let limit = state.limits().max_body_bytes;
    let bytes = axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| {
            ApiStatus::new(
                Reason::RequestEntityTooLarge,
                format!("the request body is larger than {limit} bytes"),
            )
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    if protobuf {
        return protobuf::decode(&bytes)
            .map_err(|e| ApiStatus::new(Reason::UnsupportedMediaType, e));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiStatus::bad_request(format!("invalid request body: {e}")))
}

/// The default and the shortest token lifetime the API server accepts.
const DEFAULT_SECONDS: i64 = 3600;
const MIN_SECONDS: i64 = 600;

/// Issues a token for a ServiceAccount; the answer is the TokenRequest with its status.
pub fn token_request(
    state: &KubeState,
    namespace: &str,
    name: &str,
    body: &Value,
) -> Result<Value, ApiStatus> {
    let uid = state.read(|s| {
        s.get("serviceaccounts", namespace, name)
            .map(|sa| crate::k8s::obj::uid(sa).to_owned())
    });
    let uid = uid.ok_or_else(|| ApiStatus::not_found("", "serviceaccounts", name))?;
    let seconds = body
        .pointer("/spec/expirationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_SECONDS);
    if seconds < MIN_SECONDS {
        return Err(ApiStatus::invalid(
            "TokenRequest",
            name,
            format!(
                "spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration less than 10 minutes"
            ),
        ));
    }
    let expires = state.read(|s| s.now()) + Duration::seconds(seconds);
    let token = state.tokens().issue(namespace, name, &uid, expires);
    let audiences = body
        .pointer("/spec/audiences")
        .filter(|a| a.as_array().is_some_and(|a| !a.is_empty()))
        .cloned()
        .unwrap_or_else(|| json!(["https://kubernetes.default.svc"]));
    Ok(json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": Value::Null},
        "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": Value::Null},
        "status": {"token": token, "expirationTimestamp": time::rfc3339(expires)},
    }))
}

/// Answers a SelfSubjectAccessReview for `identity`: the spec, and whether RBAC allows it.
pub fn self_subject_access_review(
    state: &KubeState,
    identity: &Identity,
    body: &Value,
) -> Result<Value, ApiStatus> {
    let spec = body.get("spec").cloned().unwrap_or(Value::Null);
    let field =
        |at: &Value, key: &str| at.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
    let attributes = match (
        spec.get("resourceAttributes"),
        spec.get("nonResourceAttributes"),
    ) {
        (Some(r), None) => Attributes {
            verb: field(r, "verb"),
            target: Target::Resource {
                group: field(r, "group"),
                resource: field(r, "resource"),
                subresource: field(r, "subresource"),
                namespace: field(r, "namespace"),
                name: field(r, "name"),
            },
        },
        (None, Some(n)) => Attributes {
            verb: field(n, "verb"),
            target: Target::Path(field(n, "path")),
        },
        _ => {
            return Err(ApiStatus::invalid(
                "SelfSubjectAccessReview",
                "",
                "spec.resourceAttributes: Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
            ));
        }
    };
    let decision = state.read(|s| authorize::decide(s, identity, &attributes));
    let mut status = json!({"allowed": decision.allowed});
    if let Some(reason) = decision.reason {
        status["reason"] = json!(reason);
    }
    Ok(json!({
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": Value::Null},
        "spec": spec,
        "status": status,
    }))
}
