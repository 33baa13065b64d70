//! Trigger webhooks. Each authenticates the sender, normalises the payload into a
//! [`Trigger`](sopilot_protocol::Trigger) and hands it to the run manager; a bad payload is a
//! 4xx that starts nothing.

mod alertmanager;
mod eventbridge;
pub mod sns;

use axum::Json;
use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};

use crate::runs::{StartError, StartRequest, Started};
use crate::{ApiError, AppState};

/// Submits a trigger; the response says whether it started or joined a run.
pub(crate) fn submit(s: &AppState, req: StartRequest) -> Result<Json<Value>, ApiError> {
    match s.runs.submit(req) {
        Ok(Started::New { run_id, sop }) => Ok(Json(
            json!({"status": "started", "run_id": run_id, "sop": sop}),
        )),
        Ok(Started::Joined { run_id }) => Ok(Json(json!({"status": "joined", "run_id": run_id}))),
        Err(StartError::NoSop(key)) => Ok(Json(
            json!({"status": "ignored", "reason": format!("no SOP matches this trigger ({key})")}),
        )),
        Err(StartError::BadRequest(m)) => Err(ApiError::BadRequest(m)),
        Err(StartError::QueueFull(n)) => Err(ApiError::TooMany(format!("{n} runs are waiting"))),
        Err(e @ StartError::Unavailable(_)) => Err(ApiError::Unavailable(e.to_string())),
    }
}

/// The `/hooks/*` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hooks/eventbridge", post(eventbridge::handle))
        .route("/hooks/alertmanager", post(alertmanager::handle))
        .route("/hooks/sns", post(sns::handle))
}
