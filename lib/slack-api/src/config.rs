//! Where the client talks and how: the base URL (`SLACK_API_URL`, Slack's by default), the
//! bot token, timeouts and the bounds of 429 retries.

use std::time::Duration;

use reqwest::Url;

use crate::error::Error;

/// Slack's Web API when `SLACK_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://slack.com/api/";
/// The variable that points the client at another Web API (the simulator in tests).
pub const API_URL_ENV: &str = "SLACK_API_URL";
/// The variable that holds the bot token.
pub const TOKEN_ENV: &str = "SLACK_BOT_TOKEN";

/// `SLACK_API_URL` when set and not blank, else [`DEFAULT_API_URL`].
pub fn api_url_from_env() -> String {
    std::env::var(API_URL_ENV)
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_API_URL.to_owned())
}

/// A bot token. `Debug` shows no part of it and there is no `Display`.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Checks the shape only (one word of visible ASCII, surrounding blanks dropped); Slack
    /// checks the rest.
    pub fn new(value: String) -> Result<Token, Error> {
        let value = value.trim().to_owned();
        if value.is_empty() {
            return Err(Error::Token(
                "SLACK_BOT_TOKEN is empty: set it to the Slack app's bot token (xoxb-...)",
            ));
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Token(
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

/// How 429s (and failed connections, and server errors on reads) are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The longest `Retry-After` honoured; a longer one fails at once.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts in all, waiting at most 15 s between two.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            max_wait: Duration::from_secs(15),
        }
    }
}

/// How the client calls: deadlines, retries, and the `User-Agent` it names itself by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The deadline of one HTTP request, its answer included.
    pub request_timeout: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    pub user_agent: String,
}

impl Default for Options {
    /// 10 s a request, 5 s to connect, [`RetryPolicy::default`], `sopilot/VERSION`.
    fn default() -> Self {
        Options {
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            user_agent: concat!("sopilot/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// Parses the Web API base URL and makes sure it ends in `/`, so method names join onto it.
pub fn api_base(text: &str) -> Result<Url, Error> {
    let bad = |reason: &str| Error::ApiUrl {
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

    #[test]
    fn token_never_shows() {
        let t = Token::new(" xoxb-1234567890-secret\n".into()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(format!("{t:?}"), "Token([REDACTED])");
        assert_eq!(t.bearer(), "Bearer xoxb-1234567890-secret");
        assert!(Token::new("  ".into()).is_err());
        assert!(Token::new("xoxb-a b".into()).is_err());
        assert!(Token::new("xoxb-é".into()).is_err());
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
        let e = url("http://x/api/?a=b").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some(
                "SLACK_API_URL \"http://x/api/?a=b\" is not usable: give the base URL alone, without ?query or #fragment"
            )
        );
    }
}
