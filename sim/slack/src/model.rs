//! The simulated workspace: team, bot, users, channels, messages, and what was asked of it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::ts::{Clock, Ts};

/// The most requests kept for assertions; older ones are dropped first.
pub(crate) const MAX_RECORDED: usize = 10_000;

/// The workspace.
#[derive(Debug, Clone)]
pub(crate) struct Team {
    pub id: String,
    pub name: String,
}

/// The bot the tokens belong to.
#[derive(Debug, Clone)]
pub(crate) struct Bot {
    pub user_id: String,
    pub bot_id: String,
    pub app_id: String,
    pub name: String,
}

/// A person (or the bot) in the workspace.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: String,
    pub name: String,
    pub real_name: String,
    pub is_bot: bool,
}

/// A channel and who is in it.
#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub id: String,
    pub name: String,
    pub is_private: bool,
    pub is_archived: bool,
    pub topic: String,
    pub purpose: String,
    pub members: Vec<String>,
    pub created: i64,
}

/// A message as stored; rendered into Slack's shape on the way out.
#[derive(Debug, Clone)]
pub(crate) struct StoredMessage {
    pub ts: Ts,
    pub user: String,
    pub bot_id: Option<String>,
    pub text: String,
    pub blocks: Option<Value>,
    /// The parent's ts for a reply; `None` for a top-level message.
    pub thread_ts: Option<Ts>,
    pub reply_broadcast: bool,
    pub edited: Option<(String, Ts)>,
    /// Emoji name and who reacted, in the order reactions arrived.
    pub reactions: Vec<(String, Vec<String>)>,
}

/// A message only one user sees (`chat.postEphemeral`); never in history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ephemeral {
    pub channel: String,
    pub user: String,
    pub text: String,
    pub blocks: Option<Value>,
    pub message_ts: String,
}

/// A message of the simulated workspace, as tests read it back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub ts: String,
    pub user: String,
    pub bot_id: Option<String>,
    pub text: String,
    pub blocks: Option<Value>,
    /// The parent's ts when this is a reply in a thread.
    pub thread_ts: Option<String>,
    pub edited: bool,
    /// `(emoji name, users)` pairs.
    pub reactions: Vec<(String, Vec<String>)>,
}

/// Whether and how a request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthOutcome {
    /// A known token in `Authorization: Bearer`.
    Valid,
    /// No `Authorization` header.
    Missing,
    /// A header that is not `Bearer` plus a known token.
    Invalid,
    /// Not checked (the method does not exist).
    Unchecked,
    /// A known token of the wrong kind: an app-level token for a bot method, or a bot token
    /// for `apps.connections.open` (Slack's `not_allowed_token_type`).
    WrongTokenType,
}

/// One request to the simulated Web API, as received. The token itself is not kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    /// 1 for the first request the simulator received.
    pub seq: u64,
    /// The Web API method, e.g. `chat.postMessage`.
    pub method: String,
    /// `GET` or `POST`.
    pub http_method: String,
    pub content_type: Option<String>,
    /// Query and body arguments merged (the body wins); JSON bodies keep their types.
    pub params: serde_json::Map<String, Value>,
    /// The raw body (lossy UTF-8, at most 64 KiB).
    pub body: String,
    pub auth: AuthOutcome,
    /// The HTTP status answered (200, 404 or 429).
    pub status: u16,
    pub ok: bool,
    /// Slack's error code when `ok` is false.
    pub error: Option<String>,
}

/// Answer the next `calls` requests (of `method`, or of any method) with HTTP 429.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    pub calls: u32,
    pub retry_after_seconds: u64,
    pub method: Option<String>,
}

/// A user group (`@oncall`), as `usergroups.users.list` lists it.
#[derive(Debug, Clone)]
pub(crate) struct Usergroup {
    pub id: String,
    pub users: Vec<String>,
}

/// Everything the simulated workspace holds.
#[derive(Debug, Clone)]
pub(crate) struct World {
    pub team: Team,
    pub bot: Bot,
    pub tokens: Vec<String>,
    /// App-level tokens (`xapp-…`): only `apps.connections.open` takes them.
    pub app_tokens: Vec<String>,
    pub users: Vec<User>,
    /// User groups (`S…`) and their members.
    pub usergroups: Vec<Usergroup>,
    pub channels: Vec<Channel>,
    /// Per channel id, every message (replies included) by ts.
    pub messages: BTreeMap<String, BTreeMap<Ts, StoredMessage>>,
    pub ephemeral: Vec<Ephemeral>,
    pub requests: Vec<RecordedRequest>,
    pub next_seq: u64,
    pub rate_limit: Option<RateLimit>,
    /// The most items a page holds, whatever `limit` asks.
    pub max_page_size: Option<usize>,
    pub clock: Clock,
}

impl World {
    /// The channel with this id.
    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    /// The channel with this id, or name (with or without `#`).
    pub fn channel_by_id_or_name(&self, key: &str) -> Option<&Channel> {
        let name = key.strip_prefix('#').unwrap_or(key);
        self.channel(key)
            .or_else(|| self.channels.iter().find(|c| c.name == name))
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// Whether the bot may read and post in the channel.
    pub fn bot_is_member(&self, channel: &Channel) -> bool {
        channel.members.contains(&self.bot.user_id)
    }

    /// The messages of a channel (empty when it has none).
    pub fn channel_messages(&self, id: &str) -> Option<&BTreeMap<Ts, StoredMessage>> {
        self.messages.get(id)
    }

    /// A message in Slack's shape, with thread summary fields on a parent.
    pub fn render(&self, channel: &str, m: &StoredMessage) -> Value {
        let mut v = json!({"type": "message", "user": m.user, "text": m.text, "ts": m.ts.to_string(), "team": self.team.id});
        let Some(obj) = v.as_object_mut() else {
            return v;
        };
        if let Some(bot_id) = &m.bot_id {
            obj.insert("bot_id".into(), json!(bot_id));
            obj.insert("app_id".into(), json!(self.bot.app_id));
        }
        if let Some(blocks) = &m.blocks {
            obj.insert("blocks".into(), blocks.clone());
        }
        if let Some(parent) = m.thread_ts {
            obj.insert("thread_ts".into(), json!(parent.to_string()));
            if let Some(p) = self
                .channel_messages(channel)
                .and_then(|msgs| msgs.get(&parent))
            {
                obj.insert("parent_user_id".into(), json!(p.user));
            }
            if m.reply_broadcast {
                obj.insert("subtype".into(), json!("thread_broadcast"));
            }
        } else {
            let replies: Vec<&StoredMessage> = self
                .channel_messages(channel)
                .map(|msgs| {
                    msgs.values()
                        .filter(|r| r.thread_ts == Some(m.ts))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(last) = replies.last() {
                let mut users: Vec<&str> = Vec::new();
                for r in &replies {
                    if !users.contains(&r.user.as_str()) {
                        users.push(&r.user);
                    }
                }
                obj.insert("thread_ts".into(), json!(m.ts.to_string()));
                obj.insert("reply_count".into(), json!(replies.len()));
                obj.insert("reply_users_count".into(), json!(users.len()));
                obj.insert("latest_reply".into(), json!(last.ts.to_string()));
                obj.insert("reply_users".into(), json!(users));
            }
        }
        if let Some((user, ts)) = &m.edited {
            obj.insert("edited".into(), json!({"user": user, "ts": ts.to_string()}));
        }
        if !m.reactions.is_empty() {
            let reactions: Vec<Value> = m
                .reactions
                .iter()
                .map(|(name, users)| json!({"name": name, "users": users, "count": users.len()}))
                .collect();
            obj.insert("reactions".into(), json!(reactions));
        }
        v
    }

    /// A channel in the shape of `conversations.list` and `conversations.info`.
    pub fn render_channel(&self, c: &Channel) -> Value {
        json!({
            "id": c.id,
            "name": c.name,
            "is_channel": !c.is_private,
            "is_group": false,
            "is_im": false,
            "is_private": c.is_private,
            "is_archived": c.is_archived,
            "is_member": self.bot_is_member(c),
            "created": c.created,
            "num_members": c.members.len(),
            "topic": {"value": c.topic, "creator": "", "last_set": 0},
            "purpose": {"value": c.purpose, "creator": "", "last_set": 0},
        })
    }

    /// A user in the shape of `users.info`.
    pub fn render_user(&self, u: &User) -> Value {
        json!({
            "id": u.id,
            "team_id": self.team.id,
            "name": u.name,
            "real_name": u.real_name,
            "deleted": false,
            "is_bot": u.is_bot,
            "profile": {"real_name": u.real_name, "display_name": u.name},
        })
    }
}

impl StoredMessage {
    /// The public view tests read.
    pub fn view(&self) -> Message {
        Message {
            ts: self.ts.to_string(),
            user: self.user.clone(),
            bot_id: self.bot_id.clone(),
            text: self.text.clone(),
            blocks: self.blocks.clone(),
            thread_ts: self.thread_ts.map(|t| t.to_string()),
            edited: self.edited.is_some(),
            reactions: self.reactions.clone(),
        }
    }
}
