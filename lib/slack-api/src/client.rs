//! Calling the Web API: read methods as GET with query arguments, write methods as POST with
//! a JSON body (what Slack accepts for each), `Authorization: Bearer`, a timeout on every
//! request, and retries within [`RetryPolicy`](crate::RetryPolicy) bounds: 429s after
//! `Retry-After`, connections that failed (nothing reached Slack), server errors on reads
//! (safe to repeat; a post might have gone through, so writes are not repeated).

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde_json::Value;

use crate::config::{Options, Token, api_base};
use crate::error::{ApiFailure, Error, SlackCode};

/// Slack asks for the charset; without it, it answers with a warning.
const JSON: &str = "application/json; charset=utf-8";

/// The arguments of a call.
#[derive(Debug, Clone)]
pub enum Args {
    /// A read method: GET with these query arguments.
    Query(Vec<(&'static str, String)>),
    /// A write method: POST with this JSON object.
    Json(Value),
}

/// A Slack Web API client for one bot token; cheap to clone.
#[derive(Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    base: Url,
    /// `Bearer …`, marked sensitive so no HTTP log shows it.
    auth: HeaderValue,
    options: Options,
}

impl std::fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// What one attempt came to, when it did not fail for good.
enum Attempt {
    Answered(Value),
    RetryAfter(Duration),
}

impl SlackClient {
    /// A client of the Web API at `base` (`https://slack.com/api/`; a missing final `/` is
    /// added) with `token`, and the default [`Options`].
    pub fn new(base: &str, token: &str) -> Result<SlackClient, Error> {
        SlackClient::with_options(
            api_base(base)?,
            Token::new(token.to_owned())?,
            Options::default(),
        )
    }

    /// A client of the Web API at `base` (see [`api_base`]) with `token` and `options`.
    pub fn with_options(base: Url, token: Token, options: Options) -> Result<SlackClient, Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .user_agent(options.user_agent.as_str())
            .build()
            .map_err(|e| Error::Client(e.to_string()))?;
        let mut auth = HeaderValue::from_str(&token.bearer())
            .map_err(|_| Error::Token("SLACK_BOT_TOKEN cannot be sent in an HTTP header"))?;
        auth.set_sensitive(true);
        Ok(SlackClient {
            http,
            base,
            auth,
            options,
        })
    }

    /// The Web API base, ending in `/`.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// Calls `method`; `ok: true` bodies come back whole, everything else is an [`Error`].
    pub async fn call(&self, method: &'static str, args: Args) -> Result<Value, Error> {
        let url = self.base.join(method).map_err(|e| Error::Transport {
            method,
            message: e.to_string(),
        })?;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            match self.attempt(method, &url, &args, attempt).await? {
                Attempt::Answered(body) => return Ok(body),
                Attempt::RetryAfter(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// One request and what its answer means.
    async fn attempt(
        &self,
        method: &'static str,
        url: &Url,
        args: &Args,
        attempt: u32,
    ) -> Result<Attempt, Error> {
        let retries_left = attempt <= self.options.retry.max_retries;
        let response = match self.request(url, args).send().await {
            Ok(r) => r,
            // Nothing reached Slack, so trying again cannot post twice.
            Err(e) if e.is_connect() && !e.is_timeout() && retries_left => {
                tracing::debug!(method, attempt, "connect failed; retrying");
                return Ok(Attempt::RetryAfter(backoff(attempt)));
            }
            Err(e) => return Err(self.unanswered(method, e)),
        };
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            return self
                .rate_limited(method, attempt, response.headers())
                .map(Attempt::RetryAfter);
        }
        if status.is_server_error() && matches!(args, Args::Query(_)) && retries_left {
            tracing::debug!(method, attempt, %status, "server error; retrying");
            return Ok(Attempt::RetryAfter(backoff(attempt)));
        }
        if status != StatusCode::OK {
            let hint = match status {
                StatusCode::NOT_FOUND => {
                    " (unknown method, or SLACK_API_URL does not end in /api/)"
                }
                _ => "",
            };
            return Err(Error::Http {
                method,
                status: status.as_u16(),
                hint,
            });
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.unanswered(method, e))?;
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| Error::Transport {
            method,
            message: format!("the answer is not Slack's JSON: {e}"),
        })?;
        check(method, body).map(Attempt::Answered)
    }

    fn request(&self, url: &Url, args: &Args) -> reqwest::RequestBuilder {
        let request = match args {
            Args::Query(pairs) => {
                let mut with_query = url.clone();
                if !pairs.is_empty() {
                    with_query
                        .query_pairs_mut()
                        .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
                }
                self.http.get(with_query)
            }
            Args::Json(body) => self
                .http
                .post(url.clone())
                .header(CONTENT_TYPE, JSON)
                .body(body.to_string()),
        };
        request.header(AUTHORIZATION, self.auth.clone())
    }

    /// How long to wait before the next attempt after a 429, or the error when the policy
    /// allows no more: too many attempts, or a wait longer than it sits through.
    fn rate_limited(
        &self,
        method: &'static str,
        attempt: u32,
        headers: &HeaderMap,
    ) -> Result<Duration, Error> {
        let asked = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let delay = asked.map_or_else(|| backoff(attempt), Duration::from_secs);
        let retry = self.options.retry;
        if attempt > retry.max_retries || delay > retry.max_wait {
            return Err(Error::RateLimited {
                method,
                attempts: attempt,
                retry_after: asked,
            });
        }
        tracing::info!(
            method,
            attempt,
            wait_seconds = delay.as_secs_f64(),
            "Slack answered 429; waiting as asked"
        );
        Ok(delay)
    }

    /// A request that got no usable answer: its deadline passed, or the connection failed.
    /// The URL is left out (a `response_url` is a credential of sorts).
    fn unanswered(&self, method: &'static str, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            Error::Timeout {
                method,
                seconds: self.options.request_timeout.as_secs(),
            }
        } else {
            Error::Transport {
                method,
                message: e.without_url().to_string(),
            }
        }
    }

    /// Posts `body` to an interaction's `response_url` (Slack's `hooks.slack.com`): no
    /// token, no retries; any 2xx is success (Slack answers `ok` as plain text).
    pub async fn respond(&self, response_url: &str, body: &Value) -> Result<(), Error> {
        const METHOD: &str = "response_url";
        let response = self
            .http
            .post(response_url)
            .header(CONTENT_TYPE, JSON)
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| self.unanswered(METHOD, e))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(Error::Http {
                method: METHOD,
                status: response.status().as_u16(),
                hint: "",
            })
        }
    }
}

/// 0.5 s, 1 s, 2 s, ... capped at 8 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.saturating_sub(1).min(4)))
}

/// The body when `ok` is true; otherwise the error Slack named.
fn check(method: &'static str, body: Value) -> Result<Value, Error> {
    if body.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(body);
    }
    let code = body
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("unknown_error");
    let detail = body
        .pointer("/response_metadata/messages")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|d| !d.is_empty());
    Err(Error::Api(Box::new(ApiFailure {
        method,
        code: SlackCode::parse(code),
        detail,
        needed: body
            .get("needed")
            .and_then(Value::as_str)
            .map(str::to_owned),
        channel: None,
        ts: None,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ok_false_becomes_a_coded_error() {
        let e = check(
            "chat.postMessage",
            json!({"ok": false, "error": "invalid_blocks", "response_metadata": {"messages": ["[ERROR] a", "[ERROR] b"]}}),
        );
        match e {
            Err(Error::Api(f)) => {
                assert_eq!(f.code, SlackCode::InvalidBlocks);
                assert_eq!(f.detail.as_deref(), Some("[ERROR] a; [ERROR] b"));
            }
            other => panic!("{other:?}"),
        }
        assert!(check("auth.test", json!({"ok": true})).is_ok());
        let e = check("auth.test", json!({"nonsense": 1}));
        assert!(matches!(
            e.as_ref().err().and_then(Error::code),
            Some(SlackCode::Other(_))
        ));
    }

    #[test]
    fn backoff_grows_and_stops() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(30), Duration::from_secs(8));
    }
}
