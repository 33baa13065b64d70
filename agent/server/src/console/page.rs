//! The frame of every console page, the security headers every console response carries,
//! and errors shown as pages.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::html::{csrf_field, esc};
use super::session::Session;

/// The console's Content-Security-Policy: nothing but this server's own scripts, styles and
/// forms; no inline script or style; never framed.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Adds the security headers to a console response.
pub async fn secure_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        ("cache-control", "no-store"),
    ] {
        if !h.contains_key(name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    resp
}

/// Which part of the navigation a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Runs,
    Approvals,
    Policy,
    Sops,
    None,
}

/// A complete page: `title`, the signed-in session (for the header and sign-out form),
/// `live` (the `/events` URL that refreshes the page's main part, if it is live) and the
/// main part's HTML.
pub fn layout(
    title: &str,
    session: Option<&Session>,
    nav: Nav,
    live: Option<&str>,
    main: &str,
) -> String {
    let mut links = String::new();
    if session.is_some() {
        for (which, href, label) in [
            (Nav::Runs, "/runs", "Runs"),
            (Nav::Approvals, "/approvals", "Approvals"),
            (Nav::Policy, "/policy", "Policy"),
            (Nav::Sops, "/sops", "SOPs"),
        ] {
            let current = if which == nav {
                " aria-current=\"page\""
            } else {
                ""
            };
            links.push_str(&format!("<a href=\"{href}\"{current}>{label}</a>"));
        }
    }
    let who = match session {
        Some(s) => format!(
            "<form class=\"signout\" method=\"post\" action=\"/signout\">{}<span class=\"who\">{} <small>({})</small></span> <button type=\"submit\">Sign out</button></form>",
            csrf_field(&s.csrf),
            esc(&s.who.name),
            esc(s.who.role.name())
        ),
        None => String::new(),
    };
    let live = live
        .map(|u| format!(" data-live=\"{}\"", esc(u)))
        .unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} · SOPilot</title><link rel=\"stylesheet\" href=\"/assets/console.css\"><script src=\"/assets/console.js\" defer></script></head><body><a class=\"skip\" href=\"#main\">Skip to content</a><header><a class=\"brand\" href=\"/runs\">SOPilot</a><nav aria-label=\"Console\">{links}</nav>{who}</header><main id=\"main\" tabindex=\"-1\"{live}>{main}</main></body></html>\n",
        esc(title)
    )
}

/// What went wrong with a console request, shown as a page.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No session: sign in first.
    #[error("sign in first")]
    SignIn,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    /// Too many requests of this session (429).
    #[error("{0}")]
    TooMany(String),
    /// The server is at a limit for everyone (503).
    #[error("{0}")]
    Unavailable(String),
    #[error("the store failed: {0}")]
    Store(#[from] sopilot_runtime::StoreError),
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = match &self {
            ConsoleError::SignIn => return Redirect::to("/signin").into_response(),
            ConsoleError::Forbidden(_) => StatusCode::FORBIDDEN,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Conflict(_) => StatusCode::CONFLICT,
            ConsoleError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ConsoleError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = layout(
            status.canonical_reason().unwrap_or("Error"),
            None,
            Nav::None,
            None,
            &format!(
                "<h1>{}</h1><p class=\"error\" role=\"alert\">{}</p><p><a href=\"/runs\">Back to the runs</a></p>",
                status.as_u16(),
                esc(&self.to_string())
            ),
        );
        html_response(status, body)
    }
}

/// An HTML response.
pub fn html_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// A 200 page.
pub fn ok(body: String) -> Response {
    html_response(StatusCode::OK, body)
}
