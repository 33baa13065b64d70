//! Posting: messages, thread replies, updates, reactions and incident reports. Each checks
//! the channel against the allow-list first, and takes `dry_run`.
//!
//! What a model may send is narrowed for SOPilot's approvals (see [`crate::interactive`]):
//! no interactive blocks or `sopilot_` ids; edits only of messages this process posted
//! ([`crate::own`]); no reactions on interactive messages (approval requests) it did not
//! post. Text and blocks pass through the shared credential redactor before leaving.
//!
//! Nor may a post make Slack fetch a URL, which would carry data to the URL's host with nobody
//! clicking: blocks with images, videos, files or other fetched URLs are refused
//! ([`crate::fetched`]), and every post and update is sent with [`NO_UNFURL`].

use rmcp::model::CallToolResult;
use serde_json::{Map, Value, json};
use sopilot_mcp_common::{ok_json, redact_json};
use sopilot_protocol::{Impact, ObjectRef};
use sopilot_slack_api::Args;
use sopilot_slack_api::text::MAX_TEXT;

use crate::args::{AddReaction, IncidentReport, PostMessage, ReplyInThread, UpdateMessage};
use crate::blocks;
use crate::channels::Resolved;
use crate::error::{SlackCode, SlackError};
use crate::text::{clip, defuse, defuse_json};
use crate::{Ctx, is_ts};
use crate::{fetched, interactive};

/// Arguments that stop Slack from fetching the links in a message for a preview. Documented
/// for `chat.postMessage`; sent with `chat.update` too, which documents no such arguments
/// (Slack ignores arguments it does not know), so an edit adds no preview if Slack honours
/// them there.
const NO_UNFURL: [(&str, bool); 2] = [("unfurl_links", false), ("unfurl_media", false)];

/// `body` with [`NO_UNFURL`].
fn no_unfurl(mut body: Value) -> Value {
    if let Some(obj) = body.as_object_mut() {
        for (k, v) in NO_UNFURL {
            obj.insert(k.to_owned(), Value::Bool(v));
        }
    }
    body
}

/// The text to send: not empty, within Slack's limit, without broadcast pings.
fn message_text(text: &str) -> Result<String, SlackError> {
    if text.trim().is_empty() {
        return Err(SlackError::BadArgument(
            "text is empty: give the message (it is also the notification shown for blocks)".into(),
        ));
    }
    let n = text.chars().count();
    if n > MAX_TEXT {
        return Err(SlackError::BadArgument(format!(
            "text has {n} characters; Slack allows {MAX_TEXT}. Post a summary and put detail in thread replies"
        )));
    }
    Ok(defuse(text))
}

fn message_blocks(blocks: Option<Vec<Value>>) -> Result<Option<Value>, SlackError> {
    match blocks {
        None => Ok(None),
        Some(b) if b.is_empty() => Ok(None),
        Some(b) => {
            blocks::check(&b)?;
            refuse_interactive(&b)?;
            refuse_fetched(&b)?;
            let mut v = Value::Array(b);
            defuse_json(&mut v);
            Ok(Some(v))
        }
    }
}

/// Refuses buttons, menus, inputs and `sopilot_` ids anywhere in `blocks`.
fn refuse_interactive(blocks: &[Value]) -> Result<(), SlackError> {
    match interactive::find("blocks", blocks) {
        None => Ok(()),
        Some(f) => Err(SlackError::Interactive {
            index: f.index,
            block_type: f.block_type,
            pointer: f.pointer,
            what: f.what,
        }),
    }
}

/// Refuses images, videos, files and any other URL Slack would fetch anywhere in `blocks`.
fn refuse_fetched(blocks: &[Value]) -> Result<(), SlackError> {
    match fetched::find(blocks) {
        None => Ok(()),
        Some(f) => Err(SlackError::FetchesUrl {
            index: f.index,
            block_type: f.block_type,
            pointer: f.pointer,
            what: f.what,
        }),
    }
}

/// What leaves for Slack: credentials in the text and blocks masked by the shared redactor,
/// so a secret a model assembled from what it read never reaches the channel; and, for
/// posts and updates, link and media unfurling off.
fn outgoing(method: &str, mut body: Value) -> Value {
    if matches!(method, "chat.postMessage" | "chat.update") {
        body = no_unfurl(body);
    }
    for key in ["text", "blocks"] {
        if let Some(v) = body.get_mut(key) {
            redact_json(v);
        }
    }
    body
}

/// Refuses to edit a message this process did not post (SOPilot's approval requests, people's
/// messages, the bot's messages from other sessions).
fn ensure_own(ctx: &Ctx, ch: &Resolved, ts: &str) -> Result<(), SlackError> {
    if ctx.own.contains(&ch.id, ts) {
        Ok(())
    } else {
        Err(SlackError::NotOwnMessage {
            channel: ch.display(),
            ts: ts.to_owned(),
        })
    }
}

/// Remembers a message Slack says it posted, under the channel id Slack returned.
fn remember(ctx: &Ctx, ch: &Resolved, reply: &Value) {
    let channel = reply
        .get("channel")
        .and_then(Value::as_str)
        .unwrap_or(&ch.id);
    if let Some(ts) = reply.get("ts").and_then(Value::as_str) {
        ctx.own.record(channel, ts);
    }
}

fn ts_arg(name: &str, value: &str) -> Result<(), SlackError> {
    if is_ts(value) {
        Ok(())
    } else {
        Err(SlackError::BadArgument(format!(
            "{name} {value:?} is not a Slack ts; it looks like \"1712345678.000100\" (from a post's result or the TS column of channel_history)"
        )))
    }
}

/// What a dry run reports: the impact the policy gate reads, and the request unsent.
fn dry_run(action: &str, method: &str, ch: &Resolved, body: Value) -> CallToolResult {
    let body = outgoing(method, body);
    let mut extra = Map::new();
    extra.insert("channel_id".into(), json!(ch.id));
    if let Some(m) = ch.is_member {
        extra.insert("bot_is_member".into(), json!(m));
    }
    if let Some(t) = body.get("text").and_then(Value::as_str) {
        extra.insert("text_chars".into(), json!(t.chars().count()));
    }
    if let Some(b) = body.get("blocks").and_then(Value::as_array) {
        extra.insert("blocks".into(), json!(b.len()));
    }
    let impact = Impact {
        action: action.to_owned(),
        target: Some(ObjectRef {
            kind: "SlackChannel".into(),
            namespace: None,
            name: ch
                .name
                .as_ref()
                .map_or_else(|| ch.id.clone(), |n| format!("#{n}")),
        }),
        extra,
        ..Impact::default()
    };
    let member_note = match ch.is_member {
        Some(false) => {
            " Note: the bot is not in this channel yet; invite it first or the call will fail."
        }
        Some(true) | None => "",
    };
    let preview = body
        .get("text")
        .and_then(Value::as_str)
        .map(|t| format!("\n---\n{}", clip(t, 2000)))
        .unwrap_or_default();
    ok_json(
        format!(
            "Dry run: {method} to {} was checked and not sent.{member_note}{preview}",
            ch.display()
        ),
        &json!({"dry_run": true, "executed": false, "impact": impact, "request": {"method": method, "body": &body}}),
    )
}

/// Sends a write call, naming the channel and message in errors.
async fn send(
    ctx: &Ctx,
    ch: &Resolved,
    method: &'static str,
    body: Value,
    about_ts: Option<&str>,
) -> Result<Value, SlackError> {
    ctx.api
        .call(method, Args::Json(outgoing(method, body)))
        .await
        .map_err(|e| SlackError::from(e).about(&ch.display(), about_ts))
}

fn posted(what: &str, ch: &Resolved, reply: &Value, thread_ts: Option<&str>) -> CallToolResult {
    let ts = reply.get("ts").and_then(Value::as_str).unwrap_or_default();
    let next = match thread_ts {
        Some(t) => format!("More replies: reply_in_thread thread_ts=\"{t}\"."),
        None => format!(
            "Reply in its thread with reply_in_thread thread_ts=\"{ts}\"; change it with update_message ts=\"{ts}\"."
        ),
    };
    ok_json(
        format!("{what} {}, ts {ts}. {next}", ch.display()),
        &json!({"ok": true, "channel": ch, "ts": ts, "thread_ts": thread_ts}),
    )
}

pub async fn post_message(ctx: &Ctx, a: PostMessage) -> Result<CallToolResult, SlackError> {
    let text = message_text(&a.text)?;
    let blocks = message_blocks(a.blocks)?;
    let ch = ctx.channels.resolve(&ctx.api, &a.channel).await?;
    let mut body = json!({"channel": ch.id, "text": text});
    if let Some(b) = blocks {
        body["blocks"] = b;
    }
    if a.dry_run {
        return Ok(dry_run("post_message", "chat.postMessage", &ch, body));
    }
    let reply = send(ctx, &ch, "chat.postMessage", body, None).await?;
    remember(ctx, &ch, &reply);
    Ok(posted("Posted to", &ch, &reply, None))
}

pub async fn reply_in_thread(ctx: &Ctx, a: ReplyInThread) -> Result<CallToolResult, SlackError> {
    ts_arg("thread_ts", &a.thread_ts)?;
    let text = message_text(&a.text)?;
    let blocks = message_blocks(a.blocks)?;
    let ch = ctx.channels.resolve(&ctx.api, &a.channel).await?;
    let mut body = json!({"channel": ch.id, "thread_ts": a.thread_ts, "text": text,
        "reply_broadcast": a.broadcast});
    if let Some(b) = blocks {
        body["blocks"] = b;
    }
    if a.dry_run {
        return Ok(dry_run("reply_in_thread", "chat.postMessage", &ch, body));
    }
    let reply = send(ctx, &ch, "chat.postMessage", body, Some(&a.thread_ts)).await?;
    remember(ctx, &ch, &reply);
    Ok(posted("Replied in", &ch, &reply, Some(&a.thread_ts)))
}

pub async fn update_message(ctx: &Ctx, a: UpdateMessage) -> Result<CallToolResult, SlackError> {
    ts_arg("ts", &a.ts)?;
    let text = message_text(&a.text)?;
    // Without new blocks the old ones are removed, so the new text is what people see.
    let blocks = message_blocks(a.blocks)?.unwrap_or_else(|| json!([]));
    let ch = ctx.channels.resolve(&ctx.api, &a.channel).await?;
    ensure_own(ctx, &ch, &a.ts)?;
    let body = json!({"channel": ch.id, "ts": a.ts, "text": text, "blocks": blocks});
    if a.dry_run {
        return Ok(dry_run("update_message", "chat.update", &ch, body));
    }
    send(ctx, &ch, "chat.update", body, Some(&a.ts)).await?;
    Ok(ok_json(
        format!("Updated message {} in {}.", a.ts, ch.display()),
        &json!({"ok": true, "channel": ch, "ts": a.ts}),
    ))
}

/// Refuses a reaction on an interactive message this process did not post: on an approval
/// request, the bot's :white_check_mark: could read as the decision. The message is read
/// first (its thread, narrowed to its ts); one that cannot be found is refused.
async fn ensure_reactable(ctx: &Ctx, ch: &Resolved, ts: &str) -> Result<(), SlackError> {
    if ctx.own.contains(&ch.id, ts) {
        return Ok(());
    }
    let not_found = || SlackError::NoSuchMessage {
        channel: ch.display(),
        ts: ts.to_owned(),
    };
    let args = vec![
        ("channel", ch.id.clone()),
        ("ts", ts.to_owned()),
        ("oldest", ts.to_owned()),
        ("latest", ts.to_owned()),
        ("inclusive", "true".to_owned()),
        ("limit", "2".to_owned()),
    ];
    let page = match ctx
        .api
        .call("conversations.replies", Args::Query(args))
        .await
    {
        Ok(page) => page,
        Err(e)
            if matches!(
                e.code(),
                Some(SlackCode::ThreadNotFound | SlackCode::MessageNotFound)
            ) =>
        {
            return Err(not_found());
        }
        Err(e) => return Err(SlackError::from(e).about(&ch.display(), Some(ts))),
    };
    let message = page
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|msgs| {
            msgs.iter()
                .find(|m| m.get("ts").and_then(Value::as_str) == Some(ts))
        })
        .ok_or_else(not_found)?;
    match interactive::find_in_message(message) {
        None => Ok(()),
        Some(f) => Err(SlackError::InteractiveTarget {
            channel: ch.display(),
            ts: ts.to_owned(),
            // Where, not what: the finding may quote ids this server never shows.
            what: format!(
                "{}[{}] ({})",
                pointer_list(&f.pointer),
                f.index,
                f.block_type
            ),
        }),
    }
}

/// `blocks` or `attachments`, from a finding's pointer.
fn pointer_list(pointer: &str) -> &str {
    pointer
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("blocks")
}

pub async fn add_reaction(ctx: &Ctx, a: AddReaction) -> Result<CallToolResult, SlackError> {
    ts_arg("ts", &a.ts)?;
    let name = a.name.trim().trim_matches(':').to_owned();
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_+-'".contains(c));
    if !valid {
        return Err(SlackError::BadArgument(format!(
            "{:?} is not an emoji name; use lower-case names such as eyes, white_check_mark, rotating_light",
            a.name
        )));
    }
    let ch = ctx.channels.resolve(&ctx.api, &a.channel).await?;
    ensure_reactable(ctx, &ch, &a.ts).await?;
    let body = json!({"channel": ch.id, "timestamp": a.ts, "name": name});
    if a.dry_run {
        return Ok(dry_run("add_reaction", "reactions.add", &ch, body));
    }
    let outcome = match send(ctx, &ch, "reactions.add", body, Some(&a.ts)).await {
        Ok(_) => "Added",
        Err(e) if e.code() == Some(&SlackCode::AlreadyReacted) => "Already there:",
        Err(e) => return Err(e),
    };
    Ok(ok_json(
        format!(
            "{outcome} :{name}: on message {} in {}.",
            a.ts,
            ch.display()
        ),
        &json!({"ok": true, "channel": ch, "ts": a.ts, "name": name}),
    ))
}

pub async fn post_incident_report(
    ctx: &Ctx,
    r: IncidentReport,
) -> Result<CallToolResult, SlackError> {
    blocks::check_report(&r)?;
    for (name, ts) in [("thread_ts", &r.thread_ts), ("update_ts", &r.update_ts)] {
        if let Some(ts) = ts {
            ts_arg(name, ts)?;
        }
    }
    if r.thread_ts.is_some() && r.update_ts.is_some() {
        return Err(SlackError::BadArgument(
            "give thread_ts (post into a thread) or update_ts (replace an earlier report), not both".into(),
        ));
    }
    let (report_blocks, fallback) = blocks::report(&r);
    refuse_interactive(&report_blocks)?;
    let ch = ctx.channels.resolve(&ctx.api, &r.channel).await?;
    if let Some(ts) = &r.update_ts {
        ensure_own(ctx, &ch, ts)?;
    }
    let (method, body) = match &r.update_ts {
        Some(ts) => (
            "chat.update",
            json!({"channel": ch.id, "ts": ts, "text": fallback, "blocks": report_blocks}),
        ),
        None => {
            let mut body = json!({"channel": ch.id, "text": fallback, "blocks": report_blocks});
            if let Some(t) = &r.thread_ts {
                body["thread_ts"] = json!(t);
            }
            ("chat.postMessage", body)
        }
    };
    if r.dry_run {
        return Ok(dry_run("post_incident_report", method, &ch, body));
    }
    let about = r.update_ts.as_deref().or(r.thread_ts.as_deref());
    let reply = send(ctx, &ch, method, body, about).await?;
    remember(ctx, &ch, &reply);
    let ts = reply
        .get("ts")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let verb = if r.update_ts.is_some() {
        "Updated the incident report in"
    } else {
        "Posted the incident report to"
    };
    Ok(ok_json(
        format!(
            "{verb} {}, ts {ts}. As the status changes, update it in place with post_incident_report update_ts=\"{ts}\"; add detail with reply_in_thread thread_ts=\"{ts}\".",
            ch.display()
        ),
        &json!({"ok": true, "channel": ch, "ts": ts, "blocks": report_blocks.len()}),
    ))
}
