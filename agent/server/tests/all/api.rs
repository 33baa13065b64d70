//! `/api/*`: every route against every kind of caller (none, a wrong token, each role), and
//! the bodies and queries it refuses. A refused request changes nothing and is counted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use sopilot_protocol::ApprovalState;

use crate::server::with_tokens;
use crate::testing::{APPROVER, OPERATOR, VIEWER, pending, raw, send, tokens};

/// What each caller gets from each route: a status per caller, in the order no token, a
/// wrong token, viewer, operator, approver. Past authentication, this server (no SOPs, no
/// such run) refuses starting a run (400) and reading run `nope` (404).
const MATRIX: &[(&str, &str, [u16; 5])] = &[
    ("GET", "/api/runs", [401, 401, 200, 200, 200]),
    ("GET", "/api/runs/nope", [401, 401, 404, 404, 404]),
    ("GET", "/api/approvals", [401, 401, 200, 200, 200]),
    ("POST", "/api/runs", [401, 401, 403, 400, 400]),
    ("POST", "/api/approvals/apr-none", [401, 401, 403, 403, 404]),
];

fn body_for(method: &str, path: &str) -> Option<Value> {
    match (method, path) {
        ("POST", "/api/runs") => Some(json!({"sop": "pod-crashloop"})),
        ("POST", _) => Some(json!({"decision": "approve"})),
        _ => None,
    }
}

#[tokio::test]
async fn every_route_asks_for_its_role() {
    let s = with_tokens(tokens()).await;
    let callers = [
        None,
        Some("wrong-secret-0123456789"),
        Some(VIEWER),
        Some(OPERATOR),
        Some(APPROVER),
    ];
    let mut refused = 0;
    for (method, path, expected) in MATRIX {
        for (token, want) in callers.iter().zip(expected) {
            let (code, body) = send(&s, method, path, *token, body_for(method, path)).await;
            assert_eq!(code, *want, "{method} {path} as {token:?}: {body}");
            assert!(
                body["error"].is_string() || code == 200,
                "{method} {path}: {body}"
            );
            if code == 403 {
                let needed = if path.starts_with("/api/runs") {
                    "operator"
                } else {
                    "approver"
                };
                assert_eq!(body["role_needed"], needed, "{method} {path}: {body}");
            }
            if matches!(code, 401 | 403) {
                refused += 1;
            }
        }
    }
    assert_eq!(s.metrics.requests_refused.load(Ordering::Relaxed), refused);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_nothing_else_is_a_token() {
    let s = with_tokens(tokens()).await;
    for (header, want) in [
        (format!("Bearer {VIEWER}"), 200),
        (format!("bearer {VIEWER}"), 200),
        (VIEWER.to_owned(), 401),
        (format!("Basic {VIEWER}"), 401),
        (format!("Bearer {VIEWER}-and-more"), 401),
    ] {
        let req = Request::builder()
            .uri("/api/runs")
            .header("authorization", &header)
            .body(Body::empty())
            .unwrap();
        let (code, body) = raw(&s, req).await;
        assert_eq!(code, want, "{header}: {body}");
    }
}

#[tokio::test]
async fn bad_decisions_and_queries_are_refused_and_change_nothing() {
    let s = with_tokens(tokens()).await;
    let id = pending(s.approvals.store(), "apr-bad-input").id;
    let path = format!("/api/approvals/{id}");
    for (what, body, says) in [
        (
            "an unknown decision",
            json!({"decision": "maybe"}),
            "use approve or deny",
        ),
        ("no decision", json!({"by": "alice"}), "decision"),
        (
            "an unknown field",
            json!({"decision": "approve", "force": true}),
            "force",
        ),
        // serde would read an array as the fields in order: an approval by ["approve"].
        ("an array", json!(["approve"]), "not a JSON object"),
    ] {
        let (code, answer) = send(&s, "POST", &path, Some(APPROVER), Some(body)).await;
        assert_eq!(code, 400, "{what}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(says),
            "{what}: {answer}"
        );
    }
    // A body that is not JSON at all.
    let req = Request::builder()
        .method("POST")
        .uri(&path)
        .header("authorization", format!("Bearer {APPROVER}"))
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    assert_eq!(raw(&s, req).await.0, 400);
    let still = s.approvals.store().approval(&id).unwrap().unwrap();
    assert_eq!(still.state, ApprovalState::Pending);

    // Starting a run: a body without `sop`, or with a parameter that is not a string.
    for body in [
        json!({"params": {}}),
        json!({"sop": "pod-crashloop", "params": {"replicas": 3}}),
    ] {
        let (code, answer) = send(&s, "POST", "/api/runs", Some(OPERATOR), Some(body)).await;
        assert_eq!(code, 400, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("\"sop\""),
            "{answer}"
        );
    }
    // Listing approvals by a state that does not exist names the ones that do.
    let (code, answer) = send(&s, "GET", "/api/approvals?state=open", Some(VIEWER), None).await;
    assert_eq!(code, 400, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("pending, approved, denied or expired")
    );
    let (code, answer) = send(
        &s,
        "GET",
        "/api/approvals?state=pending",
        Some(VIEWER),
        None,
    )
    .await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["approvals"].as_array().unwrap().len(), 1, "{answer}");
    assert!(
        s.runs.store().runs(10).unwrap().is_empty(),
        "no run was started"
    );
}
