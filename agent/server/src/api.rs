//! The HTTP API for runs and approvals (bearer `SOPILOT_API_TOKEN`).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use sopilot_protocol::ApprovalState;

use crate::approvals::record_json;
use crate::auth::bearer_ok;
use crate::{ApiError, AppState};

fn authorize(s: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    match &s.options.api_token {
        Some(token) if bearer_ok(headers, token) => Ok(()),
        Some(_) => {
            s.metrics
                .requests_refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Err(ApiError::Unauthorized)
        }
        None => Err(ApiError::Forbidden(
            "the API is disabled: set SOPILOT_API_TOKEN".into(),
        )),
    }
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
    authorize(&s, &headers)?;
    let runs = s.runs.store().runs(q.limit.unwrap_or(50).min(500))?;
    Ok(Json(json!({"runs": runs})))
}

async fn get_run(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(&s, &headers)?;
    let (run, events, calls) = s.runs.store().run(&id)?;
    Ok(Json(
        json!({"run": run, "events": events, "tool_calls": calls}),
    ))
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
    authorize(&s, &headers)?;
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
    by: String,
}

async fn decide(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<DecideBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    authorize(&s, &headers)?;
    let Json(body) = body.map_err(|e| {
        ApiError::BadRequest(format!(
            "body must be {{\"decision\": \"approve\"|\"deny\", \"by\": NAME}}: {e}"
        ))
    })?;
    let state = match body.decision.as_str() {
        "approve" => ApprovalState::Approved,
        "deny" => ApprovalState::Denied,
        other => {
            return Err(ApiError::BadRequest(format!(
                "decision {other:?}: use approve or deny"
            )));
        }
    };
    if body.by.trim().is_empty() {
        return Err(ApiError::BadRequest("`by` must name who decides".into()));
    }
    if s.approvals.store().approval(&id)?.is_none() {
        return Err(ApiError::NotFound(format!("no approval {id}")));
    }
    let d = s
        .approvals
        .decide(&id, state, body.by.trim(), "api")
        .await?;
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
    Ok(Json(
        json!({"approval": record_json(&d.record), "resumed": d.resumed}),
    ))
}

/// The `/api/*` routes.
pub fn routes() -> Router<crate::AppState> {
    Router::new()
        .route("/api/runs", get(list_runs))
        .route("/api/runs/{id}", get(get_run))
        .route("/api/approvals", get(list_approvals))
        .route("/api/approvals/{id}", post(decide))
}
