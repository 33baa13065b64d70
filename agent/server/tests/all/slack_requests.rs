//! `/slack/events`, `/slack/commands` and `/slack/interactions`: without a signing secret
//! they are closed; every request must carry Slack's v0 signature of its exact body, made
//! within five minutes and not seen before; a signed request of the wrong shape is 400.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use sopilot_server::slack::verify::signature;

use crate::server::{with_slack, with_tokens};
use crate::testing::raw;

const SECRET: &str = "slack-signing-secret-0123456789";
const ROUTES: [&str; 3] = ["/slack/events", "/slack/commands", "/slack/interactions"];

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A POST of `body` to `path` with these Slack headers (`None`: the header is left out).
fn request(
    path: &str,
    body: &str,
    timestamp: Option<String>,
    sig: Option<String>,
) -> Request<Body> {
    let content_type = if path == "/slack/events" {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    let mut req = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", content_type);
    if let Some(t) = timestamp {
        req = req.header("x-slack-request-timestamp", t);
    }
    if let Some(s) = sig {
        req = req.header("x-slack-signature", s);
    }
    req.body(Body::from(body.to_owned())).unwrap()
}

/// `body` signed with `secret` at `at`, as Slack sends it.
fn signed_at(path: &str, body: &str, secret: &str, at: i64) -> Request<Body> {
    let ts = at.to_string();
    let sig = signature(secret.as_bytes(), &ts, body.as_bytes());
    request(path, body, Some(ts), Some(sig))
}

/// A well-formed body for each route.
fn body_of(path: &str) -> String {
    match path {
        "/slack/events" => json!({"type": "url_verification", "challenge": "c-123"}).to_string(),
        "/slack/commands" => {
            "command=%2Fsopilot&text=help&user_id=U0BOB&channel_id=C0INCIDENTS".into()
        }
        _ => {
            // A button that is not SOPilot's: acknowledged and ignored.
            let action = json!({"action_id": "someone_elses_button", "value": "x"});
            form(&json!({"type": "block_actions", "user": {"id": "U0BOB"}, "actions": [action]}))
        }
    }
}

/// An interaction form: `payload=` and the JSON, URL-encoded.
fn form(payload: &Value) -> String {
    let encoded: String = form_urlencoded::byte_serialize(payload.to_string().as_bytes()).collect();
    format!("payload={encoded}")
}

fn error(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn without_a_signing_secret_slack_is_closed() {
    let s = with_tokens(Vec::new()).await;
    for path in ROUTES {
        let (code, body) = raw(&s, signed_at(path, &body_of(path), SECRET, now())).await;
        assert_eq!(code, 403, "{path}: {body}");
        assert!(
            error(&body).contains("SLACK_SIGNING_SECRET"),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn every_route_refuses_unsigned_forged_stale_and_replayed_requests() {
    let s = with_slack(SECRET, &["U0ALICE"]).await;
    let mut refused = 0;
    for path in ROUTES {
        let body = body_of(path);
        let t = now();
        let good_sig = signature(SECRET.as_bytes(), &t.to_string(), body.as_bytes());
        let other_body = signature(SECRET.as_bytes(), &t.to_string(), b"something else");
        let cases = [
            (
                "no headers",
                request(path, &body, None, None),
                "missing header",
            ),
            (
                "no signature",
                request(path, &body, Some(t.to_string()), None),
                "missing header",
            ),
            (
                "no timestamp",
                request(path, &body, None, Some(good_sig.clone())),
                "missing header",
            ),
            (
                "a timestamp that is no number",
                request(path, &body, Some("soon".into()), Some(good_sig)),
                "not a number",
            ),
            (
                "another secret",
                signed_at(path, &body, "not-the-secret", t),
                "does not match",
            ),
            (
                "another body's signature",
                request(path, &body, Some(t.to_string()), Some(other_body)),
                "does not match",
            ),
            (
                "six minutes old",
                signed_at(path, &body, SECRET, t - 360),
                "too old",
            ),
            (
                "six minutes ahead",
                signed_at(path, &body, SECRET, t + 360),
                "future",
            ),
        ];
        for (what, req, says) in cases {
            let (code, answer) = raw(&s, req).await;
            assert_eq!(code, 401, "{path}, {what}: {answer}");
            assert!(error(&answer).contains(says), "{path}, {what}: {answer}");
            refused += 1;
        }
        // The genuine request passes once; the very same request again is a replay.
        let genuine = signed_at(path, &body, SECRET, t);
        let (code, answer) = raw(&s, genuine).await;
        assert_eq!(code, 200, "{path}: {answer}");
        let (code, answer) = raw(&s, signed_at(path, &body, SECRET, t)).await;
        assert_eq!(code, 401, "{path}: {answer}");
        assert!(error(&answer).contains("replay"), "{path}: {answer}");
        refused += 1;
    }
    assert_eq!(s.metrics.requests_refused.load(Ordering::Relaxed), refused);
}

#[tokio::test]
async fn url_verification_echoes_the_challenge_only_when_signed() {
    let s = with_slack(SECRET, &["U0ALICE"]).await;
    let body = body_of("/slack/events");
    let (code, answer) = raw(&s, signed_at("/slack/events", &body, SECRET, now())).await;
    assert_eq!((code, answer), (200, json!({"challenge": "c-123"})));
    let (code, _) = raw(&s, signed_at("/slack/events", &body, "guess", now())).await;
    assert_eq!(code, 401);
}

#[tokio::test]
async fn signed_requests_of_the_wrong_shape_are_bad_requests() {
    let s = with_slack(SECRET, &["U0ALICE"]).await;
    let cases = [
        ("/slack/events", "{not json".to_owned(), "not JSON"),
        ("/slack/events", json!({"event": {}}).to_string(), "`type`"),
        (
            "/slack/events",
            json!({"type": "url_verification"}).to_string(),
            "challenge",
        ),
        (
            "/slack/events",
            json!({"type": "event_callback"}).to_string(),
            "`event`",
        ),
        (
            "/slack/commands",
            "text=help&user_id=U0BOB".to_owned(),
            "channel_id",
        ),
        (
            "/slack/interactions",
            "actions=none".to_owned(),
            "`payload`",
        ),
        (
            "/slack/interactions",
            "payload=%7Bnot".to_owned(),
            "not JSON",
        ),
        (
            "/slack/interactions",
            form(&json!({"actions": []})),
            "no type",
        ),
        (
            "/slack/interactions",
            form(&json!({"type": "block_actions"})),
            "without actions",
        ),
    ];
    for (path, body, says) in cases {
        let (code, answer) = raw(&s, signed_at(path, &body, SECRET, now())).await;
        assert_eq!(code, 400, "{path} {body}: {answer}");
        assert!(error(&answer).contains(says), "{path} {body}: {answer}");
    }
    assert_eq!(
        s.metrics.requests_refused.load(Ordering::Relaxed),
        0,
        "signed: not counted as forged"
    );
}
