//! Failures, as messages a model (and an SRE) can act on. The Web API client's errors
//! (`sopilot-slack-api`: Slack's codes parsed and explained, 429s, timeouts) come through
//! [`From`]; refusals about channels and messages get this server's advice on which tool to
//! use instead.

use std::time::Duration;

use rmcp::model::CallToolResult;
use sopilot_mcp_common::{Failure, redact, tool_error};
pub use sopilot_slack_api::{ApiFailure, Error as ApiError, SlackCode};

/// Why `mcp-slack` could not start, or a tool could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// `SLACK_BOT_TOKEN` is missing or unusable (its value is never shown).
    #[error("{0}")]
    Token(&'static str),
    /// Flags that contradict each other.
    #[error("{0}")]
    Usage(String),
    /// The Web API client: its configuration, or a call that got no answer Slack meant
    /// (HTTP status, timeout, transport). Slack's refusals and rate limits are below.
    #[error(transparent)]
    Client(ApiError),
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
    #[error("{}", explain(.0))]
    Api(Box<ApiFailure>),
    /// Slack kept answering 429.
    #[error("Slack is rate-limiting {method}: still refused after {attempts} attempts{}. Wait a minute before posting again, and post fewer, larger updates (one report, then thread replies).", .retry_after.map(|s| format!(" (it asks to wait {s} s)")).unwrap_or_default())]
    RateLimited {
        method: &'static str,
        attempts: u32,
        retry_after: Option<u64>,
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

impl Failure for SlackError {
    fn timed_out(limit: Duration) -> Self {
        SlackError::ToolTimeout(limit.as_secs())
    }

    /// As an MCP tool error (the model sees the message, credentials masked).
    fn into_result(self) -> CallToolResult {
        tool_error(redact(&self.to_string()).into_owned())
    }
}

impl From<ApiError> for SlackError {
    /// Slack's refusals and rate limits keep their own variants, explained for a model.
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Api(failure) => SlackError::Api(failure),
            ApiError::RateLimited {
                method,
                attempts,
                retry_after,
            } => SlackError::RateLimited {
                method,
                attempts,
                retry_after,
            },
            other => SlackError::Client(other),
        }
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
            | SlackError::Usage(_)
            | SlackError::Client(_)
            | SlackError::BadArgument(_)
            | SlackError::ChannelNotAllowed { .. }
            | SlackError::UnknownChannel { .. }
            | SlackError::RateLimited { .. }
            | SlackError::Interactive { .. }
            | SlackError::FetchesUrl { .. }
            | SlackError::NotOwnMessage { .. }
            | SlackError::InteractiveTarget { .. }
            | SlackError::NoSuchMessage { .. }
            | SlackError::ToolTimeout(_) => None,
        }
    }
}

/// The client's explanation, with the tool to turn to where one helps.
fn explain(failure: &ApiFailure) -> String {
    let general = failure.explain();
    match failure.code {
        SlackCode::ChannelNotFound => {
            format!("{general}; call list_channels for the channels you may use")
        }
        SlackCode::IsArchived => format!(
            "{} is archived; post to another allowed channel (see list_channels)",
            failure.channel.as_deref().unwrap_or("the channel")
        ),
        SlackCode::MessageNotFound => {
            format!("{general}; take the ts from channel_history or from the result of the post")
        }
        SlackCode::ThreadNotFound => format!("{general} (see channel_history)"),
        _ => general,
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

    #[test]
    fn channel_and_message_refusals_name_the_tool_to_use() {
        let at = |code: &str| {
            api(code)
                .about("#ops (C0OPS)", Some("1.000100"))
                .to_string()
        };
        assert_eq!(
            at("channel_not_found"),
            "Slack has no channel #ops (C0OPS) that the bot can see (a private channel needs the bot invited); call list_channels for the channels you may use"
        );
        assert_eq!(
            at("is_archived"),
            "#ops (C0OPS) is archived; post to another allowed channel (see list_channels)"
        );
        assert_eq!(
            at("message_not_found"),
            "no message with ts 1.000100 in #ops (C0OPS); take the ts from channel_history or from the result of the post"
        );
        assert_eq!(
            at("thread_not_found"),
            "no thread at ts 1.000100 in #ops (C0OPS); thread_ts is the ts of the thread's first message (see channel_history)"
        );
    }

    #[test]
    fn rate_limits_advise_fewer_posts_and_client_errors_pass_through() {
        let e = SlackError::from(ApiError::RateLimited {
            method: "chat.postMessage",
            attempts: 4,
            retry_after: Some(0),
        });
        assert_eq!(
            e.to_string(),
            "Slack is rate-limiting chat.postMessage: still refused after 4 attempts (it asks to wait 0 s). Wait a minute before posting again, and post fewer, larger updates (one report, then thread replies)."
        );
        let e = SlackError::from(ApiError::Timeout {
            method: "conversations.history",
            seconds: 15,
        });
        assert_eq!(
            e.to_string(),
            "Slack did not answer conversations.history within 15 s; try again shortly"
        );
        assert_eq!(e.code(), None);
    }
}
