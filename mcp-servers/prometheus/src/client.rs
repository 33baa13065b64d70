//! The Prometheus HTTP API (`/api/v1/...`): one request with the configured authentication
//! and a timeout, its `{status, data, errorType, error, warnings}` envelope turned into the
//! data or a [`ToolFailure`] naming the query and the fix. Parameters are percent-encoded
//! here (spaces as `%20`, never `+`), so what is signed is exactly what is sent.

use std::time::Duration;

use reqwest::{Method, Url};
use serde_json::Value;

use crate::auth::Auth;
use crate::error::{ToolFailure, ToolResult};

/// The most bytes of an error body quoted in a message.
const QUOTE: usize = 300;

/// A Prometheus server (or an Amazon Managed Prometheus workspace).
#[derive(Debug, Clone)]
pub struct Prom {
    base: Url,
    http: reqwest::Client,
    auth: Auth,
    timeout: Duration,
}

/// What a successful call returned.
#[derive(Debug, Clone)]
pub struct Answer {
    pub data: Value,
    /// Prometheus's warnings (e.g. a partial answer), said to the reader.
    pub warnings: Vec<String>,
}

/// One call: the endpoint under `/api/v1/`, its parameters, and for messages what is asked
/// (`the query `up``) and the PromQL when there is one.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub path: &'a str,
    pub params: &'a [(&'a str, String)],
    pub what: &'a str,
    pub query: Option<&'a str>,
}

impl Prom {
    /// A client for the server at `base` (its root: the part before `/api/v1`), each request
    /// bounded by `timeout`.
    pub fn new(base: Url, auth: Auth, timeout: Duration) -> Result<Prom, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .user_agent(concat!(
                "sopilot-mcp-prometheus/",
                env!("CARGO_PKG_VERSION")
            ))
            // A redirect elsewhere would carry SigV4 headers to another host: not followed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Prom {
            base,
            http,
            auth,
            timeout,
        })
    }

    /// The server's URL, for messages.
    pub fn url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// The timeout of one request (also sent as PromQL's own `timeout`).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// GET `/api/v1/PATH?params`.
    pub async fn get(&self, call: Call<'_>) -> ToolResult<Answer> {
        let mut url = self.endpoint(call.path)?;
        let query = encode(call.params);
        url.set_query((!query.is_empty()).then_some(query.as_str()));
        let req = self.http.request(Method::GET, url).build();
        self.send(req, call).await
    }

    /// POST `/api/v1/PATH` with the parameters as a form (for PromQL, which can be long).
    pub async fn post(&self, call: Call<'_>) -> ToolResult<Answer> {
        let url = self.endpoint(call.path)?;
        let req = self
            .http
            .request(Method::POST, url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(call.params))
            .build();
        self.send(req, call).await
    }

    fn endpoint(&self, path: &str) -> ToolResult<Url> {
        let text = format!("{}/api/v1/{path}", self.url());
        Url::parse(&text).map_err(|e| ToolFailure::BadArgument(format!("bad URL {text}: {e}")))
    }

    async fn send(
        &self,
        req: Result<reqwest::Request, reqwest::Error>,
        call: Call<'_>,
    ) -> ToolResult<Answer> {
        let mut req = req.map_err(|e| self.transport(&e, call))?;
        self.auth.apply(&mut req).await?;
        tracing::debug!(path = %req.url().path(), "prometheus request");
        let resp = self
            .http
            .execute(req)
            .await
            .map_err(|e| self.transport(&e, call))?;
        let status = resp.status().as_u16();
        let body = self.read_bounded(resp, call).await?;
        self.envelope(status, &body, call)
    }

    /// The body, refused past [`MAX_BODY`]: a query matching every raw sample of a week
    /// must not exhaust this process's memory before the output cap applies.
    async fn read_bounded(
        &self,
        mut resp: reqwest::Response,
        call: Call<'_>,
    ) -> ToolResult<Vec<u8>> {
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(&e, call))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(ToolFailure::BadArgument(format!(
                    "Prometheus's answer for {} is larger than {} MiB: ask for less (a shorter range, a larger step, label matchers, or aggregate with sum by (...))",
                    call.query.unwrap_or(call.what),
                    MAX_BODY >> 20
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn transport(&self, e: &reqwest::Error, call: Call<'_>) -> ToolFailure {
        if e.is_timeout() {
            return ToolFailure::Timeout {
                url: self.url().to_owned(),
                what: call.what.to_owned(),
                seconds: self.timeout.as_secs(),
            };
        }
        ToolFailure::Unreachable {
            url: self.url().to_owned(),
            what: call.what.to_owned(),
            message: error_chain(e),
        }
    }

    /// The data of a success, or the failure the status and envelope describe.
    fn envelope(&self, status: u16, body: &[u8], call: Call<'_>) -> ToolResult<Answer> {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        if matches!(status, 401 | 403) {
            return Err(ToolFailure::Auth {
                url: self.url().to_owned(),
                what: call.what.to_owned(),
                status,
                message: parsed
                    .as_ref()
                    .and_then(message_of)
                    .unwrap_or_else(|| quote(body)),
                fix: self.auth.fix(),
            });
        }
        let Some(v) = parsed else {
            let what = call.what.to_owned();
            return Err(if status >= 400 {
                ToolFailure::Api {
                    what,
                    status,
                    message: quote(body),
                }
            } else {
                ToolFailure::NotPrometheus {
                    url: self.url().to_owned(),
                    what,
                    message: format!("HTTP {status}, not JSON: {}", quote(body)),
                }
            });
        };
        if v["status"] == "success" {
            let warnings = v["warnings"]
                .as_array()
                .map(|w| {
                    w.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            return Ok(Answer {
                data: v["data"].clone(),
                warnings,
            });
        }
        Err(self.refusal(status, &v, call))
    }

    fn refusal(&self, status: u16, v: &Value, call: Call<'_>) -> ToolFailure {
        let message = message_of(v).unwrap_or_else(|| quote(v.to_string().as_bytes()));
        let kind = v["errorType"].as_str().unwrap_or_default();
        match (kind, call.query) {
            ("bad_data", Some(q)) => ToolFailure::BadQuery {
                query: q.to_owned(),
                message,
            },
            ("execution" | "timeout" | "canceled" | "too_many_samples", Some(q)) => {
                ToolFailure::Execution {
                    query: q.to_owned(),
                    message,
                }
            }
            _ if v["status"] != "error" && status < 400 => ToolFailure::NotPrometheus {
                url: self.url().to_owned(),
                what: call.what.to_owned(),
                message: "no `status` in the answer".into(),
            },
            _ => ToolFailure::Api {
                what: call.what.to_owned(),
                status,
                message,
            },
        }
    }
}

/// The error text of a Prometheus envelope (`error`) or an AWS answer (`message`).
fn message_of(v: &Value) -> Option<String> {
    ["error", "message", "Message"]
        .iter()
        .find_map(|k| v[k].as_str())
        .map(str::to_owned)
}

/// The largest answer read from Prometheus.
const MAX_BODY: usize = 32 << 20;

fn quote(body: &[u8]) -> String {
    // Redacted before the cut: a cut credential no longer has a shape to recognise.
    let text = sopilot_mcp_common::redact(&String::from_utf8_lossy(body)).into_owned();
    let text = text.trim();
    match text.char_indices().nth(QUOTE) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None if text.is_empty() => "(empty body)".into(),
        None => text.to_owned(),
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    parts.dedup();
    parts.join(": ")
}

/// `k=v&k=v`, each part percent-encoded except RFC 3986's unreserved characters.
pub fn encode(params: &[(&str, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_error_body_is_redacted_before_the_cut() {
        let token = format!("ghp_{}", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8");
        let body = format!("{} upstream said: token {token}", "x".repeat(QUOTE - 30));
        let q = quote(body.as_bytes());
        assert!(!q.contains("ghp_a1B2"), "{q}");
    }

    #[test]
    fn parameters_are_percent_encoded_never_plus() {
        assert_eq!(
            encode(&[
                ("query", "sum by (pod) (rate(x{a=\"b c\"}[5m]))".into()),
                ("match[]", "up".into())
            ]),
            "query=sum%20by%20%28pod%29%20%28rate%28x%7Ba%3D%22b%20c%22%7D%5B5m%5D%29%29&match%5B%5D=up"
        );
        assert_eq!(encode(&[("q", "a+b/é".into())]), "q=a%2Bb%2F%C3%A9");
    }

    fn prom() -> Prom {
        let url = Url::parse("http://127.0.0.1:9").unwrap_or_else(|e| panic!("{e}"));
        Prom::new(url, Auth::None, Duration::from_secs(1)).unwrap_or_else(|e| panic!("{e}"))
    }

    const CALL: Call<'static> = Call {
        path: "query",
        params: &[],
        what: "the query `up`",
        query: Some("sum(rate(x[5m])"),
    };

    #[test]
    fn envelopes_become_data_or_failures_that_name_the_query() {
        let p = prom();
        let ok = p.envelope(
            200,
            br#"{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["partial"]}"#,
            CALL,
        );
        let ok = ok.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.data["resultType"], "vector");
        assert_eq!(ok.warnings, vec!["partial".to_owned()]);
        let bad = p
            .envelope(
                400,
                br#"{"status":"error","errorType":"bad_data","error":"1:16: parse error: unclosed left parenthesis"}"#,
                CALL,
            )
            .map(|_| ())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            bad.starts_with("Prometheus refused the PromQL `sum(rate(x[5m])`: 1:16: parse error: unclosed left parenthesis. Fix the expression"),
            "{bad}"
        );
        let slow = p
            .envelope(
                422,
                br#"{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}"#,
                CALL,
            )
            .map(|_| ())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(slow.contains("Ask for less"), "{slow}");
        let html = p
            .envelope(200, b"<html>grafana</html>", CALL)
            .map(|_| ())
            .err();
        assert!(
            matches!(html, Some(ToolFailure::NotPrometheus { .. })),
            "{html:?}"
        );
        let denied = p.envelope(403, br#"{"message":"User is not authorized"}"#, CALL);
        let denied = denied
            .map(|_| ())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            denied.contains(
                "(403): User is not authorized. The server asks for authentication: give mcp-prometheus a bearer token in PROMETHEUS_BEARER_TOKEN"
            ),
            "{denied}"
        );
    }
}
