//! Failures, as messages a model (and an SRE) can act on. Slack's error codes are a protocol
//! field, parsed into [`SlackCode`] and explained by an exhaustive match.

use std::time::Duration;

use rmcp::model::CallToolResult;
use sopilot_mcp_common::{Failure, redact, tool_error};

/// Why `mcp-slack` could not start, or a tool could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// `SLACK_BOT_TOKEN` is missing or unusable (its value is never shown).
    #[error("{0}")]
    Token(&'static str),
    /// `SLACK_API_URL` is not an http(s) URL.
    #[error("SLACK_API_URL {url:?} is not usable: {reason}")]
    ApiUrl { url: String, reason: String },
    /// Flags that contradict each other.
    #[error("{0}")]
    Usage(String),
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The arguments are wrong; the message says how to fix them.
    #[error("{0}")]
    BadArgument(String),
    /// The channel is outside `--channels`.
    #[error("channel {channel} is not in this server's allow-list (--channels); allowed: {}. Use one of them.", .allowed.join(", "))]
    ChannelNotAllowed {
        channel: String,
        allowed: Vec<String>,
    },
    /// A channel name the bot cannot see.
    #[error("no channel named #{name} that the bot can see; {hint}")]
    UnknownChannel { name: String, hint: String },
    /// Slack answered `ok: false`.
    #[error("{}", .0.explain())]
    Api(Box<ApiFailure>),
    /// Slack kept answering 429.
    #[error("Slack is rate-limiting {method}: still refused after {attempts} attempts{}. Wait a minute before posting again, and post fewer, larger updates (one report, then thread replies).", .retry_after.map(|s| format!(" (it asks to wait {s} s)")).unwrap_or_default())]
    RateLimited {
        method: &'static str,
        attempts: u32,
        retry_after: Option<u64>,
    },
    /// An HTTP status that is not Slack's (a proxy, a wrong URL).
    #[error("the Slack API answered HTTP {status} to {method}{hint}")]
    Http {
        method: &'static str,
        status: u16,
        hint: &'static str,
    },
    /// The call took longer than its deadline.
    #[error("Slack did not answer {method} within {seconds} s; try again shortly")]
    Timeout { method: &'static str, seconds: u64 },
    /// Slack could not be reached, or answered something that is not its JSON.
    #[error("cannot reach the Slack API for {method}: {message}")]
    Transport {
        method: &'static str,
        message: String,
    },
    /// A posting tool was given interactive content or one of SOPilot's reserved ids.
    #[error(
        "blocks[{index}] ({block_type}) is refused: {what} at {pointer}. mcp-slack never posts interactive content (buttons, menus, inputs, date or time pickers, checkboxes, radio buttons, legacy attachment actions) nor ids with SOPilot's `sopilot_` prefix: a press on them could be taken for a person's decision, and approvals are SOPilot's own messages. Post text, sections, context, dividers or headers instead; to ask for a decision, say in text what needs approving (SOPilot posts the approval request itself)."
    )]
    Interactive {
        index: usize,
        block_type: String,
        pointer: String,
        what: String,
    },
    /// A posting tool was given blocks that make Slack fetch a URL (images, videos, files).
    #[error(
        "blocks[{index}] ({block_type}) is refused: {what} at {pointer}. Slack fetches such a URL itself when the message is posted, which would carry whatever the URL holds to its host with nobody clicking, so mcp-slack posts no images, videos, remote files or other fetched URLs. Put a link in the text instead (<https://example.com|label>): a person has to click it, and posts are sent with unfurl_links and unfurl_media off, so Slack shows no preview."
    )]
    FetchesUrl {
        index: usize,
        block_type: String,
        pointer: String,
        what: String,
    },
    /// An edit of a message this process did not post.
    #[error(
        "message {ts} in {channel} was not posted by this server: mcp-slack edits only messages it posted in this session; post a new message or reply in the thread (reply_in_thread thread_ts=\"{ts}\"). SOPilot's own messages (approval requests, run status) and people's messages are never changed from here."
    )]
    NotOwnMessage { channel: String, ts: String },
    /// A reaction on an approval request or another interactive message.
    #[error(
        "message {ts} in {channel} carries interactive content in {what}: it is an approval request or another app's form, and a reaction from the bot there could read as a decision. mcp-slack does not react to such messages; reply in its thread instead."
    )]
    InteractiveTarget {
        channel: String,
        ts: String,
        what: String,
    },
    /// The message a tool names could not be found.
    #[error(
        "no message with ts {ts} in {channel}; take the ts from channel_history, thread_replies or the result of a post"
    )]
    NoSuchMessage { channel: String, ts: String },
    /// The whole tool call outlived its budget.
    #[error(
        "the tool did not finish within {0} s (Slack is slow or rate-limiting); try again shortly"
    )]
    ToolTimeout(u64),
}

/// What Slack said when it answered `ok: false`, and what the call was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub method: &'static str,
    pub code: SlackCode,
    /// `response_metadata.messages`, joined.
    pub detail: Option<String>,
    /// The scope Slack says is missing (`missing_scope`).
    pub needed: Option<String>,
    /// The channel as people know it, once the tool knows which one.
    pub channel: Option<String>,
    /// The message the call was about.
    pub ts: Option<String>,
}

impl ApiFailure {
    fn explain(&self) -> String {
        explain(
            self.method,
            &self.code,
            self.channel.as_deref(),
            self.ts.as_deref(),
            self.detail.as_deref(),
            self.needed.as_deref(),
        )
    }
}

impl Failure for SlackError {
    fn timed_out(limit: Duration) -> Self {
        SlackError::ToolTimeout(limit.as_secs())
    }

    /// As an MCP tool error (the model sees the message, credentials masked).
    fn into_result(self) -> CallToolResult {
        tool_error(redact(&self.to_string()).into_owned())
    }
}

impl SlackError {
    /// Names the channel (and message) a Slack error was about, for the explanation.
    pub fn about(mut self, display: &str, message_ts: Option<&str>) -> Self {
        if let SlackError::Api(failure) = &mut self {
            failure.channel = Some(display.to_owned());
            failure.ts = message_ts.map(str::to_owned);
        }
        self
    }

    /// The Slack error code, when Slack answered `ok: false`.
    pub fn code(&self) -> Option<&SlackCode> {
        match self {
            SlackError::Api(failure) => Some(&failure.code),
            SlackError::Token(_)
            | SlackError::ApiUrl { .. }
            | SlackError::Usage(_)
            | SlackError::Client(_)
            | SlackError::BadArgument(_)
            | SlackError::ChannelNotAllowed { .. }
            | SlackError::UnknownChannel { .. }
            | SlackError::RateLimited { .. }
            | SlackError::Http { .. }
            | SlackError::Timeout { .. }
            | SlackError::Transport { .. }
            | SlackError::Interactive { .. }
            | SlackError::FetchesUrl { .. }
            | SlackError::NotOwnMessage { .. }
            | SlackError::InteractiveTarget { .. }
            | SlackError::NoSuchMessage { .. }
            | SlackError::ToolTimeout(_) => None,
        }
    }
}

/// The Slack error codes this server explains; the rest keep their text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackCode {
    NotAuthed,
    InvalidAuth,
    TokenRevoked,
    TokenExpired,
    AccountInactive,
    NotAllowedTokenType,
    MissingScope,
    NotInChannel,
    ChannelNotFound,
    IsArchived,
    MessageNotFound,
    ThreadNotFound,
    CantUpdateMessage,
    EditWindowClosed,
    InvalidBlocks,
    NoText,
    MsgTooLong,
    AlreadyReacted,
    InvalidName,
    TooManyReactions,
    UserNotFound,
    InvalidArguments,
    RestrictedAction,
    Ratelimited,
    ServerError(String),
    Other(String),
}

impl SlackCode {
    /// Parses Slack's `error` field.
    pub fn parse(code: &str) -> SlackCode {
        match code {
            "not_authed" => SlackCode::NotAuthed,
            "invalid_auth" => SlackCode::InvalidAuth,
            "token_revoked" => SlackCode::TokenRevoked,
            "token_expired" => SlackCode::TokenExpired,
            "account_inactive" => SlackCode::AccountInactive,
            "not_allowed_token_type" => SlackCode::NotAllowedTokenType,
            "missing_scope" => SlackCode::MissingScope,
            "not_in_channel" => SlackCode::NotInChannel,
            "channel_not_found" => SlackCode::ChannelNotFound,
            "is_archived" => SlackCode::IsArchived,
            "message_not_found" => SlackCode::MessageNotFound,
            "thread_not_found" => SlackCode::ThreadNotFound,
            "cant_update_message" => SlackCode::CantUpdateMessage,
            "edit_window_closed" => SlackCode::EditWindowClosed,
            "invalid_blocks" | "invalid_blocks_format" => SlackCode::InvalidBlocks,
            "no_text" => SlackCode::NoText,
            "msg_too_long" => SlackCode::MsgTooLong,
            "already_reacted" => SlackCode::AlreadyReacted,
            "invalid_name" => SlackCode::InvalidName,
            "too_many_reactions" => SlackCode::TooManyReactions,
            "user_not_found" => SlackCode::UserNotFound,
            "invalid_arguments" => SlackCode::InvalidArguments,
            "restricted_action" | "restricted_action_read_only_channel" => {
                SlackCode::RestrictedAction
            }
            "ratelimited" => SlackCode::Ratelimited,
            "fatal_error" | "internal_error" | "service_unavailable" | "request_timeout" => {
                SlackCode::ServerError(code.to_owned())
            }
            other => SlackCode::Other(other.to_owned()),
        }
    }

    /// Slack's spelling of the code.
    pub fn as_str(&self) -> &str {
        match self {
            SlackCode::NotAuthed => "not_authed",
            SlackCode::InvalidAuth => "invalid_auth",
            SlackCode::TokenRevoked => "token_revoked",
            SlackCode::TokenExpired => "token_expired",
            SlackCode::AccountInactive => "account_inactive",
            SlackCode::NotAllowedTokenType => "not_allowed_token_type",
            SlackCode::MissingScope => "missing_scope",
            SlackCode::NotInChannel => "not_in_channel",
            SlackCode::ChannelNotFound => "channel_not_found",
            SlackCode::IsArchived => "is_archived",
            SlackCode::MessageNotFound => "message_not_found",
            SlackCode::ThreadNotFound => "thread_not_found",
            SlackCode::CantUpdateMessage => "cant_update_message",
            SlackCode::EditWindowClosed => "edit_window_closed",
            SlackCode::InvalidBlocks => "invalid_blocks",
            SlackCode::NoText => "no_text",
            SlackCode::MsgTooLong => "msg_too_long",
            SlackCode::AlreadyReacted => "already_reacted",
            SlackCode::InvalidName => "invalid_name",
            SlackCode::TooManyReactions => "too_many_reactions",
            SlackCode::UserNotFound => "user_not_found",
            SlackCode::InvalidArguments => "invalid_arguments",
            SlackCode::RestrictedAction => "restricted_action",
            SlackCode::Ratelimited => "ratelimited",
            SlackCode::ServerError(code) | SlackCode::Other(code) => code,
        }
    }
}

/// What went wrong and what to do about it, in one or two sentences.
fn explain(
    method: &str,
    code: &SlackCode,
    channel: Option<&str>,
    ts: Option<&str>,
    detail: Option<&str>,
    needed: Option<&str>,
) -> String {
    let ch = channel.unwrap_or("the channel");
    let ts = ts.unwrap_or("?");
    let detail = detail.map(|d| format!(": {d}")).unwrap_or_default();
    let c = code.as_str();
    match code {
        SlackCode::NotAuthed
        | SlackCode::InvalidAuth
        | SlackCode::TokenRevoked
        | SlackCode::TokenExpired
        | SlackCode::AccountInactive
        | SlackCode::NotAllowedTokenType => format!(
            "Slack rejected the bot token ({c}): SLACK_BOT_TOKEN must hold a valid bot token (xoxb-...). An operator must fix this; retrying will not help."
        ),
        SlackCode::MissingScope => format!(
            "the bot token lacks the OAuth scope {} that {method} needs; an operator must add it to the Slack app and reinstall it",
            needed.unwrap_or("(Slack did not say which)")
        ),
        SlackCode::NotInChannel => format!(
            "the bot is not a member of {ch}: invite the bot to {ch} (type /invite @<bot name> in the channel), then retry"
        ),
        SlackCode::ChannelNotFound => format!(
            "Slack has no channel {ch} that the bot can see (a private channel needs the bot invited); call list_channels for the channels you may use"
        ),
        SlackCode::IsArchived => {
            format!("{ch} is archived; post to another allowed channel (see list_channels)")
        }
        SlackCode::MessageNotFound => format!(
            "no message with ts {ts} in {ch}; take the ts from channel_history or from the result of the post"
        ),
        SlackCode::ThreadNotFound => format!(
            "no thread at ts {ts} in {ch}; thread_ts is the ts of the thread's first message (see channel_history)"
        ),
        SlackCode::CantUpdateMessage => format!(
            "the message {ts} in {ch} was not posted by this bot, and only the bot's own messages can be updated; reply in its thread instead"
        ),
        SlackCode::EditWindowClosed => format!(
            "the workspace no longer allows editing message {ts}; reply in its thread instead"
        ),
        SlackCode::InvalidBlocks => format!(
            "Slack rejected the blocks{detail}. Fix them (https://api.slack.com/block-kit), or send text alone"
        ),
        SlackCode::NoText => "the message is empty: give text".to_owned(),
        SlackCode::MsgTooLong => "the text is longer than Slack allows (40,000 characters); shorten it or split it into thread replies".to_owned(),
        SlackCode::AlreadyReacted => "the bot already added this reaction".to_owned(),
        SlackCode::InvalidName => "Slack knows no emoji by that name; use a standard name without colons, e.g. eyes, white_check_mark, rotating_light".to_owned(),
        SlackCode::TooManyReactions => "the message has as many reactions as Slack allows".to_owned(),
        SlackCode::UserNotFound => "Slack has no such user".to_owned(),
        SlackCode::InvalidArguments => format!("Slack refused the arguments of {method}{detail}"),
        SlackCode::RestrictedAction => format!(
            "the workspace does not let this bot do {method} in {ch} ({c}); ask an admin or use another channel"
        ),
        SlackCode::Ratelimited => format!("Slack is rate-limiting {method}; wait a minute and try again"),
        SlackCode::ServerError(_) => format!("Slack failed ({c}); try again in a minute"),
        SlackCode::Other(_) => format!("Slack refused {method} ({c}){detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: &str) -> SlackError {
        SlackError::Api(Box::new(ApiFailure {
            method: "chat.postMessage",
            code: SlackCode::parse(code),
            detail: None,
            needed: None,
            channel: None,
            ts: None,
        }))
    }

    #[test]
    fn codes_round_trip() {
        for code in [
            "not_in_channel",
            "channel_not_found",
            "invalid_blocks",
            "ratelimited",
            "missing_scope",
            "fatal_error",
            "something_new",
        ] {
            assert_eq!(SlackCode::parse(code).as_str(), code);
        }
    }

    #[test]
    fn errors_say_what_to_do() {
        let e = api("not_in_channel").about("#incidents (C0INCIDENTS)", None);
        assert_eq!(
            e.to_string(),
            "the bot is not a member of #incidents (C0INCIDENTS): invite the bot to #incidents (C0INCIDENTS) (type /invite @<bot name> in the channel), then retry"
        );
        let e = api("message_not_found").about("#ops", Some("1.000100"));
        assert!(
            e.to_string()
                .starts_with("no message with ts 1.000100 in #ops")
        );
        assert!(api("invalid_auth").to_string().contains("SLACK_BOT_TOKEN"));
        assert_eq!(
            api("something_new").to_string(),
            "Slack refused chat.postMessage (something_new)"
        );
        let e = SlackError::ChannelNotAllowed {
            channel: "#random".into(),
            allowed: vec!["#incidents (C0INCIDENTS)".into(), "#ops".into()],
        };
        assert_eq!(
            e.to_string(),
            "channel #random is not in this server's allow-list (--channels); allowed: #incidents (C0INCIDENTS), #ops. Use one of them."
        );
    }
}
