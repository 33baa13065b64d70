//! The HTTP API for runs and approvals. Every request names its caller with a bearer token
//! of `serve.api_tokens` (or `SOPILOT_API_TOKEN`, the approver `api`): viewers read runs and
//! approvals, operators also start runs, approvers also decide approvals. A decision is
//! recorded as `api:<token name>`; a `by` in the body is ignored.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use sopilot_protocol::{ApprovalState, Trigger};

use crate::approvals::record_json;
use crate::auth::{Identity, Role, Unauthenticated, authenticate};
use crate::runs::{Origin, StartRequest};
use crate::{ApiError, AppState};

/// The identity of the request's token, if its role is at least `needed` (to do `what`).
fn authorize(
    s: &AppState,
    headers: &HeaderMap,
    needed: Role,
    what: &str,
) -> Result<Identity, ApiError> {
    let refused = || {
        s.metrics
            .requests_refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let who = match authenticate(&s.options.api_tokens, headers) {
        Ok(who) => who,
        Err(Unauthenticated::Refused) => {
            refused();
            return Err(ApiError::Unauthorized);
        }
        Err(Unauthenticated::Closed) => {
            return Err(ApiError::Forbidden(
                "the API is disabled: configure serve.api_tokens or set SOPILOT_API_TOKEN".into(),
            ));
        }
    };
    who.require(needed, what).inspect_err(|_| {
        refused();
        tracing::warn!(token = %who.name, role = %who.role, "refused: {what} needs role {needed}");
    })?;
    Ok(who)
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    state: Option<String>,
}

async fn list_runs(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    authorize(&s, &headers, Role::Viewer, "read runs")?;
    let runs = s.runs.store().runs(q.limit.unwrap_or(50).min(500))?;
    Ok(Json(json!({"runs": runs})))
}

async fn get_run(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(&s, &headers, Role::Viewer, "read runs")?;
    let (run, events, calls) = s.runs.store().run(&id)?;
    let root_cause = sopilot_protocol::root_cause_of(&events).cloned();
    // Which replica holds the run (while it runs), and until when unless renewed.
    let lease = s
        .runs
        .store()
        .lease(&id)?
        .map(|l| json!({"replica": l.owner, "until": l.until}));
    Ok(Json(
        json!({"run": run, "lease": lease, "root_cause": root_cause, "events": events, "tool_calls": calls}),
    ))
}

/// `GET /api/triggers/unrouted`: triggers no SOP could take, newest first, with why.
async fn list_unrouted(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    authorize(&s, &headers, Role::Viewer, "read unrouted triggers")?;
    let triggers = s.runs.store().unrouted(q.limit.unwrap_or(50).min(500))?;
    Ok(Json(json!({"triggers": triggers})))
}

fn parse_state(s: &str) -> Result<ApprovalState, ApiError> {
    serde_json::from_value(Value::String(s.to_owned())).map_err(|_| {
        ApiError::BadRequest(format!(
            "unknown state {s:?}; use pending, approved, denied or expired"
        ))
    })
}

async fn list_approvals(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    authorize(&s, &headers, Role::Viewer, "read approvals")?;
    let state = q.state.as_deref().map(parse_state).transpose()?;
    let list: Vec<Value> = s
        .approvals
        .store()
        .approvals(state)?
        .iter()
        .map(record_json)
        .collect();
    Ok(Json(json!({"approvals": list})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideBody {
    decision: String,
    /// Ignored: the decision is recorded under the token's name.
    #[serde(default)]
    by: Option<String>,
}

async fn decide(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = authorize(&s, &headers, Role::Approver, "decide approvals")?;
    let body: DecideBody = object_body(body, "{\"decision\": \"approve\"|\"deny\"}")?;
    let state = match body.decision.as_str() {
        "approve" => ApprovalState::Approved,
        "deny" => ApprovalState::Denied,
        other => {
            return Err(ApiError::BadRequest(format!(
                "decision {other:?}: use approve or deny"
            )));
        }
    };
    if s.approvals.store().approval(&id)?.is_none() {
        return Err(ApiError::NotFound(format!("no approval {id}")));
    }
    let by = who.recorded("api");
    tracing::info!(approval = %id, %by, "decision through the API");
    let d = s.approvals.decide(&id, state, &by, "api").await?;
    if !d.first {
        return Err(ApiError::Conflict(format!(
            "approval {id} was already {} by {}",
            serde_json::to_value(d.record.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            d.record.decided_by.unwrap_or_default()
        )));
    }
    let mut answer = json!({"approval": record_json(&d.record), "resumed": d.resumed});
    if body.by.is_some_and(|b| b.trim() != by) {
        answer["note"] = json!(format!(
            "`by` is ignored: decisions are recorded under the token's name, here {by}"
        ));
    }
    Ok(Json(answer))
}

/// A JSON object body read as `T`. Only an object: serde would otherwise read an array such
/// as `["approve"]` as the struct's fields in order.
fn object_body<T: serde::de::DeserializeOwned>(
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
    shape: &str,
) -> Result<T, ApiError> {
    let bad = |e: String| ApiError::BadRequest(format!("body must be {shape}: {e}"));
    let Json(v) = body.map_err(|e| bad(e.to_string()))?;
    if !v.is_object() {
        return Err(bad("it is not a JSON object".into()));
    }
    serde_json::from_value(v).map_err(|e| bad(e.to_string()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    sop: String,
    #[serde(default)]
    params: BTreeMap<String, String>,
    /// The target to work on (one of the configured targets).
    #[serde(default)]
    target: Option<String>,
}

async fn start_run(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = authorize(&s, &headers, Role::Operator, "start runs")?;
    let body: StartBody = object_body(
        body,
        "{\"sop\": NAME, \"params\": {NAME: VALUE}, \"target\": TARGET}",
    )?;
    if let Some(t) = &body.target {
        s.runs.check_target(t).map_err(ApiError::BadRequest)?;
    }
    // Who asked, and for what: identical requests join one run, different ones do not.
    let by = format!(
        "{}: {} {}{}",
        who.recorded("api"),
        body.sop,
        serde_json::to_string(&body.params).unwrap_or_default(),
        body.target
            .as_deref()
            .map(|t| format!(" on {t}"))
            .unwrap_or_default()
    );
    let req = StartRequest {
        trigger: Trigger::Manual { by: Some(by) },
        sop: Some(body.sop),
        params: body.params,
        origin: Origin::Api,
        target: body.target,
        carries_on: None,
    };
    crate::hooks::submit(&s, req)
}

/// The `/api/*` routes.
pub fn routes() -> Router<crate::AppState> {
    Router::new()
        .route("/api/runs", get(list_runs).post(start_run))
        .route("/api/runs/{id}", get(get_run))
        .route("/api/approvals", get(list_approvals))
        .route("/api/approvals/{id}", post(decide))
        .route("/api/triggers/unrouted", get(list_unrouted))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use crate::testing::{APPROVER, OPERATOR, VIEWER, pending, send, state, tokens};

    #[tokio::test]
    async fn each_role_does_what_it_may_and_is_told_what_it_needs() {
        let s = state(tokens(), None).await;
        let id = pending(s.approvals.store(), "apr-roles").id;
        let decide = |decision: &str| json!({"decision": decision});
        let path = format!("/api/approvals/{id}");

        // No token, a wrong one: 401.
        assert_eq!(send(&s, "GET", "/api/runs", None, None).await.0, 401);
        assert_eq!(
            send(&s, "GET", "/api/runs", Some("nope"), None).await.0,
            401
        );

        // A viewer reads runs and approvals, and may neither start runs nor decide.
        for get in ["/api/runs", "/api/approvals", "/api/triggers/unrouted"] {
            assert_eq!(
                send(&s, "GET", get, Some(VIEWER), None).await.0,
                200,
                "{get}"
            );
        }
        let (code, body) = send(&s, "POST", &path, Some(VIEWER), Some(decide("approve"))).await;
        assert_eq!(
            (code, &body["role_needed"]),
            (403, &json!("approver")),
            "{body}"
        );
        let (code, body) = send(
            &s,
            "POST",
            "/api/runs",
            Some(VIEWER),
            Some(json!({"sop": "pod-crashloop"})),
        )
        .await;
        assert_eq!(
            (code, &body["role_needed"]),
            (403, &json!("operator")),
            "{body}"
        );

        // An operator may start runs (this server has no SOPs: refused for that, not the
        // role), not decide.
        let (code, body) = send(
            &s,
            "POST",
            "/api/runs",
            Some(OPERATOR),
            Some(json!({"sop": "pod-crashloop"})),
        )
        .await;
        assert_eq!(code, 400, "{body}");
        assert!(body["error"].as_str().unwrap().contains("no SOP"), "{body}");
        let (code, body) = send(&s, "POST", &path, Some(OPERATOR), Some(decide("approve"))).await;
        assert_eq!(
            (code, &body["role_needed"]),
            (403, &json!("approver")),
            "{body}"
        );
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("\"ci\" has role operator"),
            "{body}"
        );
        let still = s.approvals.store().approval(&id).unwrap().unwrap();
        assert_eq!(still.state, sopilot_protocol::ApprovalState::Pending);

        // An approver decides; the record names the token, whatever `by` says.
        let (code, body) = send(
            &s,
            "POST",
            &path,
            Some(APPROVER),
            Some(json!({"decision": "approve", "by": "the-ceo"})),
        )
        .await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["approval"]["decided_by"], "api:oncall");
        assert_eq!(body["approval"]["channel"], "api");
        assert!(body["note"].as_str().unwrap().contains("ignored"), "{body}");
        let (code, body) = send(&s, "POST", &path, Some(APPROVER), Some(decide("deny"))).await;
        assert_eq!(code, 409, "{body}");
        assert!(body["error"].as_str().unwrap().contains("api:oncall"));
    }

    #[tokio::test]
    async fn without_tokens_the_api_is_closed() {
        let s = state(Vec::new(), None).await;
        let (code, body) = send(&s, "GET", "/api/runs", Some(APPROVER), None).await;
        assert_eq!(code, 403);
        assert!(body["error"].as_str().unwrap().contains("serve.api_tokens"));
    }
}
