//! Trigger claims in SQLite: one writer at a time, so the upsert and the read that follows
//! it in one write transaction see no other process's claim in between.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::Sqlite;
use crate::store::StoreError;
use crate::store::backend::DedupStore;
use crate::store::changes::stamp;

impl DedupStore for Sqlite {
    fn claim_trigger(
        &self,
        key: &str,
        run_id: &str,
        now: DateTime<Utc>,
        reusable_before: DateTime<Utc>,
        stale_before: DateTime<Utc>,
        unstarted_before: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let c = self.conn();
        let tx =
            rusqlite::Transaction::new_unchecked(&c, rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO trigger_claims (dedup_key, run_id, claimed_at, done_at) VALUES (?1, ?2, ?3, NULL)
             ON CONFLICT (dedup_key) DO UPDATE SET run_id = excluded.run_id,
               claimed_at = excluded.claimed_at, done_at = NULL
             WHERE (trigger_claims.done_at IS NOT NULL AND trigger_claims.done_at < ?4)
                OR (trigger_claims.done_at IS NULL AND trigger_claims.claimed_at < ?5
                    AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.id = trigger_claims.run_id
                                      AND runs.status = 'running' AND runs.lease_until >= ?3)
                    AND NOT EXISTS (SELECT 1 FROM run_queue WHERE run_queue.run_id = trigger_claims.run_id))
                OR EXISTS (SELECT 1 FROM runs WHERE runs.id = trigger_claims.run_id
                             AND (runs.status = 'interrupted'
                                  OR (runs.status = 'running' AND runs.lease_until < ?3)))
                OR (trigger_claims.done_at IS NULL AND trigger_claims.claimed_at < ?6
                    AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.id = trigger_claims.run_id))",
            params![
                key,
                run_id,
                stamp(now),
                stamp(reusable_before),
                stamp(stale_before),
                stamp(unstarted_before)
            ],
        )?;
        let holder = tx.query_row(
            "SELECT run_id FROM trigger_claims WHERE dedup_key = ?1",
            params![key],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(holder)
    }

    fn trigger_done(&self, key: &str, run_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE trigger_claims SET done_at = ?3 WHERE dedup_key = ?1 AND run_id = ?2",
            params![key, run_id, stamp(at)],
        )?;
        Ok(())
    }

    fn unclaim_trigger(&self, key: &str, run_id: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM trigger_claims WHERE dedup_key = ?1 AND run_id = ?2",
            params![key, run_id],
        )?;
        Ok(())
    }
}
