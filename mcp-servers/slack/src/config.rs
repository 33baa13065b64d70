//! Configuration: the token from `SLACK_BOT_TOKEN` only, the base URL from `SLACK_API_URL`,
//! and the flags. The token never reaches a log, an error or a tool result.

use std::time::Duration;

use reqwest::Url;

use crate::error::SlackError;

/// Slack's Web API when `SLACK_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://slack.com/api/";

/// A bot token. `Debug` shows no part of it and there is no `Display`.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Checks the shape only (one word of visible ASCII); Slack checks the rest.
    pub fn new(value: String) -> Result<Token, SlackError> {
        let value = value.trim().to_owned();
        if value.is_empty() {
            return Err(SlackError::Token(
                "SLACK_BOT_TOKEN is empty: set it to the Slack app's bot token (xoxb-...)",
            ));
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(SlackError::Token(
                "SLACK_BOT_TOKEN holds spaces or characters a token cannot have: set it to the bot token alone (xoxb-...)",
            ));
        }
        Ok(Token(value))
    }

    /// The `Authorization` header value.
    pub(crate) fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token([REDACTED])")
    }
}

/// How 429s are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The longest `Retry-After` honoured; a longer one fails at once.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            max_wait: Duration::from_secs(20),
        }
    }
}

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
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(15),
        })
    }

    /// The token from `SLACK_BOT_TOKEN`, the base URL from `SLACK_API_URL`.
    pub fn from_env(allow_post: bool, channels: Vec<String>) -> Result<Config, SlackError> {
        let token = match std::env::var("SLACK_BOT_TOKEN") {
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
        let url = std::env::var("SLACK_API_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        Config::new(token, &url, allow_post, channels)
    }
}

/// Parses the base URL and makes sure it ends in `/`, so method names join onto it.
fn api_base(text: &str) -> Result<Url, SlackError> {
    let bad = |reason: &str| SlackError::ApiUrl {
        url: text.to_owned(),
        reason: reason.to_owned(),
    };
    let mut url = Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("use http:// or https://, e.g. https://slack.com/api/"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("give the base URL alone, without ?query or #fragment"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn base_urls_end_in_a_slash() {
        let url = |u: &str| api_base(u).map(|u| u.to_string());
        assert_eq!(
            url("http://127.0.0.1:9/api").ok().as_deref(),
            Some("http://127.0.0.1:9/api/")
        );
        assert_eq!(
            url("https://slack.com/api/").ok().as_deref(),
            Some("https://slack.com/api/")
        );
        assert!(url("ftp://x/api/").is_err());
        assert!(url("not a url").is_err());
        assert!(url("http://x/api/?a=b").is_err());
    }

    #[test]
    fn posting_needs_an_allow_list() {
        let e = Config::new(token(), DEFAULT_API_URL, true, vec![" ".into()]);
        assert!(matches!(e, Err(SlackError::Usage(_))));
        assert!(Config::new(token(), DEFAULT_API_URL, true, vec!["#incidents".into()]).is_ok());
    }
}
