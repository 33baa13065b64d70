//! `POST /slack/interactions`: a press of Approve or Deny (`block_actions`, form-encoded
//! `payload=` JSON). The button's value is the approval record's id. A press decides only
//! when
//! - the presser is one of the configured approvers (anyone else gets an ephemeral refusal
//!   that names no approval), and
//! - the pressed button is on the very message SOPilot posted for that approval: the
//!   payload's channel id and message ts equal the ones recorded in the store when it was
//!   posted. A look-alike button anywhere else — a message the model posted through the
//!   Slack tool, a colleague's message — decides nothing, whatever its text says; no
//!   recorded message, no decision.
//!
//! Otherwise the record is unchanged, whether the press came over HTTP or Socket Mode (both
//! call [`on_payload`]). The decision goes through the approval hub, where the
//! first decision wins; a later one is told so. Slack wants an answer within 3 s, so the
//! decision is carried out after answering (after a restart it may execute the approved
//! call).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use sopilot_protocol::ApprovalState;
use sopilot_runtime::ApprovalRecord;

use super::blocks::{APPROVE, DENY, outcome_line};
use super::{Refusal, SlackBot, authenticate, form};
use crate::approvals::ApprovalHub;
use crate::{AppState, Metrics};

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
        channel: own(at(payload, "/container/channel_id").or_else(|| at(payload, "/channel/id"))),
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
    on_payload(&s, bot, &payload).await.map(Json)
}

/// Acts on an authenticated interaction payload (HTTP or Socket Mode's `interactive`):
/// the same checks of presser and message either way.
pub(super) async fn on_payload(
    s: &AppState,
    bot: SlackBot,
    payload: &Value,
) -> Result<Value, Refusal> {
    let Some(p) = press(payload)? else {
        return Ok(json!({"status": "ignored", "reason": "not a SOPilot button"}));
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
    tokio::spawn(decide(
        s.approvals.clone(),
        s.metrics.clone(),
        bot,
        p,
        record,
        said,
    ));
    let status = tokio::time::timeout(ANSWER_WITHIN, heard)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or("pending");
    Ok(json!({"status": status}))
}

/// How long the handler waits for the decision's first word before answering Slack.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_millis(2_500);

/// Whether the press came from the message SOPilot posted for its approval; the error says
/// what was wrong, for the log.
fn from_approval_message(bot: &SlackBot, p: &Press) -> Result<(), String> {
    let recorded = bot
        .store
        .approval_message(&p.approval)
        .map_err(|e| format!("cannot read where its message is: {e}"))?
        .ok_or("SOPilot posted no message for it")?;
    let same = |a: &Option<String>, b: &str| a.as_deref() == Some(b);
    if same(&p.channel, &recorded.channel) && same(&p.message_ts, &recorded.ts) {
        Ok(())
    } else {
        Err(format!(
            "pressed on message {}/{}, but its approval message is {}/{}",
            p.channel.as_deref().unwrap_or("?"),
            p.message_ts.as_deref().unwrap_or("?"),
            recorded.channel,
            recorded.ts
        ))
    }
}

/// Checks the presser and the message pressed, records the decision through the hub and
/// tells them what came of it; `said` gets `refused`, `already_decided` or `accepted` as soon
/// as it is known.
async fn decide(
    hub: Arc<ApprovalHub>,
    metrics: Arc<Metrics>,
    bot: SlackBot,
    p: Press,
    record: ApprovalRecord,
    said: tokio::sync::oneshot::Sender<&'static str>,
) {
    let refused = || metrics.presses_refused.fetch_add(1, Ordering::Relaxed);
    if !bot.may_decide(&p.user).await {
        refused();
        tracing::warn!(user = %p.user, approval = %p.approval, "refused a decision by a non-approver");
        let _ = said.send("refused");
        let text = "You are not one of SOPilot's approvers, so this approval is unchanged. Ask an approver.";
        return tell(&bot, &p, text).await;
    }
    if let Err(why) = from_approval_message(&bot, &p) {
        refused();
        tracing::warn!(user = %p.user, approval = %p.approval, "refused a press from a message that is not SOPilot's approval message: {why}");
        let _ = said.send("refused");
        let text = format!(
            "This button is not SOPilot's approval message for `{}`, so nothing was decided. Decide it with the Approve or Deny button on the message SOPilot posted for it (it shows the exact call).",
            record.id
        );
        return tell(&bot, &p, &text).await;
    }
    if record.state != ApprovalState::Pending {
        let _ = said.send("already_decided");
        return tell(&bot, &p, &already(&record)).await;
    }
    let _ = said.send("accepted");
    match hub.decide(&p.approval, p.state, &p.user, "slack").await {
        Ok(d) if !d.first => tell(&bot, &p, &already(&d.record)).await,
        Ok(d) => {
            if let Some(note) = d.resumed {
                let note = without_id(&note, &p.approval);
                reply(&bot, &p, &format!(":leftwards_arrow_with_hook: {note}")).await;
            }
        }
        Err(e) => tracing::error!(approval = %p.approval, "cannot record the decision: {e}"),
    }
}

/// `text` with the approval id replaced, for a reply everyone in the thread reads (approval
/// ids are shown only on the approval message itself).
fn without_id(text: &str, id: &str) -> String {
    text.replace(&format!("approval {id}"), "this approval")
        .replace(id, "this approval")
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use axum::body::Body;
    use axum::http::Request;
    use serde_json::{Value, json};
    use sopilot_protocol::ApprovalState;
    use sopilot_runtime::Store;

    use crate::AppState;
    use crate::slack::{SlackBot, SlackSettings};
    use crate::testing::{pending, raw, state};

    const SECRET: &str = "slack-signing-secret";

    async fn slack_state() -> AppState {
        let settings = SlackSettings {
            approvers: vec!["U0ALICE".into()],
            ..SlackSettings::default()
        };
        let store = Arc::new(Store::in_memory().unwrap());
        let bot = SlackBot::new(settings, SECRET, None, store);
        state(Vec::new(), Some(bot)).await
    }

    /// A signed press of `action` on approval `id`, by `user`, on message `channel`/`ts`.
    async fn press(s: &AppState, user: &str, id: &str, channel: &str, ts: &str) -> Value {
        let payload = json!({
            "type": "block_actions", "user": {"id": user},
            "channel": {"id": channel},
            "container": {"type": "message", "message_ts": ts, "channel_id": channel},
            "message": {"ts": ts},
            "actions": [{"action_id": "sopilot_approve", "value": id, "type": "button"}],
        });
        let body = format!(
            "payload={}",
            form_urlencoded::byte_serialize(payload.to_string().as_bytes()).collect::<String>()
        );
        let now = chrono::Utc::now().timestamp().to_string();
        let sig = super::super::verify::signature(SECRET.as_bytes(), &now, body.as_bytes());
        let req = Request::builder()
            .method("POST")
            .uri("/slack/interactions")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", now)
            .header("x-slack-signature", sig)
            .body(Body::from(body))
            .unwrap();
        let (code, v) = raw(s, req).await;
        assert_eq!(code, 200, "{v}");
        v["status"].clone()
    }

    fn state_of(s: &AppState, id: &str) -> ApprovalState {
        s.approvals.store().approval(id).unwrap().unwrap().state
    }

    #[tokio::test]
    async fn only_a_press_on_sopilots_own_approval_message_decides() {
        let s = slack_state().await;
        let store = s.approvals.store().clone();
        let id = pending(&store, "apr-hpa").id;
        store
            .set_approval_message(
                &id,
                "C0INCIDENTS",
                "1700000000.000100",
                ApprovalState::Pending,
            )
            .unwrap();

        // A look-alike button (another channel, or another message in the same channel:
        // e.g. one the model posted through the Slack tool) pressed by an approver: refused,
        // the record unchanged. Before, any message's button carrying the id decided it.
        for (channel, ts) in [
            ("C0OTHER", "1700000000.000100"),
            ("C0INCIDENTS", "1700000099.000200"),
        ] {
            let said = press(&s, "U0ALICE", &id, channel, ts).await;
            assert_eq!(said, "refused", "{channel}/{ts}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            assert_eq!(state_of(&s, &id), ApprovalState::Pending);
        }
        assert_eq!(s.metrics.presses_refused.load(Ordering::Relaxed), 2);

        // No message recorded for an approval: no press decides it.
        let unposted = pending(&store, "apr-unposted").id;
        assert_eq!(
            press(&s, "U0ALICE", &unposted, "C0INCIDENTS", "1.0").await,
            "refused"
        );
        assert_eq!(state_of(&s, &unposted), ApprovalState::Pending);

        // A non-approver on the right message: refused.
        let said = press(&s, "U0BOB", &id, "C0INCIDENTS", "1700000000.000100").await;
        assert_eq!(said, "refused");
        assert_eq!(state_of(&s, &id), ApprovalState::Pending);

        // The approver on SOPilot's message: decided, as her.
        let said = press(&s, "U0ALICE", &id, "C0INCIDENTS", "1700000000.000100").await;
        assert_eq!(said, "accepted");
        let r = store.approval(&id).unwrap().unwrap();
        assert_eq!(
            (r.state, r.decided_by.as_deref(), r.channel.as_deref()),
            (ApprovalState::Approved, Some("U0ALICE"), Some("slack"))
        );
    }

    #[test]
    fn notes_for_the_thread_do_not_show_the_approval_id() {
        assert_eq!(
            super::without_id(
                "approval apr-1 was approved after its run stopped; x executed",
                "apr-1"
            ),
            "this approval was approved after its run stopped; x executed"
        );
    }
}
