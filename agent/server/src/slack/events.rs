//! `POST /slack/events`: the Events API. `url_verification` is answered with its challenge;
//! `app_mention` starts or answers a request, replying in the mention's thread. Slack wants
//! an answer within 3 s, so replies are posted after answering; redeliveries (the
//! `X-Slack-Retry-Num` header, or an event id already seen) and the bot's own messages are
//! acknowledged and ignored. Socket Mode hands its `events_api` payloads to [`receive`]
//! too; there a retry counts only by its event id (the bot acknowledges before acting, so a
//! retry may carry an event that never arrived).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::requests::{Asker, Outcome, act};
use super::{Refusal, SlackBot, authenticate};
use crate::AppState;

fn ignored(reason: &str) -> Response {
    // `X-Slack-No-Retry` asks Slack not to deliver this one again.
    (
        [("x-slack-no-retry", "1")],
        Json(json!({"status": "ignored", "reason": reason})),
    )
        .into_response()
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// What came of an Events API payload.
#[derive(Debug)]
pub(super) enum Received {
    /// Acknowledged, nothing done; why.
    Ignored(String),
    /// Acted on; what the HTTP answer says.
    Answered(Value),
}

fn skip(reason: &str) -> Received {
    Received::Ignored(reason.to_owned())
}

pub(crate) async fn handle(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let bot = authenticate(&s, &headers, &body)?;
    let payload: Value = serde_json::from_slice(&body)
        .map_err(|e| Refusal::BadRequest(format!("body is not JSON: {e}")))?;
    if text(&payload, "type") == Some("url_verification") {
        let challenge = text(&payload, "challenge")
            .ok_or_else(|| Refusal::BadRequest("url_verification without a challenge".into()))?;
        return Ok(Json(json!({"challenge": challenge})).into_response());
    }
    let redelivery = headers.contains_key("x-slack-retry-num");
    Ok(match receive(&s, &bot, &payload, redelivery).await? {
        Received::Ignored(reason) => ignored(&reason),
        Received::Answered(v) => Json(v).into_response(),
    })
}

/// Acts on an authenticated Events API payload (HTTP or Socket Mode); `redelivery` drops
/// it whatever its event id.
pub(super) async fn receive(
    s: &AppState,
    bot: &SlackBot,
    payload: &Value,
    redelivery: bool,
) -> Result<Received, Refusal> {
    match text(payload, "type") {
        Some("event_callback") => callback(s, bot, payload, redelivery).await,
        Some(other) => Ok(skip(&format!("event type {other} is not handled"))),
        None => Err(Refusal::BadRequest(
            "expected an Events API payload with a `type`".into(),
        )),
    }
}

async fn callback(
    s: &AppState,
    bot: &SlackBot,
    payload: &Value,
    redelivery: bool,
) -> Result<Received, Refusal> {
    let event = payload
        .get("event")
        .filter(|e| e.is_object())
        .ok_or_else(|| Refusal::BadRequest("event_callback without an `event`".into()))?;
    if redelivery {
        return Ok(skip("a redelivery"));
    }
    if let Some(id) = text(payload, "event_id")
        && !bot.first_sight(id)
    {
        return Ok(skip("already received"));
    }
    if text(event, "type") != Some("app_mention") {
        return Ok(skip("only app_mention is handled"));
    }
    let own = payload
        .pointer("/authorizations/0/user_id")
        .and_then(Value::as_str);
    if event.get("bot_id").is_some_and(|b| !b.is_null())
        || text(event, "subtype") == Some("bot_message")
        || own.is_some_and(|me| text(event, "user") == Some(me))
    {
        return Ok(skip("a bot's own message"));
    }
    let (Some(channel), Some(user), Some(ts)) = (
        text(event, "channel"),
        text(event, "user"),
        text(event, "ts"),
    ) else {
        return Err(Refusal::BadRequest(
            "app_mention needs channel, user and ts".into(),
        ));
    };
    let who = Asker {
        channel: channel.to_owned(),
        user: user.to_owned(),
        thread_ts: Some(text(event, "thread_ts").unwrap_or(ts).to_owned()),
        message_ts: Some(ts.to_owned()),
        text: text(event, "text").unwrap_or_default().to_owned(),
    };
    let outcome = act(s, bot, &who).await;
    let reply = match &outcome {
        // The run's status message in the thread says it, or the answer comes later.
        Outcome::Started { .. } | Outcome::Routing => None,
        Outcome::Joined { .. } | Outcome::Said(_) => Some((outcome.text(), false)),
        // Only the asker needs to know they hit their limit.
        Outcome::Limited(_) => Some((outcome.text(), true)),
    };
    if let (Some((reply, private)), Some(client)) = (reply, bot.client.clone()) {
        tokio::spawn(async move {
            let thread = who.thread_ts.as_deref();
            let result = if private {
                client
                    .post_ephemeral(&who.channel, &who.user, &reply, thread)
                    .await
            } else {
                client
                    .post_message(&who.channel, &reply, None, thread)
                    .await
                    .map(|_| ())
            };
            if let Err(e) = result {
                tracing::warn!("cannot answer a mention: {e}");
            }
        });
    }
    Ok(Received::Answered(match outcome {
        Outcome::Started { run_id, sop } => {
            json!({"status": "started", "run_id": run_id, "sop": sop})
        }
        Outcome::Joined { run_id } => json!({"status": "joined", "run_id": run_id}),
        Outcome::Said(text) => json!({"status": "answered", "text": text}),
        Outcome::Limited(text) => json!({"status": "limited", "text": text}),
        Outcome::Routing => json!({"status": "routing"}),
    }))
}
