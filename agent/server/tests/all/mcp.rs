//! `/mcp`'s guard, before rmcp sees a request: the `Host` and `Origin` checks against DNS
//! rebinding, then the bearer token (none configured: closed), and sessions bound to the
//! token that opened them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use crate::server::with_tokens;
use crate::testing::{VIEWER, respond, tokens};

/// An MCP `initialize` POST with these headers.
fn initialize(headers: &[(&str, &str)]) -> Request<Body> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "route-test", "version": "0"}}});
    let mut req = Request::builder()
        .method("POST")
        .uri("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(Body::from(body.to_string())).unwrap()
}

/// What is sent (headers), what is expected (status, a word of the error).
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str);

fn error(bytes: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    v["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_guard_checks_host_origin_token_and_session_owner() {
    let s = with_tokens(tokens()).await;
    let bearer = format!("Bearer {VIEWER}");
    let bearer = bearer.as_str();
    let cases: [Case; 6] = [
        (
            "a rebinding Host",
            vec![("host", "evil.example"), ("authorization", bearer)],
            403,
            "DNS rebinding",
        ),
        (
            "a foreign Origin",
            vec![
                ("host", "localhost:8080"),
                ("origin", "https://evil.example"),
                ("authorization", bearer),
            ],
            403,
            "Origin",
        ),
        (
            "no token",
            vec![("host", "localhost:8080")],
            401,
            "credentials",
        ),
        (
            "a wrong token",
            vec![("host", "127.0.0.1:8080"), ("authorization", "Bearer nope")],
            401,
            "credentials",
        ),
        (
            "a session nobody opened with this token",
            vec![
                ("host", "localhost"),
                ("authorization", bearer),
                ("mcp-session-id", "s-123"),
            ],
            403,
            "session",
        ),
        ("a Host that is not a host", vec![("host", "")], 403, "Host"),
    ];
    let mut refused = 0;
    for (what, headers, want, says) in cases {
        let (code, hdrs, body) = respond(&s, initialize(&headers)).await;
        assert_eq!(code, want, "{what}: {}", String::from_utf8_lossy(&body));
        assert!(
            error(&body).contains(says),
            "{what}: {}",
            String::from_utf8_lossy(&body)
        );
        if code == 401 {
            assert_eq!(hdrs.get("www-authenticate").unwrap(), "Bearer", "{what}");
        }
        refused += 1;
    }
    assert_eq!(s.metrics.requests_refused.load(Ordering::Relaxed), refused);
}

#[tokio::test]
async fn without_tokens_mcp_is_closed() {
    let s = with_tokens(Vec::new()).await;
    let (code, _, body) = respond(
        &s,
        initialize(&[("host", "localhost"), ("authorization", "Bearer x")]),
    )
    .await;
    assert_eq!(code, 403);
    assert!(
        error(&body).contains("serve.api_tokens"),
        "{}",
        String::from_utf8_lossy(&body)
    );
}
