//! `/signin` and `/signout`: a named API token, or a one-time code made for one
//! ([`super::codes`]), becomes a session cookie, and back. A token is only ever taken from a
//! posted form: never from a URL, where browser history, access logs and `Referer` keep it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::html::esc;
use super::page::{ConsoleError, Nav, html_response, layout};
use super::{
    check_post, codes, form, now_unix, plain_http_page, same_origin, secure_cookies, session,
    signed_in,
};
use crate::AppState;
use crate::auth::{ApiToken, identify};

/// What the form says when the page was reached over plain HTTP and the cookie is `Secure`.
const PLAIN_HTTP: &str = "This page was opened over plain HTTP and the session cookie is Secure (the server listens beyond loopback), so the browser would not keep it. Open the console over HTTPS (a TLS proxy that sends X-Forwarded-Proto: https), or, on a trusted network only, set SOPILOT_CONSOLE_SECURE_COOKIE=false and restart sopilot serve.";

fn form_page(error: Option<&str>, closed: bool) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    let body = if closed {
        "<p class=\"error\" role=\"alert\">The console is closed: no API token is configured. Configure <code>serve.api_tokens</code> (or set <code>SOPILOT_API_TOKEN</code>) and restart <code>sopilot serve</code>.</p>".to_owned()
    } else {
        format!(
            "{error}<form method=\"post\" action=\"/signin\" class=\"signin\"><label for=\"token\">API token or one-time code</label><input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus><p class=\"hint\">A token of <code>serve.api_tokens</code>, or a one-time code made for one (<code>POST /api/signin-code</code>; <code>sopilot demo --serve</code> prints one): a viewer reads, an operator also starts runs, an approver also decides approvals.</p><button type=\"submit\">Sign in</button></form>"
        )
    };
    layout(
        "Sign in",
        None,
        Nav::None,
        None,
        &format!("<h1>Sign in to SOPilot</h1>{body}"),
    )
}

/// `GET /signin`: the form, empty. A `?token=` in the URL is ignored and never shown.
pub async fn show(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if signed_in(&s, &headers).is_ok() {
        return Redirect::to("/runs").into_response();
    }
    let closed = s.options.api_tokens.is_empty();
    super::page::ok(form_page(None, closed))
}

/// The configured token that `given` (a token, or a one-time code, used up here) signs in as.
fn token_for(s: &AppState, given: &str) -> Option<ApiToken> {
    let tokens = &s.options.api_tokens;
    if let Some(who) = codes::redeem(given, now_unix()) {
        let token = codes::token_of(tokens, &who);
        if token.is_none() {
            tracing::warn!(token = %who.name, "console: a sign-in code's token is no longer configured with its role");
        }
        return token;
    }
    let who = identify(tokens, given)?;
    tokens.iter().find(|t| t.name == who.name).cloned()
}

/// `POST /signin`
pub async fn submit(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let closed = s.options.api_tokens.is_empty();
    if closed {
        return html_response(StatusCode::FORBIDDEN, form_page(None, true));
    }
    if !same_origin(&headers) {
        return ConsoleError::Forbidden("a sign-in posted from another site is refused".into())
            .into_response();
    }
    let secure = secure_cookies(&s, &headers);
    if secure && plain_http_page(&headers) {
        return html_response(StatusCode::BAD_REQUEST, form_page(Some(PLAIN_HTTP), false));
    }
    let fields = form(&body);
    let given = fields.get("token").map(|t| t.trim()).unwrap_or("");
    let Some(token) = token_for(&s, given) else {
        s.metrics
            .requests_refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return html_response(
            StatusCode::UNAUTHORIZED,
            form_page(
                Some(
                    "That is neither a token of serve.api_tokens nor an unused, unexpired sign-in code.",
                ),
                false,
            ),
        );
    };
    match session::issue(&token, now_unix()) {
        Ok((value, _)) => {
            tracing::info!(token = %token.name, role = %token.role, "console: signed in");
            (
                StatusCode::SEE_OTHER,
                [
                    (
                        header::SET_COOKIE,
                        session::set_cookie(Some(&value), secure),
                    ),
                    (header::LOCATION, "/runs".to_owned()),
                ],
            )
                .into_response()
        }
        Err(e) => ConsoleError::Forbidden(e.to_string()).into_response(),
    }
}

/// `POST /signout`
pub async fn sign_out(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let session = signed_in(&s, &headers)?;
    check_post(&s, &headers, &session, &form(&body))?;
    session::sign_out(&session, now_unix());
    Ok((
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                session::set_cookie(None, secure_cookies(&s, &headers)),
            ),
            (header::LOCATION, "/signin".to_owned()),
        ],
    )
        .into_response())
}
