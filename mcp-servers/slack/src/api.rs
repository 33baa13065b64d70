//! Calling the Web API: read methods as GET with query arguments, write methods as POST with
//! a JSON body (what Slack accepts for each), `Authorization: Bearer`, a timeout on every
//! request, and 429s retried after `Retry-After` within a bound.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde_json::Value;

use crate::config::{Config, RetryPolicy, Token};
use crate::error::{ApiFailure, SlackCode, SlackError};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The arguments of a call.
#[derive(Debug, Clone)]
pub enum Args {
    /// A read method: GET with these query arguments.
    Query(Vec<(&'static str, String)>),
    /// A write method: POST with this JSON object.
    Json(Value),
}

/// A Slack Web API client.
#[derive(Clone)]
pub struct SlackApi {
    http: reqwest::Client,
    base: Url,
    token: Token,
    retry: RetryPolicy,
    timeout: Duration,
}

impl std::fmt::Debug for SlackApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackApi")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl SlackApi {
    /// A client for the configured base URL and token.
    pub fn new(config: &Config) -> Result<SlackApi, SlackError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(config.request_timeout)
            .user_agent(concat!("mcp-slack/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SlackError::Client(e.to_string()))?;
        Ok(SlackApi {
            http,
            base: config.api_url.clone(),
            token: config.token.clone(),
            retry: config.retry,
            timeout: config.request_timeout,
        })
    }

    /// Calls `method`; `ok: true` bodies come back whole, everything else is a [`SlackError`].
    pub async fn call(&self, method: &'static str, args: Args) -> Result<Value, SlackError> {
        let url = self.base.join(method).map_err(|e| SlackError::Transport {
            method,
            message: e.to_string(),
        })?;
        let mut auth = HeaderValue::from_str(&self.token.bearer())
            .map_err(|_| SlackError::Token("SLACK_BOT_TOKEN cannot be sent in an HTTP header"))?;
        auth.set_sensitive(true);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let request = match &args {
                Args::Query(pairs) => {
                    let mut with_query = url.clone();
                    if !pairs.is_empty() {
                        with_query
                            .query_pairs_mut()
                            .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
                    }
                    self.http.get(with_query)
                }
                // Slack asks for the charset; without it, it answers with a warning.
                Args::Json(body) => self
                    .http
                    .post(url.clone())
                    .header(CONTENT_TYPE, "application/json; charset=utf-8")
                    .body(body.to_string()),
            };
            let sent = request.header(AUTHORIZATION, auth.clone()).send().await;
            let response = match sent {
                Ok(r) => r,
                Err(e) if e.is_timeout() => {
                    return Err(SlackError::Timeout {
                        method,
                        seconds: self.timeout.as_secs(),
                    });
                }
                // Nothing reached Slack, so trying again cannot post twice.
                Err(e) if e.is_connect() && attempt <= self.retry.max_retries => {
                    tracing::debug!(method, attempt, "connect failed; retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(e) => {
                    return Err(SlackError::Transport {
                        method,
                        message: e.without_url().to_string(),
                    });
                }
            };
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                let delay = wait.map_or_else(|| backoff(attempt), Duration::from_secs);
                if attempt > self.retry.max_retries || delay > self.retry.max_wait {
                    return Err(SlackError::RateLimited {
                        method,
                        attempts: attempt,
                        retry_after: wait,
                    });
                }
                tracing::info!(
                    method,
                    attempt,
                    wait_seconds = delay.as_secs_f64(),
                    "Slack answered 429; waiting as asked"
                );
                tokio::time::sleep(delay).await;
                continue;
            }
            // Reads are safe to repeat after a server error; a post might have gone through.
            if status.is_server_error()
                && matches!(args, Args::Query(_))
                && attempt <= self.retry.max_retries
            {
                tracing::debug!(method, attempt, %status, "server error; retrying");
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            if status != StatusCode::OK {
                let hint = match status {
                    StatusCode::NOT_FOUND => {
                        " (unknown method, or SLACK_API_URL does not end in /api/)"
                    }
                    _ => "",
                };
                return Err(SlackError::Http {
                    method,
                    status: status.as_u16(),
                    hint,
                });
            }
            let body: Value = response.json().await.map_err(|e| {
                if e.is_timeout() {
                    SlackError::Timeout {
                        method,
                        seconds: self.timeout.as_secs(),
                    }
                } else {
                    SlackError::Transport {
                        method,
                        message: format!("the answer is not Slack's JSON: {}", e.without_url()),
                    }
                }
            })?;
            return check(method, body);
        }
    }
}

/// 0.5 s, 1 s, 2 s, ... capped at 8 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.saturating_sub(1).min(4)))
}

/// The body when `ok` is true; otherwise the error Slack named.
fn check(method: &'static str, body: Value) -> Result<Value, SlackError> {
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
    Err(SlackError::Api(Box::new(ApiFailure {
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
            Err(SlackError::Api(f)) => {
                assert_eq!(f.code, SlackCode::InvalidBlocks);
                assert_eq!(f.detail.as_deref(), Some("[ERROR] a; [ERROR] b"));
            }
            other => panic!("{other:?}"),
        }
        assert!(check("auth.test", json!({"ok": true})).is_ok());
        let e = check("auth.test", json!({"nonsense": 1}));
        assert!(matches!(
            e.as_ref().err().and_then(SlackError::code),
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
