//! `/signin` and `/signout`: a named API token becomes a session cookie, and back.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::html::esc;
use super::page::{ConsoleError, Nav, html_response, layout};
use super::{check_post, form, now_unix, same_origin, secure_cookies, session, signed_in};
use crate::AppState;
use crate::auth::identify;

#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    /// Prefills the form (the link `sopilot demo --serve` prints); signing in still takes a
    /// press of the button, so a link alone never signs anyone in.
    #[serde(default)]
    token: Option<String>,
}

fn form_page(prefill: &str, error: Option<&str>, closed: bool) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    let body = if closed {
        "<p class=\"error\" role=\"alert\">The console is closed: no API token is configured. Configure <code>serve.api_tokens</code> (or set <code>SOPILOT_API_TOKEN</code>) and restart <code>sopilot serve</code>.</p>".to_owned()
    } else {
        format!(
            "{error}<form method=\"post\" action=\"/signin\" class=\"signin\"><label for=\"token\">API token</label><input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus value=\"{}\"><p class=\"hint\">A token of <code>serve.api_tokens</code>: a viewer reads, an operator also starts runs, an approver also decides approvals.</p><button type=\"submit\">Sign in</button></form>",
            esc(prefill)
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

/// `GET /signin`
pub async fn show(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> Response {
    if signed_in(&s, &headers).is_ok() {
        return Redirect::to("/runs").into_response();
    }
    let closed = s.options.api_tokens.is_empty();
    super::page::ok(form_page(q.token.as_deref().unwrap_or(""), None, closed))
}

/// `POST /signin`
pub async fn submit(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let closed = s.options.api_tokens.is_empty();
    if closed {
        return html_response(StatusCode::FORBIDDEN, form_page("", None, true));
    }
    if !same_origin(&headers) {
        return ConsoleError::Forbidden("a sign-in posted from another site is refused".into())
            .into_response();
    }
    let fields = form(&body);
    let given = fields.get("token").map(|t| t.trim()).unwrap_or("");
    let Some(who) = identify(&s.options.api_tokens, given) else {
        s.metrics
            .requests_refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return html_response(
            StatusCode::UNAUTHORIZED,
            form_page(
                "",
                Some("That token is not one of serve.api_tokens."),
                false,
            ),
        );
    };
    let Some(token) = s.options.api_tokens.iter().find(|t| t.name == who.name) else {
        return ConsoleError::SignIn.into_response();
    };
    match session::issue(token, now_unix()) {
        Ok((value, _)) => {
            tracing::info!(token = %who.name, role = %who.role, "console: signed in");
            (
                StatusCode::SEE_OTHER,
                [
                    (
                        header::SET_COOKIE,
                        session::set_cookie(Some(&value), secure_cookies(&headers)),
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
                session::set_cookie(None, secure_cookies(&headers)),
            ),
            (header::LOCATION, "/signin".to_owned()),
        ],
    )
        .into_response())
}
