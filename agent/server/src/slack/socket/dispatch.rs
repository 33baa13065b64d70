//! One envelope, handed to the handlers the HTTP routes use, and acknowledged: events and
//! interactions at once (then acted on), a slash command with its answer as the
//! acknowledgement's payload — or, when the answer takes longer than Slack waits, an empty
//! acknowledgement and the answer as an ephemeral message.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use super::frame::{Envelope, Kind, ack, fields};
use crate::AppState;
use crate::slack::{SlackBot, commands, events, interactions};

/// How long a slash command's answer may take before the envelope is acknowledged without
/// it (Slack waits 3 s).
const ANSWER_WITHIN: Duration = Duration::from_millis(2_500);

/// Acts on `envelope` and sends its acknowledgement to `acks` (the socket's writer).
pub(crate) async fn dispatch(
    state: AppState,
    bot: SlackBot,
    envelope: Envelope,
    acks: mpsc::UnboundedSender<String>,
) {
    let done = |payload: Option<Value>| {
        // The socket may be gone; Slack then delivers an event again (and the event id
        // keeps it from being acted on twice).
        let _ = acks.send(ack(&envelope, payload));
    };
    match &envelope.kind {
        Kind::EventsApi => {
            done(None);
            // Retries are acted on only if their event id is new (see `events::receive`).
            match events::receive(&state, &bot, &envelope.payload, false).await {
                Ok(_) => {}
                Err(e) => tracing::warn!("refused a Slack event from Socket Mode: {e}"),
            }
        }
        Kind::Interactive => {
            done(None);
            if let Err(e) = interactions::on_payload(&state, bot, &envelope.payload).await {
                tracing::warn!("refused a Slack interaction from Socket Mode: {e}");
            }
        }
        Kind::SlashCommands => {
            let answer = command(state, bot, envelope.payload.clone());
            done(answer.await);
        }
        Kind::Other(kind) => {
            done(None);
            tracing::debug!("ignored a Socket Mode envelope of type {kind}");
        }
    }
}

/// The slash command's answer if it comes within [`ANSWER_WITHIN`]; a later one is posted
/// as an ephemeral message.
async fn command(state: AppState, bot: SlackBot, payload: Value) -> Option<Value> {
    let f = fields(&payload);
    let (channel, user) = (f.get("channel_id").cloned(), f.get("user_id").cloned());
    let mut task = {
        let bot = bot.clone();
        tokio::spawn(async move { commands::answer(&state, &bot, &f).await })
    };
    match tokio::time::timeout(ANSWER_WITHIN, &mut task).await {
        Ok(Ok(Ok(answer))) => Some(answer),
        Ok(Ok(Err(e))) => {
            tracing::warn!("refused a Slack command from Socket Mode: {e}");
            None
        }
        Ok(Err(e)) => {
            tracing::error!("a Slack command's handler failed: {e}");
            None
        }
        Err(_) => {
            tokio::spawn(async move {
                let Ok(Ok(answer)) = task.await else { return };
                let (Some(client), Some(channel), Some(user), Some(text)) = (
                    bot.client.clone(),
                    channel,
                    user,
                    answer.get("text").and_then(Value::as_str),
                ) else {
                    return;
                };
                if let Err(e) = client.post_ephemeral(&channel, &user, text, None).await {
                    tracing::warn!("cannot answer a Slack command late: {e}");
                }
            });
            None
        }
    }
}
