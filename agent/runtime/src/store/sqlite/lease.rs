//! Run ownership in SQLite: one writer at a time, so a write transaction makes a claim
//! exclusive.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::Sqlite;
use crate::store::StoreError;
use crate::store::backend::{LeaseStore, parse_time};
use crate::store::changes::stamp;

impl LeaseStore for Sqlite {
    fn claim(
        &self,
        run_id: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.immediately(|c| {
            Ok(c.execute(
                "UPDATE runs SET owner = ?2, lease_until = ?4 WHERE id = ?1 AND status = 'running'
                   AND (owner IS NULL OR owner = ?2 OR lease_until IS NULL OR lease_until < ?3)",
                params![run_id, owner, stamp(now), stamp(until)],
            )? == 1)
        })
    }

    fn claim_expired(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        // One writer at a time in SQLite: the write lock makes the claim exclusive.
        self.immediately(|c| {
            Ok(c.query_row(
                "UPDATE runs SET owner = ?1, lease_until = ?3 WHERE id = (
                   SELECT id FROM runs WHERE status = 'running' AND lease_until < ?2
                   ORDER BY lease_until, id LIMIT 1)
                 RETURNING id",
                params![owner, stamp(now), stamp(until)],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    fn heartbeat(
        &self,
        run_id: &str,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "UPDATE runs SET lease_until = ?3 WHERE id = ?1 AND owner = ?2 AND status = 'running'",
            params![run_id, owner, stamp(until)],
        )? == 1)
    }

    fn release(&self, run_id: &str, owner: &str) -> Result<bool, StoreError> {
        self.durably(|c| {
            Ok(c.execute(
                "UPDATE runs SET owner = NULL, lease_until = NULL WHERE id = ?1 AND owner = ?2",
                params![run_id, owner],
            )? == 1)
        })
    }

    fn owner(&self, run_id: &str) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        let row: Option<(Option<String>, Option<String>)> = self
            .conn()
            .query_row(
                "SELECT owner, lease_until FROM runs WHERE id = ?1",
                params![run_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(match row {
            Some((Some(owner), Some(until))) => parse_time(&until).map(|t| (owner, t)),
            _ => None,
        })
    }
}
