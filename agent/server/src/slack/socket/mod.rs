//! Slack Socket Mode: the bot opens a WebSocket to Slack (`apps.connections.open` with the
//! app-level token `SLACK_APP_TOKEN`) and receives over it what HTTP mode receives on
//! `/slack/*` — mentions, `/sopilot`, button presses — so SOPilot needs no inbound endpoint.
//! Payloads are authenticated by the connection itself (no signing secret) and go to the
//! same handlers as HTTP's, with the same checks (approvers, the recorded approval message,
//! the hourly limit, event-id deduplication).
//!
//! The supervisor ([`run`]) keeps one socket up:
//! - each envelope is acknowledged by its `envelope_id` promptly, a slash command with its
//!   answer as the acknowledgement's payload;
//! - on `disconnect` (`refresh_requested`, `warning`, `link_disabled`) a new socket is opened
//!   at once, while the old one stays open for what is in flight until Slack closes it;
//! - a socket that breaks, or stays silent past the read deadline (pings go every 10 s), is
//!   replaced after an exponential back-off with jitter (0.5–1 s first, at most 30 s),
//!   reset once a socket says hello;
//! - one log line per connection (`connected`, `reconnected`), a warning per failed
//!   attempt; nothing per envelope.

mod backoff;
mod connection;
mod dispatch;
mod frame;

use std::sync::Arc;
use std::time::Duration;

use sopilot_runtime::CancellationToken;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

pub use connection::Timing;

use backoff::Backoff;
use connection::{ConnError, Ctx, Notice};

use crate::AppState;
use crate::slack::SlackClient;

/// The environment variable holding the app-level token.
pub const APP_TOKEN_ENV: &str = "SLACK_APP_TOKEN";

/// Why Socket Mode cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SocketModeError {
    #[error(
        "SLACK_APP_TOKEN must be an app-level token (xapp-...), not {0}: create one under the Slack app's Basic Information > App-Level Tokens with the connections:write scope"
    )]
    NotAppToken(&'static str),
    #[error("SLACK_APP_TOKEN: {0}")]
    Client(String),
    #[error("TLS for Slack's WebSocket: {0}")]
    Tls(String),
}

/// The client of `apps.connections.open`: the Web API at `api_base` with the app-level
/// `token`, refused unless it is one (`xapp-…`).
pub fn app_client(api_base: &str, token: &str) -> Result<SlackClient, SocketModeError> {
    let token = token.trim();
    if !token.starts_with("xapp-") {
        let what = match token.get(..5) {
            Some("xoxb-") => "a bot token (xoxb-...)",
            Some("xoxp-") => "a user token (xoxp-...)",
            _ => "something else",
        };
        return Err(SocketModeError::NotAppToken(what));
    }
    SlackClient::new(api_base, token).map_err(|e| SocketModeError::Client(e.to_string()))
}

/// TLS as the bot's HTTP client does it: rustls with aws-lc-rs, the platform's trust store.
fn tls() -> Result<Arc<rustls::ClientConfig>, SocketModeError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SocketModeError::Tls(e.to_string()))?
        .with_platform_verifier()
        .map_err(|e| SocketModeError::Tls(e.to_string()))?
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Keeps a Socket Mode connection up for the bot of `state` until `stop`; returns at once
/// when the bot is not in Socket Mode.
pub async fn run(state: AppState, timing: Timing, stop: CancellationToken) {
    let Some(bot) = state.options.slack.clone() else {
        return;
    };
    let Some(app) = bot.app.clone() else { return };
    let tls = match tls() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!("Slack Socket Mode is off: {e}");
            return;
        }
    };
    let (notices, mut heard) = mpsc::unbounded_channel();
    let ctx = Ctx {
        state,
        bot,
        notices,
        timing,
        stop: stop.clone(),
    };
    let mut sup = Supervisor::new();
    loop {
        let connect_at = sup.connect_at;
        tokio::select! {
            () = stop.cancelled() => return,
            () = async { sleep_until(connect_at.unwrap_or_else(Instant::now)).await }, if connect_at.is_some() => {
                sup.connect_at = None;
                match connection::open(&app, &tls, &timing).await {
                    Ok(ws) => {
                        let conn = sup.opened();
                        tokio::spawn(connection::run(conn, ws, ctx.clone()));
                    }
                    Err(e) => sup.failed(&e),
                }
            }
            Some(notice) = heard.recv() => sup.heard(notice),
        }
    }
}

/// The supervisor's state: which socket is current, when to open the next, the back-off.
#[derive(Debug)]
struct Supervisor {
    current: Option<u64>,
    last: u64,
    connect_at: Option<Instant>,
    backoff: Backoff,
    connected_before: bool,
    /// Why the last socket went, for the next `reconnected` line.
    why: Option<String>,
}

impl Supervisor {
    fn new() -> Supervisor {
        Supervisor {
            current: None,
            last: 0,
            connect_at: Some(Instant::now()),
            backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(30)),
            connected_before: false,
            why: None,
        }
    }

    /// A socket was opened: it is the current one; its id.
    fn opened(&mut self) -> u64 {
        self.last += 1;
        self.current = Some(self.last);
        self.last
    }

    fn retry_later(&mut self) {
        self.current = None;
        self.connect_at = Some(Instant::now() + self.backoff.next_wait());
    }

    fn failed(&mut self, e: &ConnError) {
        self.retry_later();
        tracing::warn!("Slack Socket Mode: cannot connect: {e}; trying again");
        self.why = Some(e.to_string());
    }

    fn heard(&mut self, notice: Notice) {
        match notice {
            Notice::Hello { conn } if self.current == Some(conn) => {
                self.backoff.reset();
                match (self.connected_before, self.why.take()) {
                    (false, _) => tracing::info!("Slack Socket Mode connected"),
                    (true, Some(why)) => tracing::info!("Slack Socket Mode reconnected ({why})"),
                    (true, None) => tracing::info!("Slack Socket Mode reconnected"),
                }
                self.connected_before = true;
            }
            Notice::Disconnect { conn, reason } if self.current == Some(conn) => {
                if reason == "link_disabled" {
                    tracing::warn!(
                        "Slack says Socket Mode is turned off for this app (link_disabled): turn it on under the app's Socket Mode settings"
                    );
                }
                // A fresh socket now; the old one finishes what is in flight.
                self.current = None;
                self.connect_at = Some(Instant::now());
                self.why = Some(format!("Slack asked: {reason}"));
            }
            Notice::Ended { conn, error } if self.current == Some(conn) => {
                self.why = Some(error.map_or_else(
                    || "Slack closed the socket".to_owned(),
                    |e| format!("the socket broke: {e}"),
                ));
                self.retry_later();
            }
            // News of a socket already replaced.
            Notice::Hello { .. } | Notice::Disconnect { .. } | Notice::Ended { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn only_an_app_token_makes_an_app_client() {
        let bot = app_client("http://127.0.0.1:9/api/", "xoxb-1-2").unwrap_err();
        assert!(
            bot.to_string().contains("not a bot token (xoxb-...)"),
            "{bot}"
        );
        assert!(app_client("http://127.0.0.1:9/api/", "hello").is_err());
        assert!(app_client("http://127.0.0.1:9/api/", " xapp-1-A1-1-x ").is_ok());
    }

    #[tokio::test]
    async fn the_http_routes_are_off_in_socket_mode() {
        use axum::body::Body;
        use axum::http::Request;
        let app = app_client("http://127.0.0.1:9/api/", "xapp-1-A1-1-x").unwrap();
        let store = Arc::new(sopilot_runtime::Store::in_memory().unwrap());
        let settings = crate::slack::SlackSettings::default();
        let bot = crate::slack::SlackBot::socket_mode(settings, app, None, store);
        assert!(bot.uses_socket_mode());
        let s = crate::testing::state(Vec::new(), Some(bot)).await;
        for path in ["/slack/events", "/slack/commands", "/slack/interactions"] {
            let req = Request::builder()
                .method("POST")
                .uri(path)
                .body(Body::from("{}"))
                .unwrap();
            let (code, v) = crate::testing::raw(&s, req).await;
            assert_eq!(code, 404, "{path}: {v}");
            assert!(v["error"].as_str().unwrap().contains("Socket Mode"), "{v}");
        }
    }

    #[tokio::test]
    async fn a_refresh_reconnects_at_once_and_a_break_after_a_back_off() {
        let mut s = Supervisor::new();
        let first = s.opened();
        s.connect_at = None;
        s.heard(Notice::Hello { conn: first });
        assert!(s.connected_before && s.connect_at.is_none());
        // Slack asks for a refresh: a new socket at once, the old one left to drain.
        s.heard(Notice::Disconnect {
            conn: first,
            reason: "refresh_requested".into(),
        });
        assert!(s.current.is_none());
        assert!(s.connect_at.is_some_and(|at| at <= Instant::now()));
        s.connect_at = None;
        let second = s.opened();
        // The old socket's end changes nothing.
        s.heard(Notice::Ended {
            conn: first,
            error: None,
        });
        assert_eq!((s.current, s.connect_at), (Some(second), None));
        s.heard(Notice::Hello { conn: second });
        // The current one breaks: reconnect after a short wait, longer each failure.
        s.heard(Notice::Ended {
            conn: second,
            error: Some(ConnError::Silent(35)),
        });
        let wait = s.connect_at.unwrap() - Instant::now();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        s.failed(&ConnError::ConnectTimeout(10));
        s.failed(&ConnError::ConnectTimeout(10));
        let wait = s.connect_at.unwrap() - Instant::now();
        assert!(wait >= Duration::from_millis(1900), "{wait:?}");
    }
}
