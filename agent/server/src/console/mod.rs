//! The web console: runs, a run's timeline, the approvals inbox, the policy and the SOPs, as
//! server-rendered HTML behind the API's named tokens and roles.
//!
//! A token is given once at `/signin` and becomes an HTTP-only, SameSite=Strict session
//! cookie ([`session`]); every form carries the session's CSRF token and a cross-origin post
//! is refused. Pages read the same store as `/api/*`, and Approve/Deny decide through the
//! same [`crate::ApprovalHub`] as Slack and the API (first decision wins; the call is checked
//! again before it executes). Pages work without JavaScript; `console.js` only refreshes a
//! live page's main part when `/events` (Server-Sent Events) says it changed. Every response
//! carries a strict Content-Security-Policy ([`page::CSP`]): no inline script or style, no
//! other origin.

mod approvals;
mod assets;
mod charts;
mod codes;
mod events;
mod html;
mod live;
mod page;
mod policy;
mod run;
mod runs;
pub mod session;
mod signin;
mod sops;
mod timeline;

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub use page::CSP;

use crate::AppState;
use page::ConsoleError;
use session::Session;

/// The console's routes (`/`, `/signin`, `/runs`, `/approvals`, `/policy`, `/sops`,
/// `/events`, `/assets/*`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/signin", get(signin::show).post(signin::submit))
        .route("/signout", post(signin::sign_out))
        .route("/api/signin-code", post(codes::create))
        .route("/runs", get(runs::list))
        .route("/runs/{id}", get(run::show))
        .route("/approvals", get(approvals::list))
        .route("/approvals/{id}", post(approvals::decide))
        .route("/policy", get(policy::page))
        .route("/sops", get(sops::list))
        .route("/sops/{name}", get(sops::show))
        .route("/sops/{name}/run", post(sops::start))
        .route("/events", get(events::stream))
        .route("/assets/{file}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .layer(axum::middleware::map_response(page::secure_headers))
}

async fn root(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match signed_in(&s, &headers) {
        Ok(_) => Redirect::to("/runs").into_response(),
        Err(_) => Redirect::to("/signin").into_response(),
    }
}

/// Now, in Unix seconds (sessions expire by it).
fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The request's session, or [`ConsoleError::SignIn`].
fn signed_in(s: &AppState, headers: &HeaderMap) -> Result<Session, ConsoleError> {
    let value = session::cookie_value(headers).ok_or(ConsoleError::SignIn)?;
    session::verify(&s.options.api_tokens, &value, now_unix()).map_err(|e| {
        tracing::debug!("console: {e}");
        ConsoleError::SignIn
    })
}

/// A form body's fields (the last value of a repeated name wins).
fn form(body: &Bytes) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// Whether a post comes from a page of this server: its `Origin` (when the browser sends
/// one) names this host, and `Sec-Fetch-Site` (when sent) does not say cross-site.
fn same_origin(headers: &HeaderMap) -> bool {
    let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    if get("sec-fetch-site").is_some_and(|v| v == "cross-site") {
        return false;
    }
    match (get("origin"), get("host")) {
        (None, _) => true,
        (Some(origin), Some(host)) => {
            origin == format!("http://{host}") || origin == format!("https://{host}")
        }
        (Some(_), None) => false,
    }
}

/// Refuses a state-changing post that is cross-origin or lacks the session's CSRF token.
fn check_post(
    s: &AppState,
    headers: &HeaderMap,
    session: &Session,
    fields: &HashMap<String, String>,
) -> Result<(), ConsoleError> {
    let refuse = |why: &str| {
        s.metrics
            .requests_refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(token = %session.who.name, "console: refused a post: {why}");
        Err(ConsoleError::Forbidden(why.to_owned()))
    };
    if !same_origin(headers) {
        return refuse("a form posted from another site is refused");
    }
    if !session::csrf_ok(session, fields.get("csrf").map(String::as_str)) {
        return refuse(
            "the form's CSRF token is missing or wrong; reload the page and submit it again",
        );
    }
    Ok(())
}

/// Whether the request came through a TLS-terminating proxy (`X-Forwarded-Proto: https`).
fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// Whether the session cookie is marked `Secure` (see [`cookie_secure`]), by
/// `SOPILOT_CONSOLE_SECURE_COOKIE`, the listen address and the request.
fn secure_cookies(s: &AppState, headers: &HeaderMap) -> bool {
    let setting = std::env::var("SOPILOT_CONSOLE_SECURE_COOKIE").ok();
    cookie_secure(
        setting.as_deref(),
        s.options.listen.ip().is_loopback(),
        forwarded_https(headers),
    )
}

/// Whether the session cookie is marked `Secure`: as `setting` says when it is `true`/`1` or
/// `false`/`0`; otherwise yes, unless the server listens on loopback only (`loopback`) and the
/// request did not come through TLS (`https`). A value that is neither keeps the cookie
/// `Secure` (and is logged).
fn cookie_secure(setting: Option<&str>, loopback: bool, https: bool) -> bool {
    match setting.map(str::trim) {
        Some("true" | "1") => true,
        Some("false" | "0") => false,
        None | Some("") => https || !loopback,
        Some(other) => {
            tracing::warn!(
                "SOPILOT_CONSOLE_SECURE_COOKIE={other:?} is neither true nor false; the session cookie stays Secure"
            );
            true
        }
    }
}

/// Whether a browser posted from a page it reached over plain HTTP on a host other than
/// loopback (where it would drop a `Secure` cookie).
fn plain_http_page(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(host) = origin.strip_prefix("http://") else {
        return false;
    };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    !matches!(name, "localhost" | "127.0.0.1" | "[::1]")
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_doors;
