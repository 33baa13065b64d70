//! Over HTTP: axum serving the state, `self` links on the request's host, 204 without a body.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::common::{bot, state};

async fn send(req: Request<Body>) -> (u16, Vec<u8>) {
    let app = sopilot_sim_jira::router(state());
    let r = app.oneshot(req).await.unwrap();
    let status = r.status().as_u16();
    (
        status,
        r.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

#[tokio::test]
async fn json_over_http_with_links_on_the_host() {
    let req = Request::get("/rest/api/3/issue/OPS-1")
        .header(header::HOST, "127.0.0.1:9")
        .header(header::AUTHORIZATION, bot())
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(req).await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        v["self"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:9/rest/api/3/issue/")
    );
}

#[tokio::test]
async fn a_transition_is_204_and_empty() {
    let req = Request::post("/rest/api/3/issue/OPS-2/transitions")
        .header(header::AUTHORIZATION, bot())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"transition": {"id": "21"}}"#))
        .unwrap();
    let (status, body) = send(req).await;
    assert_eq!((status, body.len()), (204, 0));
}

#[tokio::test]
async fn unauthenticated_is_401_json() {
    let req = Request::get("/rest/api/3/issue/OPS-1")
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(req).await;
    assert_eq!(status, 401);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["errorMessages"].is_array());
}
