//! `/healthz` answers without credentials; `/metrics` is Prometheus text whose counters move
//! with what the doors did (here: refusals).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::Request;

use crate::server::with_tokens;
use crate::testing::{respond, send, tokens};

async fn get_text(s: &sopilot_server::AppState, path: &str) -> (u16, String, String) {
    let req = Request::builder().uri(path).body(Body::empty()).unwrap();
    let (code, headers, body) = respond(s, req).await;
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (code, content_type, String::from_utf8(body).unwrap())
}

/// The value of the sample `name` (a line `name value`).
fn sample(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {name} in:\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn healthz_needs_nothing() {
    let s = with_tokens(Vec::new()).await;
    let (code, content_type, body) = get_text(&s, "/healthz").await;
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let post = Request::builder()
        .method("POST")
        .uri("/healthz")
        .body(Body::empty())
        .unwrap();
    assert_eq!(respond(&s, post).await.0, 405);
}

#[tokio::test]
async fn metrics_count_the_refused_requests() {
    let s = with_tokens(tokens()).await;
    let (code, content_type, text) = get_text(&s, "/metrics").await;
    assert_eq!(code, 200);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(
        text.contains("# TYPE sopilot_requests_refused_total counter"),
        "{text}"
    );
    assert_eq!(sample(&text, "sopilot_requests_refused_total"), 0);
    assert_eq!(sample(&text, "sopilot_runs_started_total"), 0);
    for token in [None, Some("nope")] {
        assert_eq!(send(&s, "GET", "/api/runs", token, None).await.0, 401);
    }
    let (_, _, text) = get_text(&s, "/metrics").await;
    assert_eq!(sample(&text, "sopilot_requests_refused_total"), 2, "{text}");
}
