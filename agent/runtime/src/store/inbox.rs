//! What `sopilot serve` must remember about the outside world across restarts:
//!
//! - **approval messages**: where SOPilot posted each approval's Slack message (channel id
//!   and message ts). A button press decides an approval only when it comes from exactly that
//!   message, so a look-alike button posted anywhere else (by a model through the Slack tool,
//!   by a person) decides nothing. Written synced to disk, since decisions depend on it; also
//!   which state the message shows, so a decision made while Slack was unreachable or the
//!   server was down is still shown on it later.
//! - **seen messages**: ids of inbound messages already handled (SNS `MessageId`s), so a
//!   replay is refused even after a restart; pruned after the replay window.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use sopilot_protocol::ApprovalState;

use super::{Store, StoreError, approval_state_text};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS approval_messages (
  approval_id TEXT PRIMARY KEY, channel TEXT NOT NULL, ts TEXT NOT NULL, posted_at TEXT NOT NULL,
  shown_state TEXT NOT NULL DEFAULT 'pending');
CREATE TABLE IF NOT EXISTS seen_messages (
  source TEXT NOT NULL, id TEXT NOT NULL, seen_at TEXT NOT NULL, PRIMARY KEY (source, id));
CREATE INDEX IF NOT EXISTS seen_messages_at ON seen_messages (source, seen_at);
";

/// Where an approval's Slack message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalMessage {
    pub approval_id: String,
    /// The channel id Slack answered `chat.postMessage` with (`C…`), not a name.
    pub channel: String,
    pub ts: String,
    /// The approval state the message shows.
    pub shown: ApprovalState,
}

fn parse_state(s: &str) -> ApprovalState {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .unwrap_or(ApprovalState::Pending)
}

impl Store {
    /// Records where an approval's message was posted (replacing an earlier one), synced to
    /// disk: from now on only a press on this message decides the approval.
    pub fn set_approval_message(
        &self,
        approval_id: &str,
        channel: &str,
        ts: &str,
        shown: ApprovalState,
    ) -> Result<(), StoreError> {
        self.durably(|c| {
            c.execute(
                "INSERT OR REPLACE INTO approval_messages (approval_id, channel, ts, posted_at, shown_state)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![approval_id, channel, ts, Utc::now().to_rfc3339(), approval_state_text(shown)],
            )?;
            Ok(())
        })
    }

    /// Where an approval's message is, if SOPilot posted one.
    pub fn approval_message(
        &self,
        approval_id: &str,
    ) -> Result<Option<ApprovalMessage>, StoreError> {
        let c = self.conn();
        let row = c
            .query_row(
                "SELECT approval_id, channel, ts, shown_state FROM approval_messages WHERE approval_id = ?1",
                params![approval_id],
                |r| {
                    Ok(ApprovalMessage {
                        approval_id: r.get(0)?,
                        channel: r.get(1)?,
                        ts: r.get(2)?,
                        shown: parse_state(&r.get::<_, String>(3)?),
                    })
                },
            )
            .optional()?;
        Ok(row)
    }

    /// Notes which state an approval's message now shows.
    pub fn set_approval_message_shown(
        &self,
        approval_id: &str,
        shown: ApprovalState,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE approval_messages SET shown_state = ?2 WHERE approval_id = ?1",
            params![approval_id, approval_state_text(shown)],
        )?;
        Ok(())
    }

    /// Approval messages that still show an older state than their record's (a decision or
    /// an expiry the message does not show yet), oldest first, at most `limit`.
    pub fn stale_approval_messages(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        let c = self.conn();
        let mut stmt = c.prepare(
            "SELECT m.approval_id FROM approval_messages m JOIN approvals a ON a.id = m.approval_id
             WHERE a.state != m.shown_state ORDER BY m.posted_at LIMIT ?1",
        )?;
        let ids = stmt
            .query_map(params![limit as i64], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(ids)
    }

    /// When an approval was decided (or expired), if it was.
    pub fn approval_decided_at(
        &self,
        approval_id: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let c = self.conn();
        let at: Option<Option<String>> = c
            .query_row(
                "SELECT decided_at FROM approvals WHERE id = ?1",
                params![approval_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(at.flatten().and_then(|s| {
            DateTime::parse_from_rfc3339(&s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        }))
    }

    /// Remembers an inbound message id of `source` (e.g. `sns`): true the first time it is
    /// seen, false for a replay.
    pub fn remember_message(
        &self,
        source: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let inserted = self.conn().execute(
            "INSERT OR IGNORE INTO seen_messages (source, id, seen_at) VALUES (?1, ?2, ?3)",
            params![source, id, now.to_rfc3339()],
        )?;
        Ok(inserted == 1)
    }

    /// Forgets one message id again (its handling failed and the sender will retry it).
    pub fn forget_message(&self, source: &str, id: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM seen_messages WHERE source = ?1 AND id = ?2",
            params![source, id],
        )?;
        Ok(())
    }

    /// Forgets the message ids of `source` seen before `before` (outside the replay window);
    /// returns how many.
    pub fn prune_messages(&self, source: &str, before: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM seen_messages WHERE source = ?1 AND seen_at < ?2",
            params![source, before.to_rfc3339()],
        )?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::approval::ApprovalRecord;
    use serde_json::json;

    fn record(id: &str) -> ApprovalRecord {
        let now = Utc::now();
        ApprovalRecord {
            id: id.into(),
            run_id: "run-1".into(),
            call_id: "c1".into(),
            tool: "kubectl.patch_hpa".into(),
            args: json!({"name": "h"}),
            digest: "d".into(),
            impact: None,
            impact_digest: None,
            decision_path: Vec::new(),
            rules: vec![],
            reason: "r".into(),
            requested_at: now,
            expires_at: now + chrono::Duration::minutes(10),
            state: ApprovalState::Pending,
            decided_by: None,
            channel: None,
        }
    }

    #[test]
    fn approval_messages_survive_a_reopen_and_go_stale_when_decided() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let s = Store::open(&path).unwrap();
            s.insert_approval(&record("apr-1")).unwrap();
            assert_eq!(s.approval_message("apr-1").unwrap(), None);
            s.set_approval_message("apr-1", "C1", "1.000100", ApprovalState::Pending)
                .unwrap();
        }
        let s = Store::open(&path).unwrap();
        let m = s.approval_message("apr-1").unwrap().unwrap();
        assert_eq!((m.channel.as_str(), m.ts.as_str()), ("C1", "1.000100"));
        assert!(s.stale_approval_messages(10).unwrap().is_empty());
        s.decide_approval("apr-1", ApprovalState::Approved, "U1", "slack")
            .unwrap();
        assert_eq!(s.stale_approval_messages(10).unwrap(), ["apr-1"]);
        assert!(s.approval_decided_at("apr-1").unwrap().is_some());
        s.set_approval_message_shown("apr-1", ApprovalState::Approved)
            .unwrap();
        assert!(s.stale_approval_messages(10).unwrap().is_empty());
    }

    #[test]
    fn seen_messages_survive_a_reopen_until_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let then = Utc::now() - chrono::Duration::hours(3);
        {
            let s = Store::open(&path).unwrap();
            assert!(s.remember_message("sns", "m1", Utc::now()).unwrap());
            assert!(s.remember_message("sns", "old", then).unwrap());
            assert!(!s.remember_message("sns", "m1", Utc::now()).unwrap());
            assert!(s.remember_message("other", "m1", Utc::now()).unwrap());
        }
        let s = Store::open(&path).unwrap();
        assert!(
            !s.remember_message("sns", "m1", Utc::now()).unwrap(),
            "a replay after a restart is recognised"
        );
        let cutoff = Utc::now() - chrono::Duration::hours(2);
        assert_eq!(s.prune_messages("sns", cutoff).unwrap(), 1);
        assert!(s.remember_message("sns", "old", Utc::now()).unwrap());
        s.forget_message("sns", "m1").unwrap();
        assert!(s.remember_message("sns", "m1", Utc::now()).unwrap());
    }
}
