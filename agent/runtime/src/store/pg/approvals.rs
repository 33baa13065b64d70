//! Approvals, approval messages, seen messages and unrouted triggers in PostgreSQL.

use chrono::{DateTime, Utc};

use super::{APPROVAL_COLUMNS, Params, Postgres, approval_row, first, limit, opt, params, s};
use crate::store::backend::{
    ApprovalRow, ApprovalStore, Decided, InboxStore, RawApproval, enum_text, parse_state,
};
use crate::store::{ApprovalMessage, StoreError, UnroutedTrigger};

impl ApprovalStore for Postgres {
    fn insert_approval(&self, row: &ApprovalRow<'_>) -> Result<(), StoreError> {
        let r = row.r;
        self.execute(
            "INSERT INTO approvals (id, run_id, call_id, tool, args, digest, impact, rules, reason, requested_at, expires_at, state, impact_digest, decision_path)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            params![
                r.id.clone(),
                r.run_id.clone(),
                r.call_id.clone(),
                r.tool.clone(),
                row.args.clone(),
                r.digest.clone(),
                row.impact.clone(),
                row.rules.clone(),
                r.reason.clone(),
                r.requested_at,
                r.expires_at,
                row.state.clone(),
                r.impact_digest.clone(),
                row.decision_path.clone()
            ],
        )?;
        Ok(())
    }

    fn expire_approval(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.execute(
            "UPDATE approvals SET state = 'expired', decided_by = 'sopilot', channel = 'expiry', decided_at = $2
             WHERE id = $1 AND state = 'pending' AND expires_at <= $2",
            params![s(id), at],
        )?;
        Ok(())
    }

    fn decide_pending(&self, id: &str, d: &Decided<'_>) -> Result<bool, StoreError> {
        Ok(self.execute(
            "UPDATE approvals SET state = $2, decided_by = $3, channel = $4, decided_at = $5
             WHERE id = $1 AND state = 'pending' AND expires_at > $5",
            params![s(id), s(d.state), s(d.by), s(d.channel), d.at],
        )? == 1)
    }

    fn expire_pending_of_run(
        &self,
        run_id: &str,
        why: &str,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        Ok(self.execute(
            "UPDATE approvals SET state = 'expired', decided_by = $2, channel = 'cancel', decided_at = $3
             WHERE run_id = $1 AND state = 'pending'",
            params![s(run_id), s(why), at],
        )? as usize)
    }

    fn approval(&self, id: &str) -> Result<Option<RawApproval>, StoreError> {
        let sql = format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = $1");
        Ok(first(self.rows(sql, params![s(id)], approval_row)?))
    }

    fn approvals(&self, state: Option<&str>) -> Result<Vec<RawApproval>, StoreError> {
        let sql = format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE $1::text IS NULL OR state = $1
             ORDER BY requested_at, id"
        );
        self.rows(sql, params![opt(state)], approval_row)
    }

    fn approval_decided_at(&self, id: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let rows = self.rows(
            "SELECT decided_at FROM approvals WHERE id = $1".into(),
            params![s(id)],
            |r| r.try_get::<_, Option<DateTime<Utc>>>(0),
        )?;
        Ok(first(rows).flatten())
    }

    fn claim_execution(&self, id: &str, by: &str) -> Result<bool, StoreError> {
        Ok(self.execute(
            "UPDATE approvals SET executed_by = $2
             WHERE id = $1 AND state = 'approved' AND executed_by IS NULL",
            params![s(id), s(by)],
        )? == 1)
    }

    fn executed_by(&self, id: &str) -> Result<Option<String>, StoreError> {
        let rows = self.rows(
            "SELECT executed_by FROM approvals WHERE id = $1".into(),
            params![s(id)],
            |r| r.try_get::<_, Option<String>>(0),
        )?;
        Ok(first(rows).flatten())
    }
}

impl InboxStore for Postgres {
    fn set_approval_message(
        &self,
        m: &ApprovalMessage,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO approval_messages (approval_id, channel, ts, posted_at, shown_state)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (approval_id) DO UPDATE SET channel = excluded.channel, ts = excluded.ts,
               posted_at = excluded.posted_at, shown_state = excluded.shown_state",
            params![
                m.approval_id.clone(),
                m.channel.clone(),
                m.ts.clone(),
                at,
                enum_text(m.shown)
            ],
        )?;
        Ok(())
    }

    fn approval_message(&self, approval_id: &str) -> Result<Option<ApprovalMessage>, StoreError> {
        let rows = self.rows(
            "SELECT approval_id, channel, ts, shown_state FROM approval_messages WHERE approval_id = $1"
                .into(),
            params![s(approval_id)],
            |r| {
                Ok(ApprovalMessage {
                    approval_id: r.try_get(0)?,
                    channel: r.try_get(1)?,
                    ts: r.try_get(2)?,
                    shown: parse_state(r.try_get(3)?),
                })
            },
        )?;
        Ok(first(rows))
    }

    fn set_approval_message_shown(&self, approval_id: &str, shown: &str) -> Result<(), StoreError> {
        self.execute_lazily(
            "UPDATE approval_messages SET shown_state = $2 WHERE approval_id = $1",
            params![s(approval_id), s(shown)],
        )?;
        Ok(())
    }

    fn stale_approval_messages(&self, n: usize) -> Result<Vec<String>, StoreError> {
        self.rows(
            "SELECT m.approval_id FROM approval_messages m JOIN approvals a ON a.id = m.approval_id
             WHERE a.state != m.shown_state ORDER BY m.posted_at, m.approval_id LIMIT $1"
                .into(),
            params![limit(n)],
            |r| r.try_get(0),
        )
    }

    fn remember_message(
        &self,
        source: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.execute_lazily(
            "INSERT INTO seen_messages (source, id, seen_at) VALUES ($1, $2, $3)
             ON CONFLICT (source, id) DO NOTHING",
            params![s(source), s(id), at],
        )? == 1)
    }

    fn forget_message(&self, source: &str, id: &str) -> Result<(), StoreError> {
        self.execute_lazily(
            "DELETE FROM seen_messages WHERE source = $1 AND id = $2",
            params![s(source), s(id)],
        )?;
        Ok(())
    }

    fn prune_messages(&self, source: &str, before: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(self.execute_lazily(
            "DELETE FROM seen_messages WHERE source = $1 AND seen_at < $2",
            params![s(source), before],
        )? as usize)
    }

    fn record_unrouted(&self, t: &UnroutedTrigger, keep: i64) -> Result<(), StoreError> {
        let p = params![
            t.at,
            t.kind.clone(),
            t.dedup_key.clone(),
            t.origin.clone(),
            t.reason.clone(),
            serde_json::to_string(&t.trigger)?
        ];
        self.db.call(move |c| {
            let mut tx = c.transaction()?;
            tx.batch_execute("SET LOCAL synchronous_commit = off")?;
            tx.execute(
                "INSERT INTO unrouted_triggers (at, kind, dedup_key, origin, reason, trigger_json)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &p.refs(),
            )?;
            tx.execute(
                "DELETE FROM unrouted_triggers WHERE id <= (SELECT MAX(id) FROM unrouted_triggers) - $1",
                &[&keep],
            )?;
            tx.commit()
        })
    }

    fn unrouted(&self, n: usize) -> Result<Vec<UnroutedTrigger>, StoreError> {
        let rows = self.rows(
            "SELECT at, kind, dedup_key, origin, reason, trigger_json FROM unrouted_triggers
             ORDER BY id DESC LIMIT $1"
                .into(),
            params![limit(n)],
            |r| {
                Ok((
                    r.try_get::<_, DateTime<Utc>>(0)?,
                    r.try_get::<_, String>(1)?,
                    r.try_get::<_, String>(2)?,
                    r.try_get::<_, String>(3)?,
                    r.try_get::<_, String>(4)?,
                    r.try_get::<_, String>(5)?,
                ))
            },
        )?;
        rows.into_iter()
            .map(|(at, kind, dedup_key, origin, reason, json)| {
                Ok(UnroutedTrigger {
                    at,
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
