//! `chat.postMessage`, `chat.postEphemeral`, `chat.update`.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{Answer, ApiError, Params, visible_channel};
use crate::blocks;
use crate::model::{Ephemeral, StoredMessage, World};

/// Slack's limit on a message's text.
const MAX_TEXT: usize = 40_000;

/// The text and blocks of a new message; `no_text` when there is neither.
fn content(p: &Params) -> Result<(String, Option<Value>), ApiError> {
    let text = p.str("text").unwrap_or_default();
    let blocks = match p.json("blocks", "invalid_blocks")? {
        Some(Value::Array(items)) if items.is_empty() => None,
        other => other,
    };
    if let Some(b) = &blocks {
        blocks::validate(b).map_err(|messages| ApiError {
            code: "invalid_blocks",
            messages,
        })?;
    }
    let has_attachments = p.json("attachments", "invalid_attachments")?.is_some();
    if text.is_empty() && blocks.is_none() && !has_attachments {
        return Err(ApiError::new("no_text"));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(ApiError::new("msg_too_long"));
    }
    Ok((text, blocks))
}

/// The channel a post names by id or name; the bot must be in it.
fn target(world: &World, p: &Params) -> Result<String, ApiError> {
    let arg = p.required("channel")?;
    let c = world
        .channel_by_id_or_name(&arg)
        .ok_or_else(|| ApiError::new("channel_not_found"))?;
    let member = world.bot_is_member(c);
    if c.is_private && !member {
        return Err(ApiError::new("channel_not_found"));
    }
    if c.is_archived {
        return Err(ApiError::new("is_archived"));
    }
    if !member {
        return Err(ApiError::new("not_in_channel"));
    }
    Ok(c.id.clone())
}

pub(super) fn post_message(world: &mut World, p: &Params, now: DateTime<Utc>) -> Answer {
    let channel = target(world, p)?;
    let (text, blocks) = content(p)?;
    let thread_ts = match p.ts("thread_ts", "thread_not_found")? {
        None => None,
        Some(ts) => {
            let found = world
                .channel_messages(&channel)
                .and_then(|msgs| msgs.get(&ts))
                .ok_or_else(|| ApiError::new("thread_not_found"))?;
            // A reply to a reply joins the parent's thread.
            Some(found.thread_ts.unwrap_or(found.ts))
        }
    };
    let ts = world.clock.next(now);
    let message = StoredMessage {
        ts,
        user: world.bot.user_id.clone(),
        bot_id: Some(world.bot.bot_id.clone()),
        text,
        blocks,
        thread_ts,
        reply_broadcast: thread_ts.is_some() && p.flag("reply_broadcast"),
        edited: None,
        reactions: Vec::new(),
    };
    let rendered = world.render(&channel, &message);
    world
        .messages
        .entry(channel.clone())
        .or_default()
        .insert(ts, message);
    let mut out = Map::new();
    out.insert("channel".into(), json!(channel));
    out.insert("ts".into(), json!(ts.to_string()));
    out.insert("message".into(), rendered);
    Ok(out)
}

pub(super) fn post_ephemeral(world: &mut World, p: &Params, now: DateTime<Utc>) -> Answer {
    let channel = target(world, p)?;
    let user = p.required("user")?;
    if world.user(&user).is_none() {
        return Err(ApiError::new("user_not_found"));
    }
    let in_channel = world
        .channel(&channel)
        .is_some_and(|c| c.members.contains(&user));
    if !in_channel {
        return Err(ApiError::new("user_not_in_channel"));
    }
    let (text, blocks) = content(p)?;
    let ts = world.clock.next(now);
    world.ephemeral.push(Ephemeral {
        channel,
        user,
        text,
        blocks,
        message_ts: ts.to_string(),
    });
    let mut out = Map::new();
    out.insert("message_ts".into(), json!(ts.to_string()));
    Ok(out)
}

pub(super) fn update(world: &mut World, p: &Params, now: DateTime<Utc>) -> Answer {
    let channel = p.required("channel")?;
    let channel = visible_channel(world, &channel, true)?.id.clone();
    let ts = p.ts("ts", "message_not_found")?.ok_or_else(|| ApiError {
        code: "invalid_arguments",
        messages: vec!["[ERROR] missing required field: ts".into()],
    })?;
    let text = p.str("text");
    let blocks = p.json("blocks", "invalid_blocks")?;
    if let Some(b) = blocks
        .as_ref()
        .filter(|b| b.as_array().is_none_or(|a| !a.is_empty()))
    {
        blocks::validate(b).map_err(|messages| ApiError {
            code: "invalid_blocks",
            messages,
        })?;
    }
    if text.is_none() && blocks.is_none() {
        return Err(ApiError::new("no_text"));
    }
    if text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT) {
        return Err(ApiError::new("msg_too_long"));
    }
    let bot_user = world.bot.user_id.clone();
    let edited_ts = world.clock.next(now);
    let message = world
        .messages
        .get_mut(&channel)
        .and_then(|msgs| msgs.get_mut(&ts))
        .ok_or_else(|| ApiError::new("message_not_found"))?;
    if message.user != bot_user {
        return Err(ApiError::new("cant_update_message"));
    }
    // As Slack does: a field left out keeps its old value; `blocks: []` removes the blocks.
    if let Some(t) = text {
        message.text = t;
    }
    match blocks {
        Some(Value::Array(items)) if items.is_empty() => message.blocks = None,
        Some(b) => message.blocks = Some(b),
        None => {}
    }
    message.edited = Some((bot_user, edited_ts));
    let message = message.clone();
    let rendered = world.render(&channel, &message);
    let mut out = Map::new();
    out.insert("channel".into(), json!(channel));
    out.insert("ts".into(), json!(ts.to_string()));
    out.insert("text".into(), json!(message.text));
    out.insert("message".into(), rendered);
    Ok(out)
}
