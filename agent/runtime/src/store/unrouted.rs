//! Triggers no SOP could take: kept so that an alert SOPilot did nothing about is never lost
//! silently. `sopilot serve` records each one (and says it in Slack when an incident channel
//! is configured); `GET /api/triggers/unrouted` lists them.
//!
//! The trigger itself is stored redacted: alert labels and alarm descriptions are text a
//! sender controls. At most [`KEEP`] rows are kept, the newest.

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::Serialize;
use serde_json::Value;

use super::{Store, StoreError};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS unrouted_triggers (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, kind TEXT NOT NULL,
  dedup_key TEXT NOT NULL, origin TEXT NOT NULL, reason TEXT NOT NULL, trigger_json TEXT NOT NULL);
";

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
        let t = t.clone().redacted();
        let c = self.conn();
        c.execute(
            "INSERT INTO unrouted_triggers (at, kind, dedup_key, origin, reason, trigger_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                t.at.to_rfc3339(),
                t.kind,
                t.dedup_key,
                t.origin,
                t.reason,
                serde_json::to_string(&t.trigger)?,
            ],
        )?;
        c.execute(
            "DELETE FROM unrouted_triggers WHERE id <= (SELECT MAX(id) FROM unrouted_triggers) - ?1",
            params![KEEP],
        )?;
        Ok(())
    }

    /// The newest unrouted triggers first, at most `limit`.
    pub fn unrouted(&self, limit: usize) -> Result<Vec<UnroutedTrigger>, StoreError> {
        let c = self.conn();
        let mut stmt = c.prepare(
            "SELECT at, kind, dedup_key, origin, reason, trigger_json FROM unrouted_triggers
             ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit as i64], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (at, kind, dedup_key, origin, reason, json) = row?;
            out.push(UnroutedTrigger {
                at: DateTime::parse_from_rfc3339(&at)
                    .map(|d| d.with_timezone(&Utc))
                    .unwrap_or_default(),
                kind,
                dedup_key,
                origin,
                reason,
                trigger: serde_json::from_str(&json)?,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    fn trigger(n: i64, description: &str) -> UnroutedTrigger {
        UnroutedTrigger {
            at: Utc::now(),
            kind: "alertmanager".into(),
            dedup_key: format!("alertmanager:{{}}:{{alertname=\"X{n}\"}}"),
            origin: "webhook alertmanager".into(),
            reason: "no SOP matches".into(),
            trigger: json!({"kind": "alertmanager", "n": n, "description": description}),
        }
    }

    #[test]
    fn unrouted_triggers_are_kept_newest_first_and_redacted() {
        let store = Store::in_memory().unwrap();
        store
            .record_unrouted(&trigger(1, "password=hunter2hunter2"))
            .unwrap();
        store.record_unrouted(&trigger(2, "plain")).unwrap();
        let got = store.unrouted(10).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].trigger["n"], 2);
        assert_eq!(got[1].kind, "alertmanager");
        let stored = got[1].trigger["description"].as_str().unwrap();
        assert!(!stored.contains("hunter2"), "{stored}");
    }

    #[test]
    fn only_the_newest_are_kept() {
        let store = Store::in_memory().unwrap();
        for n in 0..(KEEP + 5) {
            store.record_unrouted(&trigger(n, "x")).unwrap();
        }
        let got = store.unrouted(usize::MAX >> 1).unwrap();
        assert_eq!(got.len() as i64, KEEP);
        assert_eq!(got[0].trigger["n"], KEEP + 4);
        assert_eq!(got.last().unwrap().trigger["n"], 5);
    }
}
