//! `POST /hooks/eventbridge`: an EventBridge API destination delivering CloudWatch alarm
//! state changes and CloudWatch investigation events (`aws.aiops`, "Investigation ...": the
//! investigation's hypotheses and findings become the trigger's data, redacted and bounded);
//! `Authorization` carries the configured secret.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::Value;
use sopilot_protocol::{AIOPS_SOURCE, Trigger};

use crate::auth::same;
use crate::runs::{Origin, StartRequest};
use crate::{ApiError, AppState};

/// An alarm state change, or an investigation event of `aws.aiops`.
fn accepted(payload: &Value) -> bool {
    let text = |k: &str| payload.get(k).and_then(Value::as_str);
    text("detail-type") == Some("CloudWatch Alarm State Change")
        || (text("source") == Some(AIOPS_SOURCE)
            && text("detail-type").is_some_and(|d| d.starts_with("Investigation")))
}

pub(crate) async fn handle(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let Some(secret) = &s.options.eventbridge_secret else {
        return Err(ApiError::Forbidden(
            "EventBridge hook disabled: set SOPILOT_EVENTBRIDGE_SECRET".into(),
        ));
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let given = given.strip_prefix(b"Bearer ").unwrap_or(given);
    if !same(given, secret.as_bytes()) {
        s.metrics
            .requests_refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(ApiError::Unauthorized);
    }
    let payload: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("body is not JSON: {e}")))?;
    if !accepted(&payload) {
        return Err(ApiError::BadRequest(
            "expected an EventBridge \"CloudWatch Alarm State Change\" event or a CloudWatch investigation event (source aws.aiops, detail-type \"Investigation ...\")".into(),
        ));
    }
    let trigger =
        Trigger::from_payload(&payload).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    // EventBridge's own events only, never a normalised trigger of another kind.
    let eventbridge = matches!(
        trigger,
        Trigger::CloudwatchAlarm {
            source: sopilot_protocol::AlarmSource::Eventbridge,
            ..
        } | Trigger::Investigation { .. }
    );
    if !eventbridge {
        return Err(ApiError::BadRequest(
            "expected an EventBridge event (detail-type \"CloudWatch Alarm State Change\" or a CloudWatch investigation), not another kind of trigger".into(),
        ));
    }
    super::submit(
        &s,
        StartRequest {
            trigger,
            sop: None,
            params: Default::default(),
            origin: Origin::Webhook("eventbridge".into()),
            target: None,
            carries_on: None,
        },
    )
}
