//! The run queue in SQLite: one writer at a time, so taking the oldest run and claiming it in
//! one write transaction is exclusive.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::Sqlite;
use super::runs::insert_run;
use crate::store::StoreError;
use crate::store::backend::{NewRun, QueueStore, Taker};
use crate::store::changes::stamp;

impl QueueStore for Sqlite {
    fn enqueue(
        &self,
        run: &NewRun<'_>,
        request: &str,
        limit: i64,
    ) -> Result<Option<i64>, StoreError> {
        // Committed (WAL: kept when the process dies), synced with the next durable commit.
        let c = self.conn();
        let tx =
            rusqlite::Transaction::new_unchecked(&c, rusqlite::TransactionBehavior::Immediate)?;
        let queued: i64 = tx.query_row("SELECT count(*) FROM run_queue", [], |r| r.get(0))?;
        if queued >= limit {
            return Ok(Some(queued));
        }
        insert_run(&tx, run, None)?;
        tx.execute(
            "INSERT INTO run_queue (run_id, request, queued_at) VALUES (?1, ?2, ?3)",
            params![run.id, request, stamp(run.started_at)],
        )?;
        tx.commit()?;
        Ok(None)
    }

    fn dequeue(
        &self,
        taker: &Taker<'_>,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<(String, String)>, StoreError> {
        self.immediately(|c| {
            loop {
                let Some((id, request)) = c
                    .query_row(
                        "DELETE FROM run_queue WHERE run_id = (
                           SELECT run_id FROM run_queue ORDER BY queued_at, run_id LIMIT 1)
                         RETURNING run_id, request",
                        [],
                        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
                    )
                    .optional()?
                else {
                    return Ok(None);
                };
                let claimed = c.execute(
                    "UPDATE runs SET owner = ?2, lease_until = ?4, pid = ?5, process_nonce = ?6
                     WHERE id = ?1 AND status = 'running'
                       AND (owner IS NULL OR owner = ?2 OR lease_until IS NULL OR lease_until < ?3)",
                    params![id, taker.owner, stamp(now), stamp(until), taker.pid, taker.nonce],
                )?;
                if claimed == 1 {
                    return Ok(Some((id, request)));
                }
            }
        })
    }

    fn start_leased(
        &self,
        run: &NewRun<'_>,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // One statement, synced (as a claim is).
        self.durably(|c| insert_run(c, run, Some((owner, until))))
    }

    fn queued(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM run_queue", [], |r| r.get(0))?)
    }
}
