//! The test helpers both test builds share: an [`AppState`] over a given store with no MCP
//! servers, no SOPs and a policy without rules, API tokens of each role, a pending approval,
//! and requests to the router.
//!
//! The unit tests reach them as `crate::testing`; the in-process route tests
//! (`tests/all/main.rs`) include this file by path. So it uses only what the library exports:
//! every `crate::` path names a public item, which that binary imports at its root under the
//! same name.

// Each of the two test builds uses a part of these helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request};
use serde_json::{Value, json};
use sopilot_protocol::ApprovalState;
use sopilot_runtime::{ApprovalRecord, DenyAll, Gate, Gateway, Runner, Store};
use tower::ServiceExt;

use crate::auth::{ApiToken, Role};
use crate::{AppState, ApprovalHub, Metrics, RunManager, RunManagerOptions, ServeOptions};

pub const VIEWER: &str = "viewer-secret-0123456789";
pub const OPERATOR: &str = "operator-secret-0123456789";
pub const APPROVER: &str = "approver-secret-0123456789";

/// A token of each role: `grafana` (viewer), `ci` (operator), `oncall` (approver).
pub fn tokens() -> Vec<ApiToken> {
    [
        ("grafana", Role::Viewer, VIEWER),
        ("ci", Role::Operator, OPERATOR),
        ("oncall", Role::Approver, APPROVER),
    ]
    .into_iter()
    .map(|(name, role, secret)| ApiToken {
        name: name.into(),
        role,
        secret: secret.into(),
    })
    .collect()
}

/// A server state with these options (secrets, limits, a Slack bot) over `store` (the Slack
/// bot's, if there is one).
pub async fn state_with(options: ServeOptions, store: Arc<Store>) -> AppState {
    let (gateway, _) = Gateway::connect(Vec::new()).await;
    let policy =
        sopilot_policy::Policy::from_sources(&[("test.yaml".into(), "rules: []\n".into())])
            .unwrap();
    let runner = Runner {
        gate: Gate::single(
            Arc::new(gateway),
            Arc::new(policy),
            Arc::new(DenyAll),
            Duration::from_secs(60),
        ),
        store: store.clone(),
        model: None,
        prices: Default::default(),
        observer: None,
    };
    let hub = Arc::new(ApprovalHub::new(store, None, true));
    let metrics = Arc::new(Metrics::default());
    let runs = RunManager::new(
        Vec::new(),
        runner,
        hub.clone(),
        metrics.clone(),
        RunManagerOptions::default(),
        Vec::new(),
    );
    AppState {
        options: Arc::new(options),
        runs,
        approvals: hub,
        metrics,
        sns: None,
    }
}

/// A pending approval of `kubectl.patch_hpa`, stored.
pub fn pending(store: &Store, id: &str) -> ApprovalRecord {
    let now = chrono::Utc::now();
    let r = ApprovalRecord {
        id: id.into(),
        run_id: "run-test".into(),
        call_id: "c1".into(),
        tool: "kubectl.patch_hpa".into(),
        args: json!({"namespace": "payment", "name": "payment-service-hpa", "max_replicas": 20}),
        digest: "d".into(),
        impact: Some(
            json!({"action": "patch_hpa", "hpa": {"min_before": 2, "min_after": 2, "max_before": 10, "max_after": 20}}),
        ),
        impact_digest: None,
        decision_path: Vec::new(),
        rules: vec!["hpa-beyond-50-percent".into()],
        reason: "An HPA change of more than 50 % is a capacity decision for a human.".into(),
        requested_at: now,
        expires_at: now + chrono::Duration::minutes(10),
        state: ApprovalState::Pending,
        decided_by: None,
        channel: None,
    };
    store.insert_approval(&r).unwrap();
    r
}

/// Sends a request to the router: `token` as bearer, `body` as JSON (or a raw body with
/// its content type); answers with the status and the JSON body.
pub async fn send(
    state: &AppState,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    raw(state, req).await
}

/// Sends a built request to the router; answers with the status and the JSON body (null if
/// the body is not JSON).
pub async fn raw(state: &AppState, req: Request<Body>) -> (u16, Value) {
    let (status, _, bytes) = respond(state, req).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Sends a built request to the router; answers with the status, the headers and the body.
pub async fn respond(state: &AppState, req: Request<Body>) -> (u16, HeaderMap, Vec<u8>) {
    let resp = crate::app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, headers, bytes.to_vec())
}
