//! The server's "now", for a shift's expiry in a dry run. `SOPILOT_NOW` (RFC 3339) pins it
//! for the life of the process, to match a simulated AWS frozen at the same instant; unset,
//! it is the wall clock.

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
