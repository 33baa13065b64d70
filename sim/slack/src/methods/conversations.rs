//! `conversations.history`, `conversations.replies`, `conversations.list`, `conversations.info`.

use serde_json::{Map, Value, json};

use super::{Answer, ApiError, Params, cursor, read_cursor, visible_channel};
use crate::model::{StoredMessage, World};
use crate::ts::Ts;

/// Whether `ts` lies within `oldest`..`latest` (exclusive unless `inclusive`).
fn in_window(ts: Ts, oldest: Option<Ts>, latest: Option<Ts>, inclusive: bool) -> bool {
    let after = oldest.is_none_or(|o| if inclusive { ts >= o } else { ts > o });
    let before = latest.is_none_or(|l| if inclusive { ts <= l } else { ts < l });
    after && before
}

/// A page of messages; `next` is where the following page starts.
fn page(
    world: &World,
    channel: &str,
    items: &[&StoredMessage],
    limit: usize,
    prefix: &str,
) -> Map<String, Value> {
    let shown: Vec<Value> = items
        .iter()
        .take(limit)
        .map(|m| world.render(channel, m))
        .collect();
    let next = items.get(limit).map(|m| cursor(prefix, &m.ts.to_string()));
    let mut out = Map::new();
    out.insert("messages".into(), Value::Array(shown));
    out.insert("has_more".into(), json!(next.is_some()));
    if let Some(next) = next {
        out.insert("response_metadata".into(), json!({"next_cursor": next}));
    }
    out
}

/// Slack may answer with fewer items than asked; `max_page_size` makes the simulator do so.
fn page_limit(world: &World, asked: usize) -> usize {
    world
        .max_page_size
        .map_or(asked, |max| asked.min(max.max(1)))
}

fn cursor_ts(p: &Params) -> Result<Option<Ts>, ApiError> {
    match read_cursor(p, "next_ts")? {
        None => Ok(None),
        Some(text) => Ts::parse(&text)
            .map(Some)
            .ok_or_else(|| ApiError::new("invalid_cursor")),
    }
}

pub(super) fn history(world: &mut World, p: &Params) -> Answer {
    let channel = p.required("channel")?;
    let channel = visible_channel(world, &channel, true)?.id.clone();
    let limit = page_limit(world, p.limit(100, 999)?);
    let oldest = p.ts("oldest", "invalid_ts_oldest")?;
    let latest = p.ts("latest", "invalid_ts_latest")?;
    let inclusive = p.flag("inclusive");
    let from = cursor_ts(p)?;
    // Newest first; replies only when broadcast to the channel.
    let items: Vec<&StoredMessage> = world
        .channel_messages(&channel)
        .map(|msgs| {
            msgs.values()
                .rev()
                .filter(|m| m.thread_ts.is_none() || m.reply_broadcast)
                .filter(|m| in_window(m.ts, oldest, latest, inclusive))
                .filter(|m| from.is_none_or(|f| m.ts <= f))
                .collect()
        })
        .unwrap_or_default();
    let mut out = page(world, &channel, &items, limit, "next_ts");
    out.insert("pin_count".into(), json!(0));
    out.insert("channel_actions_ts".into(), Value::Null);
    out.insert("channel_actions_count".into(), json!(0));
    Ok(out)
}

pub(super) fn replies(world: &mut World, p: &Params) -> Answer {
    let channel = p.required("channel")?;
    let channel = visible_channel(world, &channel, true)?.id.clone();
    let ts = p.ts("ts", "thread_not_found")?.ok_or_else(|| ApiError {
        code: "invalid_arguments",
        messages: vec!["[ERROR] missing required field: ts".into()],
    })?;
    let limit = page_limit(world, p.limit(1000, 1000)?);
    let oldest = p.ts("oldest", "invalid_ts_oldest")?;
    let latest = p.ts("latest", "invalid_ts_latest")?;
    let inclusive = p.flag("inclusive");
    let from = cursor_ts(p)?;
    let Some(msgs) = world.channel_messages(&channel) else {
        return Err(ApiError::new("thread_not_found"));
    };
    let found = msgs
        .get(&ts)
        .ok_or_else(|| ApiError::new("thread_not_found"))?;
    let parent = found.thread_ts.unwrap_or(found.ts);
    // Oldest first: the parent, then its replies.
    let items: Vec<&StoredMessage> = msgs
        .values()
        .filter(|m| m.ts == parent || m.thread_ts == Some(parent))
        .filter(|m| m.ts == parent || in_window(m.ts, oldest, latest, inclusive))
        .filter(|m| from.is_none_or(|f| m.ts >= f))
        .collect();
    Ok(page(world, &channel, &items, limit, "next_ts"))
}

pub(super) fn list(world: &mut World, p: &Params) -> Answer {
    let types = p.str("types").unwrap_or_else(|| "public_channel".into());
    let mut public = false;
    let mut private = false;
    for t in types.split(',').map(str::trim) {
        match t {
            "public_channel" => public = true,
            "private_channel" => private = true,
            "mpim" | "im" => {}
            other => {
                return Err(ApiError {
                    code: "invalid_types",
                    messages: vec![format!("[ERROR] unknown type {other:?}")],
                });
            }
        }
    }
    let exclude_archived = p.flag("exclude_archived");
    let limit = page_limit(world, p.limit(100, 1000)?);
    let from = read_cursor(p, "next_id")?;
    let visible: Vec<&crate::model::Channel> = world
        .channels
        .iter()
        .filter(|c| {
            if c.is_private {
                private && world.bot_is_member(c)
            } else {
                public
            }
        })
        .filter(|c| !(exclude_archived && c.is_archived))
        .collect();
    let start = match &from {
        None => 0,
        Some(id) => visible
            .iter()
            .position(|c| c.id == *id)
            .ok_or_else(|| ApiError::new("invalid_cursor"))?,
    };
    let rest = visible.get(start..).unwrap_or_default();
    let shown: Vec<Value> = rest
        .iter()
        .take(limit)
        .map(|c| world.render_channel(c))
        .collect();
    let next = rest
        .get(limit)
        .map(|c| cursor("next_id", &c.id))
        .unwrap_or_default();
    let mut out = Map::new();
    out.insert("channels".into(), Value::Array(shown));
    out.insert("response_metadata".into(), json!({"next_cursor": next}));
    Ok(out)
}

pub(super) fn info(world: &mut World, p: &Params) -> Answer {
    let channel = p.required("channel")?;
    let c = visible_channel(world, &channel, false)?;
    let mut out = Map::new();
    out.insert("channel".into(), world.render_channel(c));
    Ok(out)
}
