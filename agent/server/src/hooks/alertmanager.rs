//! `POST /hooks/alertmanager`: Alertmanager's webhook (v4), bearer token; one run per alert
//! group, deduplicated by the group key.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use sopilot_protocol::Trigger;

use crate::auth::bearer_ok;
use crate::runs::{Origin, StartRequest};
use crate::{ApiError, AppState};

pub(crate) async fn handle(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let Some(token) = &s.options.alertmanager_token else {
        return Err(ApiError::Forbidden(
            "Alertmanager hook disabled: set SOPILOT_ALERTMANAGER_TOKEN".into(),
        ));
    };
    if !bearer_ok(&headers, token) {
        s.metrics
            .requests_refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(ApiError::Unauthorized);
    }
    let payload: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("body is not JSON: {e}")))?;
    if payload.get("version").and_then(Value::as_str) != Some("4") {
        return Err(ApiError::BadRequest(
            "expected an Alertmanager webhook payload, version \"4\"".into(),
        ));
    }
    if payload.get("status").and_then(Value::as_str) == Some("resolved") {
        return Ok(Json(
            json!({"status": "ignored", "reason": "the group is resolved"}),
        ));
    }
    let trigger =
        Trigger::from_payload(&payload).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    // This door takes Alertmanager's own format only: not a normalised trigger or an SNS
    // envelope, which could claim another kind (and another cluster).
    if !matches!(trigger, Trigger::Alertmanager { .. }) {
        return Err(ApiError::BadRequest(
            "expected an Alertmanager webhook payload (version \"4\", with groupKey and alerts), not another kind of trigger".into(),
        ));
    }
    super::submit(
        &s,
        StartRequest {
            trigger,
            sop: None,
            params: Default::default(),
            origin: Origin::Webhook("alertmanager".into()),
            target: None,
            carries_on: None,
        },
    )
}
