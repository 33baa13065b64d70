//! Run ownership in PostgreSQL: a claim is one conditional `UPDATE`; two replicas updating
//! the same row, the second waits for the first's commit and re-checks the condition on the
//! row as the first left it.

use chrono::{DateTime, Utc};

use super::{Params, Postgres, first, params, s};
use crate::store::StoreError;
use crate::store::backend::LeaseStore;

impl LeaseStore for Postgres {
    fn claim(
        &self,
        run_id: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // Two replicas updating the same row: the second waits for the first's commit and
        // re-checks the condition on the row as the first left it.
        Ok(self.execute(
            "UPDATE runs SET owner = $2, lease_until = $4 WHERE id = $1 AND status = 'running'
               AND (owner IS NULL OR owner = $2 OR lease_until IS NULL OR lease_until < $3)",
            params![s(run_id), s(owner), now, until],
        )? == 1)
    }

    fn claim_expired(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let rows = self.rows(
            "UPDATE runs SET owner = $1, lease_until = $3 WHERE id = (
               SELECT id FROM runs WHERE status = 'running' AND lease_until < $2
               ORDER BY lease_until, id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING id"
                .into(),
            params![s(owner), now, until],
            |r| r.try_get(0),
        )?;
        Ok(first(rows))
    }

    fn heartbeat(
        &self,
        run_id: &str,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.execute_lazily(
            "UPDATE runs SET lease_until = $3 WHERE id = $1 AND owner = $2 AND status = 'running'",
            params![s(run_id), s(owner), until],
        )? == 1)
    }

    fn release(&self, run_id: &str, owner: &str) -> Result<bool, StoreError> {
        Ok(self.execute(
            "UPDATE runs SET owner = NULL, lease_until = NULL WHERE id = $1 AND owner = $2",
            params![s(run_id), s(owner)],
        )? == 1)
    }

    fn owner(&self, run_id: &str) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        let rows = self.rows(
            "SELECT owner, lease_until FROM runs WHERE id = $1 AND owner IS NOT NULL AND lease_until IS NOT NULL"
                .into(),
            params![s(run_id)],
            |r| Ok((r.try_get(0)?, r.try_get(1)?)),
        )?;
        Ok(first(rows))
    }
}
