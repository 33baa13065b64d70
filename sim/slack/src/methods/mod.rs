//! The Web API methods the simulator answers, with Slack's argument handling and errors.

mod chat;
mod conversations;
mod other;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::model::World;
use crate::ts::Ts;

/// A Web API method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    AuthTest,
    ChatPostMessage,
    ChatPostEphemeral,
    ChatUpdate,
    ConversationsHistory,
    ConversationsReplies,
    ConversationsList,
    ConversationsInfo,
    ReactionsAdd,
    UsersInfo,
    UsergroupsUsersList,
    /// Socket Mode's `apps.connections.open` (app-level tokens only); answered by the socket
    /// hub, not by [`call`].
    AppsConnectionsOpen,
}

impl Method {
    /// Every method, in the order the documentation lists them.
    pub const ALL: [Method; 12] = [
        Method::AuthTest,
        Method::ChatPostMessage,
        Method::ChatPostEphemeral,
        Method::ChatUpdate,
        Method::ConversationsHistory,
        Method::ConversationsReplies,
        Method::ConversationsList,
        Method::ConversationsInfo,
        Method::ReactionsAdd,
        Method::UsersInfo,
        Method::UsergroupsUsersList,
        Method::AppsConnectionsOpen,
    ];

    /// The method's name in the URL, e.g. `chat.postMessage`.
    pub fn name(self) -> &'static str {
        match self {
            Method::AuthTest => "auth.test",
            Method::ChatPostMessage => "chat.postMessage",
            Method::ChatPostEphemeral => "chat.postEphemeral",
            Method::ChatUpdate => "chat.update",
            Method::ConversationsHistory => "conversations.history",
            Method::ConversationsReplies => "conversations.replies",
            Method::ConversationsList => "conversations.list",
            Method::ConversationsInfo => "conversations.info",
            Method::ReactionsAdd => "reactions.add",
            Method::UsersInfo => "users.info",
            Method::UsergroupsUsersList => "usergroups.users.list",
            Method::AppsConnectionsOpen => "apps.connections.open",
        }
    }

    /// The method named so, if the simulator serves it.
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether Slack reads a JSON body for this method. Only write methods do; read methods
    /// take their arguments from the query string or a form body, and ignore JSON.
    pub fn accepts_json(self) -> bool {
        match self {
            Method::ChatPostMessage
            | Method::ChatPostEphemeral
            | Method::ChatUpdate
            | Method::ReactionsAdd => true,
            Method::AuthTest
            | Method::ConversationsHistory
            | Method::ConversationsReplies
            | Method::ConversationsList
            | Method::ConversationsInfo
            | Method::UsersInfo
            | Method::UsergroupsUsersList
            | Method::AppsConnectionsOpen => false,
        }
    }
}

/// A Slack `ok: false` answer: the error code and `response_metadata.messages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub code: &'static str,
    pub messages: Vec<String>,
}

impl ApiError {
    pub fn new(code: &'static str) -> Self {
        ApiError {
            code,
            messages: Vec::new(),
        }
    }

    fn with(code: &'static str, message: String) -> Self {
        ApiError {
            code,
            messages: vec![message],
        }
    }
}

pub(crate) type Answer = Result<Map<String, Value>, ApiError>;

/// The arguments of a call: query and form values are strings, JSON bodies keep their types.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(pub Map<String, Value>);

impl Params {
    /// A non-empty argument as text (numbers and booleans as written).
    pub fn str(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null | Value::Array(_) | Value::Object(_) => None,
        }
    }

    /// A required argument, or Slack's `invalid_arguments`.
    pub fn required(&self, key: &str) -> Result<String, ApiError> {
        self.str(key).ok_or_else(|| {
            ApiError::with(
                "invalid_arguments",
                format!("[ERROR] missing required field: {key}"),
            )
        })
    }

    /// `true`, `1` or a JSON `true`.
    pub fn flag(&self, key: &str) -> bool {
        match self.0.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true" || s == "1",
            Some(Value::Number(n)) => n.as_i64() == Some(1),
            Some(Value::Null | Value::Array(_) | Value::Object(_)) | None => false,
        }
    }

    /// A page size between 1 and `max`; absent or 0 means `default`.
    pub fn limit(&self, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.str("limit") {
            None => Ok(default),
            Some(text) => match text.parse::<u64>() {
                Ok(0) => Ok(default),
                Ok(n) => Ok(usize::try_from(n).unwrap_or(max).min(max)),
                Err(_) => Err(ApiError::with(
                    "invalid_limit",
                    format!("[ERROR] limit must be a number, got {text:?}"),
                )),
            },
        }
    }

    /// A ts argument; `bad` is the error code for one that does not parse.
    pub fn ts(&self, key: &str, bad: &'static str) -> Result<Option<Ts>, ApiError> {
        match self.str(key) {
            None => Ok(None),
            Some(text) => Ts::parse(&text)
                .map(Some)
                .ok_or_else(|| ApiError::with(bad, format!("[ERROR] {key} {text:?} is not a ts"))),
        }
    }

    /// A JSON argument (`blocks`): an array in a JSON body, a JSON string in a form.
    pub fn json(&self, key: &str, bad: &'static str) -> Result<Option<Value>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => serde_json::from_str(s)
                .map(Some)
                .map_err(|e| ApiError::with(bad, format!("[ERROR] {key} is not valid JSON: {e}"))),
            Some(v) => Ok(Some(v.clone())),
        }
    }
}

/// An opaque page cursor: `prefix:value`, base64-encoded as Slack's are.
pub(crate) fn cursor(prefix: &str, value: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{prefix}:{value}"))
}

/// The value of a cursor made by [`cursor`] with `prefix`, or `invalid_cursor`.
pub(crate) fn read_cursor(params: &Params, prefix: &str) -> Result<Option<String>, ApiError> {
    let Some(text) = params.str("cursor") else {
        return Ok(None);
    };
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| {
            s.strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix(':'))
                .map(str::to_owned)
        })
        .map(Some)
        .ok_or_else(|| ApiError::new("invalid_cursor"))
}

/// Answers one authenticated, unthrottled call.
pub(crate) fn call(world: &mut World, method: Method, p: &Params, now: DateTime<Utc>) -> Answer {
    match method {
        Method::AuthTest => other::auth_test(world),
        Method::ChatPostMessage => chat::post_message(world, p, now),
        Method::ChatPostEphemeral => chat::post_ephemeral(world, p, now),
        Method::ChatUpdate => chat::update(world, p, now),
        Method::ConversationsHistory => conversations::history(world, p),
        Method::ConversationsReplies => conversations::replies(world, p),
        Method::ConversationsList => conversations::list(world, p),
        Method::ConversationsInfo => conversations::info(world, p),
        Method::ReactionsAdd => other::reactions_add(world, p),
        Method::UsersInfo => other::users_info(world, p),
        Method::UsergroupsUsersList => other::usergroup_users(world, p),
        // Needs the socket hub (a ticket) and the Host: SlackState::handle answers it.
        Method::AppsConnectionsOpen => Err(ApiError::new("not_allowed_token_type")),
    }
}

/// The channel a read or update names by id, visible to the bot; `need_member` also
/// requires the bot to be in it (`not_in_channel`).
pub(crate) fn visible_channel<'w>(
    world: &'w World,
    id: &str,
    need_member: bool,
) -> Result<&'w crate::model::Channel, ApiError> {
    let c = world
        .channel(id)
        .ok_or_else(|| ApiError::new("channel_not_found"))?;
    let member = world.bot_is_member(c);
    if c.is_private && !member {
        return Err(ApiError::new("channel_not_found"));
    }
    if need_member && !member {
        return Err(ApiError::new("not_in_channel"));
    }
    Ok(c)
}
