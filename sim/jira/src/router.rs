//! The axum front: every path answered by [`JiraState::handle`].

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::state::{JiraState, RawRequest};

/// The Jira REST API at `/rest/api/3/`: serve it and point clients at `http://ADDR`.
pub fn router(state: JiraState) -> Router {
    Router::new().fallback(answer).with_state(state)
}

async fn answer(
    State(state): State<JiraState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let base = text(header::HOST)
        .map(|h| format!("http://{h}"))
        .unwrap_or_default();
    let reply = state.handle(&RawRequest {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query(),
        authorization: text(header::AUTHORIZATION),
        body: &body,
        base: &base,
    });
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match reply.body {
        Some(b) => (status, axum::Json(b)).into_response(),
        None => status.into_response(),
    }
}
