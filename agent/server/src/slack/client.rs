//! The few Slack Web API methods the bot uses, over reqwest, with a timeout on every call.
//!
//! A Slack message is only a view of a record, so callers log these errors and go on: Slack
//! being slow or down never blocks or fails a run.

use std::time::Duration;

use serde_json::{Value, json};

/// Slack's Web API base when `SLACK_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://slack.com/api/";
/// The longest one Web API call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a 429's `Retry-After` is honoured before giving up on the call.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(15);
/// Rate-limited calls are tried this many times in all.
const ATTEMPTS: u32 = 3;

/// A failed Web API call.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("slack {method}: {source}")]
    Http {
        method: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("slack {method}: HTTP {status}")]
    Status { method: String, status: u16 },
    #[error("slack {method}: {code}")]
    Api { method: String, code: String },
    #[error("slack {method}: still rate limited after {ATTEMPTS} attempts")]
    RateLimited { method: String },
}

/// Where a message is: its channel id and timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
}

/// A Slack Web API client for one bot token.
#[derive(Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl SlackClient {
    /// A client of the Web API at `base` (ending in `/api/`) with `token`.
    pub fn new(base: &str, token: &str) -> Result<SlackClient, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        let mut base = base.to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(SlackClient {
            http,
            base,
            token: token.to_owned(),
        })
    }

    /// Calls a method with a JSON body (the write methods) or a form (the read methods);
    /// waits out 429s within limits; returns the answer when `ok` is true.
    async fn call(&self, method: &str, args: Value, json_body: bool) -> Result<Value, SlackError> {
        let url = format!("{}{method}", self.base);
        let http_err = |source| SlackError::Http {
            method: method.to_owned(),
            source,
        };
        for _ in 0..ATTEMPTS {
            let req = self.http.post(&url).bearer_auth(&self.token);
            let req = if json_body {
                req.json(&args)
            } else {
                let mut form = form_urlencoded::Serializer::new(String::new());
                for (k, v) in args.as_object().into_iter().flatten() {
                    form.append_pair(k, &v.as_str().map_or_else(|| v.to_string(), str::to_owned));
                }
                req.header("content-type", "application/x-www-form-urlencoded")
                    .body(form.finish())
            };
            let resp = req.send().await.map_err(http_err)?;
            let status = resp.status().as_u16();
            if status == 429 {
                let wait = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map_or(Duration::from_secs(1), Duration::from_secs);
                tracing::warn!(
                    "slack {method}: rate limited; retrying in {} s",
                    wait.as_secs()
                );
                tokio::time::sleep(wait.min(MAX_RETRY_AFTER)).await;
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(SlackError::Status {
                    method: method.to_owned(),
                    status,
                });
            }
            let body: Value = resp.json().await.map_err(http_err)?;
            if body.get("ok").and_then(Value::as_bool) == Some(true) {
                return Ok(body);
            }
            return Err(SlackError::Api {
                method: method.to_owned(),
                code: body
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown_error")
                    .to_owned(),
            });
        }
        Err(SlackError::RateLimited {
            method: method.to_owned(),
        })
    }

    /// `chat.postMessage`, in a thread when `thread_ts` is set.
    pub async fn post_message(
        &self,
        channel: &str,
        text: &str,
        blocks: Option<&Value>,
        thread_ts: Option<&str>,
    ) -> Result<Posted, SlackError> {
        let mut args = json!({"channel": channel, "text": text, "unfurl_links": false});
        if let Some(b) = blocks {
            args["blocks"] = b.clone();
        }
        if let Some(t) = thread_ts {
            args["thread_ts"] = json!(t);
        }
        let v = self.call("chat.postMessage", args, true).await?;
        Ok(Posted {
            channel: v
                .get("channel")
                .and_then(Value::as_str)
                .unwrap_or(channel)
                .to_owned(),
            ts: v
                .get("ts")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        })
    }

    /// `chat.update` of a message the bot posted.
    pub async fn update(
        &self,
        at: &Posted,
        text: &str,
        blocks: Option<&Value>,
    ) -> Result<(), SlackError> {
        let mut args = json!({"channel": at.channel, "ts": at.ts, "text": text});
        if let Some(b) = blocks {
            args["blocks"] = b.clone();
        }
        self.call("chat.update", args, true).await.map(|_| ())
    }

    /// `chat.postEphemeral`: a message only `user` sees.
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        text: &str,
        thread_ts: Option<&str>,
    ) -> Result<(), SlackError> {
        let mut args = json!({"channel": channel, "user": user, "text": text});
        if let Some(t) = thread_ts {
            args["thread_ts"] = json!(t);
        }
        self.call("chat.postEphemeral", args, true)
            .await
            .map(|_| ())
    }

    /// `usergroups.users.list`: the members of a user group (`S…`).
    pub async fn usergroup_members(&self, group: &str) -> Result<Vec<String>, SlackError> {
        let v = self
            .call("usergroups.users.list", json!({"usergroup": group}), false)
            .await?;
        Ok(v.get("users")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Answers through an interaction's `response_url` (an ephemeral reply by default).
    pub async fn respond(&self, response_url: &str, body: &Value) -> Result<(), SlackError> {
        let resp = self
            .http
            .post(response_url)
            .json(body)
            .send()
            .await
            .map_err(|source| SlackError::Http {
                method: "response_url".into(),
                source,
            })?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(SlackError::Status {
                method: "response_url".into(),
                status: resp.status().as_u16(),
            })
        }
    }
}
