//! `/mcp` on `sopilot serve`: the gateway over streamable HTTP.
//!
//! In front of rmcp's service, a guard checks the `Host` and `Origin` headers against DNS
//! rebinding (loopback names, the configured listen host, and `serve.mcp_allowed_hosts`;
//! anything else is 403) and then the bearer token `SOPILOT_API_TOKEN` (constant-time; none
//! configured: the endpoint is closed). rmcp's own Host and Origin checks are configured with
//! the same lists, as a second line.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use super::{McpContext, SopilotMcp};
use crate::auth::bearer_ok;
use crate::{ApiError, AppState, Metrics};

/// The host names `/mcp` answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    hosts: Vec<String>,
}

fn normalize(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

/// The host of a `Host` header value or an allow-list entry (`name`, `name:port`, `[::1]`).
fn host_of(value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    match value.parse::<axum::http::uri::Authority>() {
        Ok(a) => Some(normalize(a.host())),
        // A bare IPv6 address is not an authority.
        Err(_) => value
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .map(|ip| ip.to_string()),
    }
}

impl Allowed {
    /// Loopback names, the listen address's host (unless it is a wildcard), and `extra`.
    pub fn new(listen: SocketAddr, extra: &[String]) -> Allowed {
        let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .iter()
            .map(|h| (*h).to_owned())
            .collect();
        if !listen.ip().is_unspecified() {
            hosts.push(listen.ip().to_string());
        }
        hosts.extend(extra.iter().filter_map(|h| host_of(h)));
        hosts.sort();
        hosts.dedup();
        Allowed { hosts }
    }

    /// The allowed host names.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    fn allows(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h == host)
    }

    /// Checks `Host` (or the request target's authority) and, when present, `Origin`.
    pub fn check(&self, headers: &HeaderMap, uri: &Uri) -> Result<(), String> {
        let host = match headers.get(header::HOST) {
            Some(v) => v.to_str().ok().and_then(host_of),
            None => uri.authority().map(|a| normalize(a.host())),
        };
        match host {
            Some(h) if self.allows(&h) => {}
            Some(h) => {
                return Err(format!(
                    "Host {h:?} is not allowed for /mcp (DNS rebinding protection); add it to serve.mcp_allowed_hosts"
                ));
            }
            None => return Err("a valid Host header is required for /mcp".into()),
        }
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let parsed = origin
            .to_str()
            .ok()
            .and_then(|o| o.parse::<Uri>().ok())
            .filter(|u| matches!(u.scheme_str(), Some("http" | "https")))
            .and_then(|u| u.host().map(normalize));
        match parsed {
            Some(h) if self.allows(&h) => Ok(()),
            _ => Err(format!(
                "Origin {:?} is not allowed for /mcp (DNS rebinding protection)",
                origin.to_str().unwrap_or("(not text)")
            )),
        }
    }

    /// The same lists in the form rmcp's own checks take.
    fn rmcp_config(&self, base: StreamableHttpServerConfig) -> StreamableHttpServerConfig {
        let origins: Vec<String> = self
            .hosts
            .iter()
            .flat_map(|h| {
                let h = if h.contains(':') {
                    format!("[{h}]")
                } else {
                    h.clone()
                };
                [format!("http://{h}:*"), format!("https://{h}:*")]
            })
            .collect();
        base.with_allowed_hosts(self.hosts.clone())
            .with_allowed_origins(origins)
            .enforce_origin_validation()
    }
}

struct Guard {
    allowed: Allowed,
    token: Option<String>,
    metrics: Arc<Metrics>,
}

async fn guard(State(g): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let refused = || g.metrics.requests_refused.fetch_add(1, Ordering::Relaxed);
    if let Err(why) = g.allowed.check(request.headers(), request.uri()) {
        refused();
        tracing::warn!("/mcp refused: {why}");
        return ApiError::Forbidden(why).into_response();
    }
    match &g.token {
        Some(token) if bearer_ok(request.headers(), token) => next.run(request).await,
        Some(_) => {
            refused();
            let mut r = ApiError::Unauthorized.into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            r
        }
        None => {
            refused();
            ApiError::Forbidden("the MCP endpoint is disabled: set SOPILOT_API_TOKEN".into())
                .into_response()
        }
    }
}

/// The `/mcp` route over `state`'s runner, SOPs, approvals and run queue. Its sessions end
/// when the run manager shuts down.
pub fn routes(state: &AppState) -> Router<AppState> {
    let ctx = Arc::new(McpContext::serve(state));
    let options = &state.options;
    let allowed = Allowed::new(options.listen, &options.mcp_allowed_hosts);
    let config = allowed
        .rmcp_config(StreamableHttpServerConfig::default())
        .with_max_request_body_bytes(options.max_body_bytes)
        .with_cancellation_token(state.runs.shutdown_token());
    let service = StreamableHttpService::new(
        move || Ok(SopilotMcp::new(ctx.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let guard_state = Arc::new(Guard {
        allowed,
        token: options.api_token.clone(),
        metrics: state.metrics.clone(),
    });
    Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(guard_state, guard))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn hosts_and_origins() {
        let a = Allowed::new(
            "10.1.2.3:8080".parse().unwrap(),
            &[
                "sopilot.internal".to_owned(),
                "Ops.Example.com:443".to_owned(),
            ],
        );
        let uri = Uri::from_static("/mcp");
        for ok in [
            "localhost:8080",
            "127.0.0.1",
            "[::1]:9",
            "10.1.2.3:8080",
            "sopilot.internal",
            "ops.example.com",
        ] {
            assert!(a.check(&headers(ok, None), &uri).is_ok(), "{ok}");
        }
        for bad in [
            "evil.example.com",
            "127.0.0.2",
            "localhost.evil.com",
            "sopilot.internal.evil",
        ] {
            assert!(a.check(&headers(bad, None), &uri).is_err(), "{bad}");
        }
        assert!(
            a.check(&headers("localhost", Some("http://localhost:5173")), &uri)
                .is_ok()
        );
        for bad in [
            "http://evil.example.com",
            "null",
            "file://localhost",
            "https://localhost.evil",
        ] {
            assert!(
                a.check(&headers("localhost", Some(bad)), &uri).is_err(),
                "{bad}"
            );
        }
        let wildcard = Allowed::new("0.0.0.0:8080".parse().unwrap(), &[]);
        assert!(!wildcard.hosts().contains(&"0.0.0.0".to_owned()));
    }
}
