//! Triggers no SOP could take: kept so that an alert SOPilot did nothing about is never lost
//! silently. `sopilot serve` records each one (and says it in Slack when an incident channel
//! is configured); `GET /api/triggers/unrouted` lists them.
//!
//! The trigger itself is stored redacted: alert labels and alarm descriptions are text a
//! sender controls. At most [`KEEP`] rows are kept, the newest.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::{Store, StoreError};

/// How many unrouted triggers are kept; older ones are dropped as new ones come.
pub const KEEP: i64 = 1000;

/// A trigger no SOP could take, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnroutedTrigger {
    pub at: DateTime<Utc>,
    /// The trigger's kind (`alertmanager`, `cloudwatch_alarm`, ...).
    pub kind: String,
    /// The key repeats of the same incident share.
    pub dedup_key: String,
    /// Who sent it (`webhook alertmanager`, `schedule capacity`, ...).
    pub origin: String,
    /// Why no SOP took it, naming each candidate's problem.
    pub reason: String,
    /// The trigger as parsed, redacted.
    pub trigger: Value,
}

impl UnroutedTrigger {
    /// The same with credentials redacted from the key, the reason and the trigger: what
    /// may be stored, listed and posted.
    pub fn redacted(mut self) -> UnroutedTrigger {
        sopilot_redact::redact_json(&mut self.trigger);
        self.dedup_key = sopilot_redact::redact(&self.dedup_key).into_owned();
        self.reason = sopilot_redact::redact(&self.reason).into_owned();
        self
    }
}

impl Store {
    /// Records a trigger no SOP could take (redacted), keeping the newest [`KEEP`].
    pub fn record_unrouted(&self, t: &UnroutedTrigger) -> Result<(), StoreError> {
        self.backend.record_unrouted(&t.clone().redacted(), KEEP)
    }

    /// The newest unrouted triggers first, at most `limit`.
    pub fn unrouted(&self, limit: usize) -> Result<Vec<UnroutedTrigger>, StoreError> {
        self.backend.unrouted(limit)
    }
}
