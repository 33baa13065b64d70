//! `POST /slack/interactions`: a press of Approve or Deny (`block_actions`, form-encoded
//! `payload=` JSON). The button's value is the approval record's id. Only configured
//! approvers decide; anyone else gets an ephemeral refusal and the record is unchanged. The
//! decision goes through the approval hub, where the first decision wins; a later one is
//! told so. Slack wants an answer within 3 s, so the decision is carried out after answering
//! (after a restart it may execute the approved call).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use sopilot_protocol::ApprovalState;
use sopilot_runtime::ApprovalRecord;

use super::blocks::{APPROVE, DENY, outcome_line};
use super::client::Posted;
use super::{Refusal, SlackBot, authenticate, form, lock};
use crate::AppState;
use crate::approvals::ApprovalHub;

/// Where the pressed button is, and who pressed it.
#[derive(Debug, Clone)]
struct Press {
    approval: String,
    state: ApprovalState,
    user: String,
    channel: Option<String>,
    message_ts: Option<String>,
    thread_ts: Option<String>,
    response_url: Option<String>,
}

fn at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn press(payload: &Value) -> Result<Option<Press>, Refusal> {
    let bad = |m: &str| Refusal::BadRequest(m.to_owned());
    match at(payload, "/type") {
        Some("block_actions") => {}
        Some(_) => return Ok(None),
        None => return Err(bad("the interaction payload has no type")),
    }
    let action = payload
        .pointer("/actions/0")
        .ok_or_else(|| bad("block_actions without actions"))?;
    let state = match at(action, "/action_id") {
        Some(APPROVE) => ApprovalState::Approved,
        Some(DENY) => ApprovalState::Denied,
        _ => return Ok(None),
    };
    let approval = at(action, "/value").ok_or_else(|| bad("the button carries no approval id"))?;
    let user = at(payload, "/user/id").ok_or_else(|| bad("the payload names no user"))?;
    let own = |s: Option<&str>| s.map(str::to_owned);
    Ok(Some(Press {
        approval: approval.to_owned(),
        state,
        user: user.to_owned(),
        channel: own(at(payload, "/channel/id").or_else(|| at(payload, "/container/channel_id"))),
        message_ts: own(at(payload, "/container/message_ts").or_else(|| at(payload, "/message/ts"))),
        thread_ts: own(at(payload, "/message/thread_ts")),
        response_url: own(at(payload, "/response_url")),
    }))
}

pub(crate) async fn handle(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Refusal> {
    let bot = authenticate(&s, &headers, &body)?;
    let f = form(&body);
    let raw = f
        .get("payload")
        .ok_or_else(|| Refusal::BadRequest("expected a form with a `payload` field".into()))?;
    let payload: Value = serde_json::from_str(raw)
        .map_err(|e| Refusal::BadRequest(format!("payload is not JSON: {e}")))?;
    let Some(p) = press(&payload)? else {
        return Ok(Json(
            json!({"status": "ignored", "reason": "not a SOPilot button"}),
        ));
    };
    let record = s.approvals.store().approval(&p.approval).map_err(|e| {
        tracing::error!("cannot read approval {}: {e}", p.approval);
        Refusal::NotFound(format!("approval {} cannot be read", p.approval))
    })?;
    let Some(record) = record else {
        return Err(Refusal::NotFound(format!("no approval {}", p.approval)));
    };
    // Asking Slack who is in a group may be slow; Slack wants an answer in 3 s. The decision
    // goes on in the background and says its first word here if it can in time.
    let (said, heard) = tokio::sync::oneshot::channel();
    tokio::spawn(decide(s.approvals.clone(), bot, p, record, said));
    let status = tokio::time::timeout(ANSWER_WITHIN, heard)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or("pending");
    Ok(Json(json!({"status": status})))
}

/// How long the handler waits for the decision's first word before answering Slack.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_millis(2_500);

/// Checks the presser, records the decision through the hub and tells them what came of it;
/// `said` gets `refused`, `already_decided` or `accepted` as soon as it is known.
async fn decide(
    hub: Arc<ApprovalHub>,
    bot: SlackBot,
    p: Press,
    record: ApprovalRecord,
    said: tokio::sync::oneshot::Sender<&'static str>,
) {
    if !bot.may_decide(&p.user).await {
        tracing::warn!(user = %p.user, approval = %p.approval, "refused a decision by a non-approver");
        let _ = said.send("refused");
        let text = format!(
            "You are not one of SOPilot's approvers, so approval `{}` is unchanged. Ask an approver.",
            record.id
        );
        return tell(&bot, &p, &text).await;
    }
    if record.state != ApprovalState::Pending {
        let _ = said.send("already_decided");
        return tell(&bot, &p, &already(&record)).await;
    }
    // The message is where the press came from; after a restart it is known only so.
    if let (Some(channel), Some(ts)) = (&p.channel, &p.message_ts) {
        lock(&bot.messages)
            .entry(p.approval.clone())
            .or_insert_with(|| Posted {
                channel: channel.clone(),
                ts: ts.clone(),
            });
    }
    let _ = said.send("accepted");
    match hub.decide(&p.approval, p.state, &p.user, "slack").await {
        Ok(d) if !d.first => tell(&bot, &p, &already(&d.record)).await,
        Ok(d) => {
            if let Some(note) = d.resumed {
                reply(&bot, &p, &format!(":leftwards_arrow_with_hook: {note}")).await;
            }
        }
        Err(e) => tracing::error!(approval = %p.approval, "cannot record the decision: {e}"),
    }
}

fn already(record: &ApprovalRecord) -> String {
    format!(
        "Approval `{}` was already decided: {}.",
        record.id,
        outcome_line(record)
    )
}

/// An ephemeral message to the presser: in the channel if we know it, else via the
/// interaction's response URL (only Slack's own).
async fn tell(bot: &SlackBot, p: &Press, text: &str) {
    let Some(client) = &bot.client else { return };
    let result =
        match (&p.channel, &p.response_url) {
            (Some(channel), _) => {
                client
                    .post_ephemeral(channel, &p.user, text, p.thread_ts.as_deref())
                    .await
            }
            (None, Some(url)) if url.starts_with("https://hooks.slack.com/") => client
                .respond(
                    url,
                    &json!({"response_type": "ephemeral", "replace_original": false, "text": text}),
                )
                .await,
            (None, _) => return,
        };
    if let Err(e) = result {
        tracing::warn!("cannot answer {} in Slack: {e}", p.user);
    }
}

/// A reply in the approval message's thread, for everyone.
async fn reply(bot: &SlackBot, p: &Press, text: &str) {
    let (Some(client), Some(channel)) = (&bot.client, &p.channel) else {
        return;
    };
    let thread = p.thread_ts.as_deref().or(p.message_ts.as_deref());
    if let Err(e) = client.post_message(channel, text, None, thread).await {
        tracing::warn!("cannot post in the approval's thread: {e}");
    }
}
