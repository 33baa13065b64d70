//! `/events`: Server-Sent Events telling a live page that what it shows changed. One poller
//! a server ([`super::live`]) reads the store once a second for every stream together; a
//! stream sends `change` when the runs list and approvals (or, with `?run=ID`, that run's
//! timeline) differ from the version the page was rendered at (`v`) or the last one it saw;
//! the page then fetches itself again (`console.js`). Only a signed-in session gets a stream,
//! and only a few at once ([`super::live::MAX_PER_SESSION`], [`super::live::MAX_TOTAL`]). The
//! stream ends after a while (the browser reconnects) and when the server shuts down.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sopilot_protocol::ApprovalState;

use super::live::{self, Refused, Subscription};
use super::page::ConsoleError;
use super::signed_in;
use crate::AppState;

/// How long one stream lasts before the browser is asked to reconnect.
const LIFETIME: Duration = Duration::from_secs(600);

#[derive(Debug, Deserialize)]
pub struct Watch {
    #[serde(default)]
    run: Option<String>,
    /// The [`version`] the page was rendered at: a change since then is sent at once.
    #[serde(default)]
    v: Option<String>,
}

fn digest(fingerprint: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(fingerprint.as_bytes());
    hex::encode(&digest[..8])
}

/// A short digest of what a page showing `run` (or the runs and approvals) shows, which the
/// page carries in its `/events` URL.
pub fn version(s: &AppState, run: Option<&str>) -> String {
    digest(&format!("{}{}", shown(s, run), pending(s)))
}

/// The versions of several pages at once, reading the pending approvals once.
pub fn versions(s: &AppState, runs: &[Option<String>]) -> Vec<(Option<String>, String)> {
    let pending = pending(s);
    runs.iter()
        .map(|r| {
            let v = digest(&format!("{}{pending}", shown(s, r.as_deref())));
            (r.clone(), v)
        })
        .collect()
}

/// The `/events` URL of a page showing `run` (or the runs and approvals), as it is now.
pub fn live_url(s: &AppState, run: Option<&str>) -> String {
    let v = version(s, run);
    match run {
        Some(id) => format!("/events?run={}&v={v}", super::html::url_part(id)),
        None => format!("/events?v={v}"),
    }
}

/// The run's status and length, or the newest runs' statuses: a string that changes when
/// they do.
fn shown(s: &AppState, run: Option<&str>) -> String {
    let store = s.runs.store();
    match run {
        Some(id) => store
            .run(id)
            .map(|(row, events, _)| format!("{:?}:{}", row.status, events.len()))
            .unwrap_or_default(),
        None => store
            .runs(50)
            .unwrap_or_default()
            .iter()
            .map(|r| format!("{}={:?};", r.id, r.status))
            .collect(),
    }
}

/// The pending approvals (a decision or an expiry takes one out).
fn pending(s: &AppState) -> String {
    let pending = s.approvals.store().approvals(Some(ApprovalState::Pending));
    pending
        .unwrap_or_default()
        .iter()
        .map(|a| format!("{}={:?};", a.id, a.state))
        .collect()
}

/// Whether `now` is news to a stream that last saw `last` (`None`: nothing yet, and a first
/// reading is then only remembered); remembers it.
fn news(last: &mut Option<String>, now: Option<String>) -> bool {
    let Some(now) = now else {
        return false;
    };
    let changed = last.as_ref().is_some_and(|l| *l != now);
    *last = Some(now);
    changed
}

/// `GET /events[?run=ID]`
pub async fn stream(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(w): Query<Watch>,
) -> Result<Response, ConsoleError> {
    let session = signed_in(&s, &headers)?;
    let sub = live::subscribe(&s, session.id(), w.run).map_err(|e| {
        tracing::warn!(token = %session.who.name, "console: /events refused: {e}");
        match e {
            Refused::Session => ConsoleError::TooMany(e.to_string()),
            Refused::Full => ConsoleError::Unavailable(e.to_string()),
        }
    })?;
    let end = tokio::time::Instant::now() + LIFETIME;
    let events = futures::stream::unfold(
        (sub, w.v),
        move |(mut sub, mut last): (Subscription, Option<String>)| async move {
            loop {
                if news(&mut last, sub.current()) {
                    let ev = Event::default().event("change").data("changed");
                    return Some((Ok::<_, Infallible>(ev), (sub, last)));
                }
                tokio::select! {
                    more = sub.changed() => if !more { return None },
                    _ = tokio::time::sleep_until(end) => return None,
                }
            }
        },
    );
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::news;

    #[test]
    fn a_stream_sends_what_differs_from_what_it_saw() {
        // Rendered at "a": the same reading is no news, another is.
        let mut last = Some("a".to_owned());
        assert!(!news(&mut last, None));
        assert!(!news(&mut last, Some("a".into())));
        assert!(news(&mut last, Some("b".into())));
        assert!(!news(&mut last, Some("b".into())));
        // Without a version, the first reading is the baseline.
        let mut last = None;
        assert!(!news(&mut last, Some("a".into())));
        assert!(news(&mut last, Some("b".into())));
    }
}
