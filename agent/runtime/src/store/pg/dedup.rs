//! Trigger claims in PostgreSQL: one `INSERT … ON CONFLICT DO UPDATE … WHERE` per trigger.
//! Two replicas claiming one key at once: the second waits for the first's commit, then
//! finds its claim (not reusable) and updates nothing; it reads the first's run after. Both
//! commit lazily: a claim lost with the database host's crash costs at most a second run.

use chrono::{DateTime, Utc};

use super::{Params, Postgres, lazily, params, s};
use crate::store::StoreError;
use crate::store::backend::DedupStore;

impl DedupStore for Postgres {
    fn claim_trigger(
        &self,
        key: &str,
        run_id: &str,
        now: DateTime<Utc>,
        reusable_before: DateTime<Utc>,
        stale_before: DateTime<Utc>,
        unstarted_before: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let p: Params = params![
            s(key),
            s(run_id),
            now,
            reusable_before,
            stale_before,
            unstarted_before
        ];
        let holder = self.db.call(move |c| {
            lazily(c, |tx| {
                let refs = p.refs();
                let claimed = tx.query(
                    "INSERT INTO trigger_claims (dedup_key, run_id, claimed_at, done_at)
                     VALUES ($1, $2, $3, NULL)
                     ON CONFLICT (dedup_key) DO UPDATE SET run_id = EXCLUDED.run_id,
                       claimed_at = EXCLUDED.claimed_at, done_at = NULL
                     WHERE (trigger_claims.done_at IS NOT NULL AND trigger_claims.done_at < $4)
                        OR (trigger_claims.done_at IS NULL AND trigger_claims.claimed_at < $5
                            AND NOT EXISTS (SELECT 1 FROM runs
                                            WHERE runs.id = trigger_claims.run_id
                                              AND runs.status = 'running'
                                              AND runs.lease_until >= $3)
                            AND NOT EXISTS (SELECT 1 FROM run_queue
                                            WHERE run_queue.run_id = trigger_claims.run_id))
                        OR EXISTS (SELECT 1 FROM runs WHERE runs.id = trigger_claims.run_id
                                     AND (runs.status = 'interrupted'
                                          OR (runs.status = 'running' AND runs.lease_until < $3)))
                        OR (trigger_claims.done_at IS NULL AND trigger_claims.claimed_at < $6
                            AND NOT EXISTS (SELECT 1 FROM runs
                                            WHERE runs.id = trigger_claims.run_id))
                     RETURNING run_id",
                    &refs,
                )?;
                if let Some(row) = claimed.first() {
                    return row.try_get::<_, String>(0);
                }
                tx.query_one(
                    "SELECT run_id FROM trigger_claims WHERE dedup_key = $1",
                    &refs[..1],
                )?
                .try_get(0)
            })
        })?;
        Ok(holder)
    }

    fn trigger_done(&self, key: &str, run_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.execute_lazily(
            "UPDATE trigger_claims SET done_at = $3 WHERE dedup_key = $1 AND run_id = $2",
            params![s(key), s(run_id), at],
        )?;
        Ok(())
    }

    fn unclaim_trigger(&self, key: &str, run_id: &str) -> Result<(), StoreError> {
        self.execute_lazily(
            "DELETE FROM trigger_claims WHERE dedup_key = $1 AND run_id = $2",
            params![s(key), s(run_id)],
        )?;
        Ok(())
    }
}
