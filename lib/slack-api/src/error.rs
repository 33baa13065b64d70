//! Failed calls, as messages an SRE (or a model) can act on. Slack's error codes are a
//! protocol field, parsed into [`SlackCode`] and explained by an exhaustive match.

/// Why a Web API call (or building the client) failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bot token is empty or unusable (its value is never shown).
    #[error("{0}")]
    Token(&'static str),
    /// The base URL is not an http(s) URL.
    #[error("SLACK_API_URL {url:?} is not usable: {reason}")]
    ApiUrl { url: String, reason: String },
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// Slack answered `ok: false`.
    #[error("{}", .0.explain())]
    Api(Box<ApiFailure>),
    /// Slack kept answering 429, or asked for a longer wait than the retry policy allows.
    #[error("Slack is rate-limiting {method}: still refused after {attempts} attempts{}", .retry_after.map(|s| format!(" (it asks to wait {s} s)")).unwrap_or_default())]
    RateLimited {
        method: &'static str,
        attempts: u32,
        /// The last `Retry-After`, in seconds, when Slack gave one.
        retry_after: Option<u64>,
    },
    /// An HTTP status that is not Slack's (a proxy, a wrong URL).
    #[error("the Slack API answered HTTP {status} to {method}{hint}")]
    Http {
        method: &'static str,
        status: u16,
        hint: &'static str,
    },
    /// The request took longer than its deadline.
    #[error("Slack did not answer {method} within {seconds} s; try again shortly")]
    Timeout { method: &'static str, seconds: u64 },
    /// Slack could not be reached, or answered something that is not its JSON.
    #[error("cannot reach the Slack API for {method}: {message}")]
    Transport {
        method: &'static str,
        message: String,
    },
}

impl Error {
    /// The Slack error code, when Slack answered `ok: false`.
    pub fn code(&self) -> Option<&SlackCode> {
        match self {
            Error::Api(failure) => Some(&failure.code),
            Error::Token(_)
            | Error::ApiUrl { .. }
            | Error::Client(_)
            | Error::RateLimited { .. }
            | Error::Http { .. }
            | Error::Timeout { .. }
            | Error::Transport { .. } => None,
        }
    }

    /// Names the channel (as people know it, `#incidents (C0INCIDENTS)`) and the message a
    /// refusal was about, for the explanation.
    pub fn about(mut self, channel: &str, message_ts: Option<&str>) -> Self {
        if let Error::Api(failure) = &mut self {
            failure.channel = Some(channel.to_owned());
            failure.ts = message_ts.map(str::to_owned);
        }
        self
    }
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
    /// The channel as people know it, once the caller says ([`Error::about`]).
    pub channel: Option<String>,
    /// The message the call was about.
    pub ts: Option<String>,
}

impl ApiFailure {
    /// What went wrong and what to do about it, in one or two sentences.
    pub fn explain(&self) -> String {
        let method = self.method;
        let ch = self.channel.as_deref().unwrap_or("the channel");
        let ts = self.ts.as_deref().unwrap_or("?");
        let detail = self
            .detail
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        let c = self.code.as_str();
        match &self.code {
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
                self.needed.as_deref().unwrap_or("(Slack did not say which)")
            ),
            SlackCode::NotInChannel => format!(
                "the bot is not a member of {ch}: invite the bot to {ch} (type /invite @<bot name> in the channel), then retry"
            ),
            SlackCode::ChannelNotFound => format!(
                "Slack has no channel {ch} that the bot can see (a private channel needs the bot invited)"
            ),
            SlackCode::IsArchived => format!("{ch} is archived; post to another channel"),
            SlackCode::MessageNotFound => format!("no message with ts {ts} in {ch}"),
            SlackCode::ThreadNotFound => format!(
                "no thread at ts {ts} in {ch}; thread_ts is the ts of the thread's first message"
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
}

/// The Slack error codes this crate explains; the rest keep their text.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: &str) -> Error {
        Error::Api(Box::new(ApiFailure {
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
        assert_eq!(e.to_string(), "no message with ts 1.000100 in #ops");
        assert!(api("invalid_auth").to_string().contains("SLACK_BOT_TOKEN"));
        assert_eq!(
            api("something_new").to_string(),
            "Slack refused chat.postMessage (something_new)"
        );
        assert_eq!(api("no_text").code(), Some(&SlackCode::NoText));
        let e = Error::RateLimited {
            method: "chat.update",
            attempts: 3,
            retry_after: Some(2),
        };
        assert_eq!(
            e.to_string(),
            "Slack is rate-limiting chat.update: still refused after 3 attempts (it asks to wait 2 s)"
        );
        assert_eq!(e.code(), None);
    }
}
