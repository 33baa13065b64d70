//! Test helpers: an [`AppState`] over an in-memory store with no MCP servers, no SOPs and a
//! policy without rules, and requests to the router.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
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

/// A server state with `tokens` and, optionally, a Slack bot.
pub async fn state(tokens: Vec<ApiToken>, slack: Option<crate::slack::SlackBot>) -> AppState {
    let store = match &slack {
        Some(bot) => bot.store.clone(),
        None => Arc::new(Store::in_memory().unwrap()),
    };
    let (gateway, _) = Gateway::connect(Vec::new()).await;
    let policy =
        sopilot_policy::Policy::from_sources(&[("test.yaml".into(), "rules: []\n".into())])
            .unwrap();
    let runner = Runner {
        gate: Gate {
            gateway: Arc::new(gateway),
            policy: Arc::new(policy),
            approver: Arc::new(DenyAll),
            approval_timeout: Duration::from_secs(60),
        },
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
        options: Arc::new(ServeOptions {
            api_tokens: tokens,
            slack,
            ..ServeOptions::default()
        }),
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

/// Sends a built request to the router.
pub async fn raw(state: &AppState, req: Request<Body>) -> (u16, Value) {
    let resp = crate::app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
