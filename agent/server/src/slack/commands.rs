//! `POST /slack/commands`: the `/sopilot` slash command (form-encoded) — `run SOP k=v...`,
//! `status [run_id]`, `help`, or free text. The answer is ephemeral; a run started here
//! opens its own thread in the channel. Socket Mode's `slash_commands` envelopes carry the
//! same fields as JSON and get the same [`answer`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};

use std::collections::HashMap;

use super::requests::{Asker, act};
use super::{Refusal, SlackBot, authenticate, form};
use crate::AppState;

pub(crate) async fn handle(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Refusal> {
    let bot = authenticate(&s, &headers, &body)?;
    answer(&s, &bot, &form(&body)).await.map(Json)
}

/// The answer to an authenticated slash command with fields `f` (HTTP or Socket Mode).
pub(super) async fn answer(
    s: &AppState,
    bot: &SlackBot,
    f: &HashMap<String, String>,
) -> Result<Value, Refusal> {
    let field = |k: &str| f.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let (Some(_command), Some(user), Some(channel)) =
        (field("command"), field("user_id"), field("channel_id"))
    else {
        return Err(Refusal::BadRequest(
            "expected a slash command form with command, user_id and channel_id".into(),
        ));
    };
    let who = Asker {
        channel: channel.to_owned(),
        user: user.to_owned(),
        thread_ts: None,
        message_ts: None,
        text: field("text").unwrap_or_default().to_owned(),
    };
    let outcome = act(s, bot, &who).await;
    Ok(json!({"response_type": "ephemeral", "text": outcome.text()}))
}
