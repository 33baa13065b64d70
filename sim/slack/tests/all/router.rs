//! The axum router over HTTP semantics, and a property: no request body, query, header or
//! method name makes the simulator panic or answer something that is not Slack JSON.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::{Value, json};
use sopilot_sim_slack::{RawRequest, SlackState, router};
use tower::ServiceExt;

async fn send(app: axum::Router, req: Request<Body>) -> (StatusCode, Option<String>, Value) {
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let retry = resp
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let ct = resp.headers().get(header::CONTENT_TYPE).cloned();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(ct.unwrap(), "application/json");
    (status, retry, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn serves_the_web_api_under_api() {
    let state = SlackState::from_section(None).unwrap();
    let app = router(state.clone());
    let token = format!("Bearer {}", state.token());
    let post = Request::post("/api/chat.postMessage")
        .header(header::AUTHORIZATION, &token)
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(Body::from(
            json!({"channel": "#incidents", "text": "hello"}).to_string(),
        ))
        .unwrap();
    let (status, retry, body) = send(app.clone(), post).await;
    assert_eq!((status, retry), (StatusCode::OK, None));
    assert_eq!(body["ok"], true, "{body}");
    let get = Request::get("/api/conversations.history?channel=C0INCIDENTS&limit=1")
        .header(header::AUTHORIZATION, &token)
        .body(Body::empty())
        .unwrap();
    let (_, _, body) = send(app.clone(), get).await;
    assert_eq!(body["messages"][0]["text"], "hello");
    let unauth = Request::get("/api/auth.test").body(Body::empty()).unwrap();
    let (status, _, body) = send(app.clone(), unauth).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"ok": false, "error": "not_authed"}))
    );
    state.throttle(1, 2);
    let throttled = Request::post("/api/auth.test")
        .header(header::AUTHORIZATION, &token)
        .body(Body::empty())
        .unwrap();
    let (status, retry, body) = send(app.clone(), throttled).await;
    assert_eq!(
        (status, retry.as_deref(), &body["error"]),
        (
            StatusCode::TOO_MANY_REQUESTS,
            Some("2"),
            &json!("ratelimited")
        )
    );
    let unknown = Request::get("/api/files.upload")
        .body(Body::empty())
        .unwrap();
    let (status, _, _) = send(app.clone(), unknown).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let recorded: Vec<(String, String, u16)> = state
        .requests()
        .into_iter()
        .map(|r| (r.http_method, r.method, r.status))
        .collect();
    assert_eq!(
        recorded,
        [
            ("POST".into(), "chat.postMessage".into(), 200),
            ("GET".into(), "conversations.history".into(), 200),
            ("GET".into(), "auth.test".into(), 200),
            ("POST".into(), "auth.test".into(), 429),
            ("GET".into(), "files.upload".into(), 404),
        ]
    );
    assert_eq!(state.requests()[1].params["limit"], "1");
}

const METHODS: &[&str] = &[
    "auth.test",
    "chat.postMessage",
    "chat.postEphemeral",
    "chat.update",
    "conversations.history",
    "conversations.replies",
    "conversations.list",
    "conversations.info",
    "reactions.add",
    "users.info",
    "nope",
    "",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "\\PC{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "C0INCIDENTS",
            "#incidents",
            "1.000001",
            "[]",
            "[{\"type\":\"divider\"}]",
            "U0SOPILOT"
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "channel",
                    "text",
                    "blocks",
                    "ts",
                    "thread_ts",
                    "limit",
                    "cursor",
                    "name",
                    "timestamp",
                    "user",
                    "type",
                    "elements",
                    "types",
                    "oldest"
                ])
                .prop_map(str::to_owned),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn never_panics_and_always_answers_slack_json(
        method in prop::sample::select(METHODS),
        http_method in prop::sample::select(vec!["GET", "POST", "PUT"]),
        content_type in prop::option::of(prop::sample::select(vec!["application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", ""])),
        auth in prop::sample::select(vec![None, Some("Bearer xoxb-sopilot-sim-token"), Some("Bearer"), Some("xoxb"), Some("")]),
        query in prop::option::of("[a-z_=&%0-9.C#]{0,40}"),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            json_value().prop_map(|v| v.to_string().into_bytes()),
            "[a-z_]{1,10}=[A-Za-z0-9%.#\\[\\]{}\":,]{0,30}(&[a-z_]{1,10}=[A-Za-z0-9%.]{0,20}){0,4}".prop_map(String::into_bytes),
        ],
        throttle in 0u32..2,
    ) {
        let state = SlackState::from_section(Some(&json!({
            "users": [{"id": "U0ALICE", "name": "alice"}],
            "channels": [{"id": "C0INCIDENTS", "name": "incidents", "members": ["U0SOPILOT", "U0ALICE"],
                          "messages": [{"user": "U0ALICE", "text": "hi", "ts": "1.000001"}]}],
        }))).unwrap();
        state.throttle(throttle, 1);
        let reply = state.handle(&RawRequest {
            http_method,
            method,
            query: query.as_deref(),
            content_type,
            authorization: auth,
            body: &body,
        });
        prop_assert!([200, 404, 429].contains(&reply.status), "{:?}", reply);
        prop_assert!(reply.body["ok"].is_boolean(), "{}", reply.body);
        if reply.body["ok"] == false {
            prop_assert!(reply.body["error"].as_str().is_some_and(|e| !e.is_empty()));
        }
        prop_assert_eq!(reply.retry_after.is_some(), reply.status == 429);
        prop_assert_eq!(state.requests().len(), 1);
        // Whatever happened, the workspace still answers.
        state.throttle(0, 0);
        let after = state.handle(&RawRequest { http_method: "GET", method: "conversations.history", query: Some("channel=C0INCIDENTS"), authorization: Some("Bearer xoxb-sopilot-sim-token"), ..RawRequest::default() });
        prop_assert_eq!(&after.body["ok"], &json!(true));
    }
}
