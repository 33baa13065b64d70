//! The server's "now": the default evaluation time of an instant query and the end of a range,
//! so a rehearsal or a test can pin it to a scenario's time.
//!
//! `SOPILOT_NOW` (RFC 3339, e.g. `2026-03-10T20:19:00Z`) freezes the clock at that instant
//! for the life of the process, to match a simulated AWS frozen at the same instant: answers
//! then never depend on the time of day a test runs. Unset, it is the wall clock.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};

/// The environment variable that pins the clock.
pub const PIN_VAR: &str = "SOPILOT_NOW";

static PINNED: LazyLock<Option<DateTime<Utc>>> = LazyLock::new(|| {
    let text = std::env::var(PIN_VAR).ok()?;
    match DateTime::parse_from_rfc3339(text.trim()) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(e) => {
            tracing::warn!(
                "{PIN_VAR}={text:?} is not an RFC 3339 time ({e}); using the wall clock"
            );
            None
        }
    }
});

/// Now: the pinned instant when `SOPILOT_NOW` is set, else the wall clock.
pub fn now() -> DateTime<Utc> {
    (*PINNED).unwrap_or_else(Utc::now)
}
