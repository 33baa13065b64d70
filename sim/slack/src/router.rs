//! The axum front: `/api/{method}` on any HTTP method, answered by [`SlackState::handle`],
//! and Socket Mode's WebSocket at `/link/`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

use crate::state::{RawRequest, SlackState};

/// The Slack Web API under `/api/`: serve it and advertise `http://ADDR/api/`.
pub fn router(state: SlackState) -> Router {
    Router::new()
        .route("/api/{method}", any(answer))
        .route("/link/", get(crate::socket::ws::upgrade))
        .with_state(state)
}

async fn answer(
    State(state): State<SlackState>,
    Path(method): Path<String>,
    http_method: HttpMethod,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            // A header that is not visible ASCII reads as empty: wrong, but never a panic.
            .map(|v| v.to_str().unwrap_or_default())
    };
    let reply = state.handle_at(
        &RawRequest {
            http_method: http_method.as_str(),
            method: &method,
            query: uri.query(),
            content_type: text(header::CONTENT_TYPE),
            authorization: text(header::AUTHORIZATION),
            body: &body,
        },
        text(header::HOST),
    );
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(reply.body)).into_response();
    if let Some(wait) = reply.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    }
    response
}
