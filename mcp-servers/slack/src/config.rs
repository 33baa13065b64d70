//! Configuration: the token from `SLACK_BOT_TOKEN` only, the base URL from `SLACK_API_URL`,
//! and the flags. The token never reaches a log, an error or a tool result (the Web API
//! client's [`Token`] shows none of it).

use std::time::Duration;

use sopilot_slack_api::{Options, RetryPolicy, TOKEN_ENV, Token, Url, api_base, api_url_from_env};

use crate::error::SlackError;

/// 429s: three retries, waiting at most 20 s between two.
const RETRY: RetryPolicy = RetryPolicy {
    max_retries: 3,
    max_wait: Duration::from_secs(20),
};
/// The deadline of one HTTP request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Everything the server needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub token: Token,
    /// The Web API base, ending in `/` (`https://slack.com/api/`).
    pub api_url: Url,
    /// Whether the posting tools are offered.
    pub allow_post: bool,
    /// Channel ids or names (`#` optional); empty means every channel the bot can see, for
    /// reading only.
    pub channels: Vec<String>,
    pub retry: RetryPolicy,
    /// The deadline of one HTTP request.
    pub request_timeout: Duration,
}

impl Config {
    /// A configuration; `--allow-post` needs an allow-list.
    pub fn new(
        token: Token,
        api_url: &str,
        allow_post: bool,
        channels: Vec<String>,
    ) -> Result<Config, SlackError> {
        let channels: Vec<String> = channels
            .into_iter()
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect();
        if allow_post && channels.is_empty() {
            return Err(SlackError::Usage(
                "--allow-post needs --channels: name the channels the bot may post to, e.g. --channels '#incidents,C0123ABCD'".into(),
            ));
        }
        Ok(Config {
            token,
            api_url: api_base(api_url)?,
            allow_post,
            channels,
            retry: RETRY,
            request_timeout: REQUEST_TIMEOUT,
        })
    }

    /// How the Web API client calls Slack for this server.
    pub fn client_options(&self) -> Options {
        Options {
            request_timeout: self.request_timeout,
            retry: self.retry,
            user_agent: concat!("mcp-slack/", env!("CARGO_PKG_VERSION")).to_owned(),
            ..Options::default()
        }
    }

    /// The token from `SLACK_BOT_TOKEN`, the base URL from `SLACK_API_URL`.
    pub fn from_env(allow_post: bool, channels: Vec<String>) -> Result<Config, SlackError> {
        let token = match std::env::var(TOKEN_ENV) {
            Ok(v) => Token::new(v)?,
            Err(std::env::VarError::NotPresent) => {
                return Err(SlackError::Token(
                    "SLACK_BOT_TOKEN is not set: export the Slack app's bot token (xoxb-...) in mcp-slack's environment (it is never taken from a flag)",
                ));
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(SlackError::Token(
                    "SLACK_BOT_TOKEN is not valid UTF-8: set it to the bot token (xoxb-...)",
                ));
            }
        };
        Config::new(token, &api_url_from_env(), allow_post, channels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sopilot_slack_api::DEFAULT_API_URL;

    fn token() -> Token {
        Token::new("xoxb-1234567890-secret".into()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn token_never_shows() {
        let t = token();
        assert_eq!(format!("{t:?}"), "Token([REDACTED])");
        let c = Config::new(t, "http://127.0.0.1:1/api", false, vec![]);
        let c = c.unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{c:?}").contains("secret"));
        assert!(Token::new("  ".into()).is_err());
        assert!(Token::new("xoxb-a b".into()).is_err());
    }

    #[test]
    fn posting_needs_an_allow_list() {
        let e = Config::new(token(), DEFAULT_API_URL, true, vec![" ".into()]);
        assert!(matches!(e, Err(SlackError::Usage(_))));
        assert!(Config::new(token(), DEFAULT_API_URL, true, vec!["#incidents".into()]).is_ok());
    }
}
