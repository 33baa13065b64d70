//! `/events`: Server-Sent Events telling a live page that what it shows changed. The stream
//! reads the store once a second and sends `change` when the runs list and approvals (or,
//! with `?run=ID`, that run's timeline) differ from the version the page was rendered at
//! (`v`) or the last reading; the page then fetches
//! itself again (`console.js`). The stream ends after a while (the browser reconnects) and
//! when the server shuts down.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sopilot_protocol::ApprovalState;

use super::page::ConsoleError;
use super::signed_in;
use crate::AppState;

/// How often the store is read.
const EVERY: Duration = Duration::from_secs(1);
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

/// A short digest of [`fingerprint`], which a page carries in its `/events` URL.
pub fn version(s: &AppState, run: Option<&str>) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(fingerprint(s, run).as_bytes());
    hex::encode(&digest[..8])
}

/// The `/events` URL of a page showing `run` (or the runs and approvals), as it is now.
pub fn live_url(s: &AppState, run: Option<&str>) -> String {
    let v = version(s, run);
    match run {
        Some(id) => format!("/events?run={}&v={v}", super::html::url_part(id)),
        None => format!("/events?v={v}"),
    }
}

/// What a page shows, reduced to a string that changes when it does.
pub fn fingerprint(s: &AppState, run: Option<&str>) -> String {
    let store = s.runs.store();
    let mut f = String::new();
    match run {
        Some(id) => {
            if let Ok((row, events, _)) = store.run(id) {
                f = format!("{:?}:{}", row.status, events.len());
            }
        }
        None => {
            for r in store.runs(50).unwrap_or_default() {
                f.push_str(&format!("{}={:?};", r.id, r.status));
            }
        }
    }
    // A decision or an expiry takes an approval out of the pending ones.
    let pending = s.approvals.store().approvals(Some(ApprovalState::Pending));
    for a in pending.unwrap_or_default() {
        f.push_str(&format!("{}={:?};", a.id, a.state));
    }
    f
}

/// `GET /events[?run=ID]`
pub async fn stream(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(w): Query<Watch>,
) -> Result<Response, ConsoleError> {
    signed_in(&s, &headers)?;
    let stop = s.runs.shutdown_token();
    // Read before the page was rendered, so a change in between is not lost.
    let first = w.v.clone().unwrap_or_else(|| version(&s, w.run.as_deref()));
    let started = tokio::time::Instant::now();
    let events = futures::stream::unfold(
        (s, w.run, first, stop, started),
        |(s, run, last, stop, started)| async move {
            loop {
                if started.elapsed() >= LIFETIME {
                    return None;
                }
                tokio::select! {
                    _ = stop.cancelled() => return None,
                    _ = tokio::time::sleep(EVERY) => {}
                }
                let now = version(&s, run.as_deref());
                if now != last {
                    let ev = Event::default().event("change").data("changed");
                    return Some((Ok::<_, Infallible>(ev), (s, run, now, stop, started)));
                }
            }
        },
    );
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}
