//! Approvals, approval messages, seen messages and unrouted triggers in SQLite.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{APPROVAL_COLUMNS, Sqlite, approval_row};
use crate::store::backend::{
    ApprovalRow, ApprovalStore, Decided, InboxStore, RawApproval, enum_text, parse_state,
    parse_time,
};
use crate::store::{ApprovalMessage, StoreError, UnroutedTrigger};

/// Whether `expires_at` is not after the time bound as `?N`, both read as times: stored
/// `expires_at` texts are RFC 3339 with an offset and a varying number of fractional digits,
/// so both sides are brought to one fixed-width UTC form (to the millisecond) first.
macro_rules! expired_at {
    ($n:literal) => {
        concat!(
            "strftime('%Y-%m-%dT%H:%M:%f', expires_at) <= strftime('%Y-%m-%dT%H:%M:%f', ?",
            $n,
            ")"
        )
    };
}
const EXPIRED_AT_2: &str = expired_at!("2");
const EXPIRED_AT_5: &str = expired_at!("5");

impl ApprovalStore for Sqlite {
    fn insert_approval(&self, row: &ApprovalRow<'_>) -> Result<(), StoreError> {
        let r = row.r;
        self.durably(|c| {
            c.execute(
                "INSERT INTO approvals (id, run_id, call_id, tool, args, digest, impact, rules, reason, requested_at, expires_at, state, impact_digest, decision_path)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    r.id, r.run_id, r.call_id, r.tool, row.args, r.digest, row.impact, row.rules,
                    r.reason, r.requested_at.to_rfc3339(), r.expires_at.to_rfc3339(), row.state,
                    r.impact_digest, row.decision_path
                ],
            )?;
            Ok(())
        })
    }

    fn expire_approval(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.durably(|c| {
            c.execute(
                &format!("UPDATE approvals SET state = 'expired', decided_by = 'sopilot', channel = 'expiry', decided_at = ?2
                  WHERE id = ?1 AND state = 'pending' AND {EXPIRED_AT_2}"),
                params![id, at.to_rfc3339()],
            )?;
            Ok(())
        })
    }

    fn decide_pending(&self, id: &str, d: &Decided<'_>) -> Result<bool, StoreError> {
        self.durably(|c| {
            Ok(c.execute(
                &format!("UPDATE approvals SET state = ?2, decided_by = ?3, channel = ?4, decided_at = ?5
                  WHERE id = ?1 AND state = 'pending' AND NOT {EXPIRED_AT_5}"),
                params![id, d.state, d.by, d.channel, d.at.to_rfc3339()],
            )? == 1)
        })
    }

    fn expire_pending_of_run(
        &self,
        run_id: &str,
        why: &str,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        self.durably(|c| {
            Ok(c.execute(
                "UPDATE approvals SET state = 'expired', decided_by = ?2, channel = 'cancel', decided_at = ?3 WHERE run_id = ?1 AND state = 'pending'",
                params![run_id, why, at.to_rfc3339()],
            )?)
        })
    }

    fn approval(&self, id: &str) -> Result<Option<RawApproval>, StoreError> {
        let sql = format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = ?1");
        Ok(self
            .conn()
            .query_row(&sql, params![id], approval_row)
            .optional()?)
    }

    fn approvals(&self, state: Option<&str>) -> Result<Vec<RawApproval>, StoreError> {
        let sql = format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE ?1 IS NULL OR state = ?1 ORDER BY requested_at, id"
        );
        self.rows(&sql, params![state], approval_row)
    }

    fn approval_decided_at(&self, id: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let at: Option<Option<String>> = self
            .conn()
            .query_row(
                "SELECT decided_at FROM approvals WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(at.flatten().as_deref().and_then(parse_time))
    }

    fn claim_execution(&self, id: &str, by: &str) -> Result<bool, StoreError> {
        self.durably(|c| {
            Ok(c.execute(
                "UPDATE approvals SET executed_by = ?2
                 WHERE id = ?1 AND state = 'approved' AND executed_by IS NULL",
                params![id, by],
            )? == 1)
        })
    }

    fn executed_by(&self, id: &str) -> Result<Option<String>, StoreError> {
        let by: Option<Option<String>> = self
            .conn()
            .query_row(
                "SELECT executed_by FROM approvals WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(by.flatten())
    }
}

impl InboxStore for Sqlite {
    fn set_approval_message(
        &self,
        m: &ApprovalMessage,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.durably(|c| {
            c.execute(
                "INSERT OR REPLACE INTO approval_messages (approval_id, channel, ts, posted_at, shown_state)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![m.approval_id, m.channel, m.ts, at.to_rfc3339(), enum_text(m.shown)],
            )?;
            Ok(())
        })
    }

    fn approval_message(&self, approval_id: &str) -> Result<Option<ApprovalMessage>, StoreError> {
        Ok(self
            .conn()
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
            .optional()?)
    }

    fn set_approval_message_shown(&self, approval_id: &str, shown: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE approval_messages SET shown_state = ?2 WHERE approval_id = ?1",
            params![approval_id, shown],
        )?;
        Ok(())
    }

    fn stale_approval_messages(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        self.rows(
            "SELECT m.approval_id FROM approval_messages m JOIN approvals a ON a.id = m.approval_id
             WHERE a.state != m.shown_state ORDER BY m.posted_at, m.approval_id LIMIT ?1",
            params![limit.min(i64::MAX as usize) as i64],
            |r| r.get(0),
        )
    }

    fn remember_message(
        &self,
        source: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "INSERT OR IGNORE INTO seen_messages (source, id, seen_at) VALUES (?1, ?2, ?3)",
            params![source, id, at.to_rfc3339()],
        )? == 1)
    }

    fn forget_message(&self, source: &str, id: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM seen_messages WHERE source = ?1 AND id = ?2",
            params![source, id],
        )?;
        Ok(())
    }

    fn prune_messages(&self, source: &str, before: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM seen_messages WHERE source = ?1 AND seen_at < ?2",
            params![source, before.to_rfc3339()],
        )?)
    }

    fn record_unrouted(&self, t: &UnroutedTrigger, keep: i64) -> Result<(), StoreError> {
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
            params![keep],
        )?;
        Ok(())
    }

    fn unrouted(&self, limit: usize) -> Result<Vec<UnroutedTrigger>, StoreError> {
        let rows = self.rows(
            "SELECT at, kind, dedup_key, origin, reason, trigger_json FROM unrouted_triggers
             ORDER BY id DESC LIMIT ?1",
            params![limit.min(i64::MAX as usize) as i64],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            },
        )?;
        rows.into_iter()
            .map(|(at, kind, dedup_key, origin, reason, json)| {
                Ok(UnroutedTrigger {
                    at: parse_time(&at).unwrap_or_default(),
                    kind,
                    dedup_key,
                    origin,
                    reason,
                    trigger: serde_json::from_str(&json)?,
                })
            })
            .collect()
    }
}
