//! Jira's REST API (v3, or Data Center's v2): one request with the credentials and a
//! timeout; an error status becomes a [`JiraError`] quoting Jira's `errorMessages` and
//! `errors` and saying what to do. Bodies of text are written and read here in the form the
//! API takes: ADF for v3, wiki markup for v2.

use std::time::Duration;

use reqwest::{Method, Url};
use serde_json::Value;

use crate::config::{ApiVersion, Credentials};
use crate::error::{JiraError, JiraResult, fix_for};

/// The most bytes of an unexpected error body quoted in a message.
const QUOTE: usize = 300;

/// A Jira site.
#[derive(Debug, Clone)]
pub struct Jira {
    base: Url,
    http: reqwest::Client,
    credentials: Credentials,
    api: ApiVersion,
    timeout: Duration,
}

impl Jira {
    pub fn new(
        base: Url,
        credentials: Credentials,
        api: ApiVersion,
        timeout: Duration,
    ) -> JiraResult<Jira> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .user_agent(concat!("sopilot-mcp-jira/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| JiraError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Jira {
            base,
            http,
            credentials,
            api,
            timeout,
        })
    }

    /// The site's URL, for messages and links.
    pub fn url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// The REST API spoken.
    pub fn api(&self) -> ApiVersion {
        self.api
    }

    /// Markdown-ish text as this API takes a description or a comment body.
    pub fn body(&self, markdown: &str) -> Value {
        match self.api {
            ApiVersion::V3 => crate::adf::from_markdown(markdown),
            ApiVersion::V2 => Value::String(crate::wiki::from_markdown(markdown)),
        }
    }

    /// A description or comment body as text, whichever form the site answered in.
    pub fn text_of(body: &Value) -> Option<String> {
        match body {
            Value::String(s) => Some(s.clone()),
            Value::Object(_) => Some(crate::adf::to_text(body)),
            _ => None,
        }
    }

    fn endpoint(&self, path: &str, query: &[(&str, &str)]) -> JiraResult<Url> {
        let text = format!("{}/rest/api/{}/{path}", self.url(), self.api.number());
        let mut url = Url::parse(&text)
            .map_err(|e| JiraError::BadArgument(format!("bad URL {text}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// `GET /rest/api/N/PATH?query`; `what` says what for messages ("read OPS-1").
    pub async fn get(&self, path: &str, query: &[(&str, &str)], what: &str) -> JiraResult<Value> {
        let url = self.endpoint(path, query)?;
        self.send(self.http.request(Method::GET, url), what).await
    }

    /// `POST /rest/api/N/PATH` with a JSON body; `Value::Null` for a 204.
    pub async fn post(&self, path: &str, body: &Value, what: &str) -> JiraResult<Value> {
        let url = self.endpoint(path, &[])?;
        let req = self
            .http
            .request(Method::POST, url)
            .header("content-type", "application/json")
            .body(body.to_string());
        self.send(req, what).await
    }

    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> JiraResult<Value> {
        let req = req
            .header("authorization", self.credentials.header())
            .header("accept", "application/json");
        let resp = req.send().await.map_err(|e| self.transport(&e, what))?;
        let status = resp.status().as_u16();
        tracing::debug!(status, what, "jira request");
        let body = resp.bytes().await.map_err(|e| self.transport(&e, what))?;
        if (200..300).contains(&status) {
            if body.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&body).map_err(|e| JiraError::Jira {
                what: what.to_owned(),
                status,
                message: format!("the answer is not JSON ({e}); is JIRA_URL the site root, e.g. https://example.atlassian.net?"),
                fix: "",
            });
        }
        Err(JiraError::Jira {
            what: what.to_owned(),
            status,
            message: message_of(&body),
            fix: fix_for(status),
        })
    }

    fn transport(&self, e: &reqwest::Error, what: &str) -> JiraError {
        if e.is_timeout() {
            return JiraError::Timeout {
                url: self.url().to_owned(),
                what: what.to_owned(),
                seconds: self.timeout.as_secs(),
            };
        }
        let mut message = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            message = format!("{message}: {s}");
            source = s.source();
        }
        JiraError::Unreachable {
            url: self.url().to_owned(),
            what: what.to_owned(),
            message,
        }
    }
}

/// Jira's `ErrorCollection` as one sentence (`errorMessages`, then `field: message`), or the
/// start of a body that is not one.
fn message_of(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        let mut end = text.len().min(QUOTE);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        return text[..end].trim().to_owned();
    };
    let mut parts: Vec<String> = v["errorMessages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if let Some(fields) = v["errors"].as_object() {
        parts.extend(
            fields
                .iter()
                .map(|(k, m)| format!("{k}: {}", m.as_str().unwrap_or_default())),
        );
    }
    if parts.is_empty() {
        v.to_string()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_errors_become_one_sentence() {
        let b = br#"{"errorMessages": ["Issue does not exist"], "errors": {"summary": "You must specify a summary of the issue."}}"#;
        assert_eq!(
            message_of(b),
            "Issue does not exist; summary: You must specify a summary of the issue."
        );
        assert_eq!(
            message_of(b"<html>Bad gateway</html>"),
            "<html>Bad gateway</html>"
        );
    }
}
