//! `/mcp` on `sopilot serve`: the gateway over streamable HTTP.
//!
//! In front of rmcp's service, a guard checks the `Host` and `Origin` headers against DNS
//! rebinding (loopback names, the configured listen host, and `serve.mcp_allowed_hosts`;
//! anything else is 403) and then the bearer token, one of `serve.api_tokens` or
//! `SOPILOT_API_TOKEN` (constant-time; none configured: the endpoint is closed). The token's
//! [`Identity`](crate::Identity) rides in the request's extensions to the handler, which
//! checks its role per tool and records approvals under it; a session belongs to the token
//! that opened it and is refused to any other. rmcp's own Host and Origin checks are
//! configured with the same lists, as a second line.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use super::{McpContext, SopilotMcp};
use crate::auth::{ApiToken, Unauthenticated, authenticate};
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

/// The most `/mcp` sessions whose owner is remembered; the oldest is forgotten first (and
/// refused from then on: its client starts a new session).
const MAX_SESSIONS: usize = 4096;

/// Which identity opened each MCP session.
#[derive(Default)]
struct Owners {
    by_session: HashMap<String, String>,
    order: VecDeque<String>,
}

impl Owners {
    fn insert(&mut self, session: String, owner: String) {
        if self.by_session.insert(session.clone(), owner).is_none() {
            self.order.push_back(session);
        }
        while self.order.len() > MAX_SESSIONS {
            if let Some(old) = self.order.pop_front() {
                self.by_session.remove(&old);
            }
        }
    }

    fn remove(&mut self, session: &str) {
        if self.by_session.remove(session).is_some() {
            self.order.retain(|s| s != session);
        }
    }
}

struct Guard {
    allowed: Allowed,
    tokens: Vec<ApiToken>,
    metrics: Arc<Metrics>,
    owners: Mutex<Owners>,
}

fn owners(g: &Guard) -> std::sync::MutexGuard<'_, Owners> {
    match g.owners.lock() {
        Ok(o) => o,
        Err(p) => p.into_inner(),
    }
}

const SESSION_HEADER: &str = "mcp-session-id";

fn unauthorized() -> Response {
    let mut r = ApiError::Unauthorized.into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

async fn guard(State(g): State<Arc<Guard>>, mut request: Request, next: Next) -> Response {
    let refused = || g.metrics.requests_refused.fetch_add(1, Ordering::Relaxed);
    if let Err(why) = g.allowed.check(request.headers(), request.uri()) {
        refused();
        tracing::warn!("/mcp refused: {why}");
        return ApiError::Forbidden(why).into_response();
    }
    let who = match authenticate(&g.tokens, request.headers()) {
        Ok(who) => who,
        Err(Unauthenticated::Refused) => {
            refused();
            return unauthorized();
        }
        Err(Unauthenticated::Closed) => {
            refused();
            return ApiError::Forbidden(
                "the MCP endpoint is disabled: configure serve.api_tokens or set SOPILOT_API_TOKEN"
                    .into(),
            )
            .into_response();
        }
    };
    // A session belongs to the token that opened it: another token cannot use it (and so
    // cannot answer its approval questions).
    let session = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(id) = &session {
        let owner = owners(&g).by_session.get(id).cloned();
        if owner.as_deref() != Some(who.name.as_str()) {
            refused();
            tracing::warn!(token = %who.name, "/mcp refused: a session opened by another token (or forgotten)");
            return ApiError::Forbidden(
                "this MCP session was not opened with this token; start a new session".into(),
            )
            .into_response();
        }
    }
    let closing = request.method() == axum::http::Method::DELETE;
    request.extensions_mut().insert(who.clone());
    let response = next.run(request).await;
    match session {
        Some(id) if closing => owners(&g).remove(&id),
        Some(_) => {}
        None => {
            if let Some(id) = response
                .headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
            {
                owners(&g).insert(id.to_owned(), who.name);
            }
        }
    }
    response
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
        tokens: options.api_tokens.clone(),
        metrics: state.metrics.clone(),
        owners: Mutex::new(Owners::default()),
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
    fn sessions_remember_their_owner_and_forget_the_oldest() {
        let mut o = Owners::default();
        o.insert("s1".into(), "ci".into());
        o.insert("s1".into(), "ci".into());
        assert_eq!(o.by_session.get("s1").map(String::as_str), Some("ci"));
        for i in 0..MAX_SESSIONS {
            o.insert(format!("x{i}"), "oncall".into());
        }
        assert_eq!(o.by_session.len(), MAX_SESSIONS);
        assert!(!o.by_session.contains_key("s1"), "the oldest is forgotten");
        o.remove("x1");
        assert!(!o.by_session.contains_key("x1"));
        assert_eq!(o.order.len(), o.by_session.len());
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
