//! The run queue in PostgreSQL: a replica takes the oldest queued run with
//! `FOR UPDATE SKIP LOCKED`, so replicas taking at the same moment take different runs and
//! never wait for each other; taking it and claiming its lease is one transaction.

use chrono::{DateTime, Utc};

use super::runs::{INSERT_RUN, new_run_params};
use super::{Params, Postgres, lazily, params, s};
use crate::store::StoreError;
use crate::store::backend::{NewRun, QueueStore, Taker};

impl QueueStore for Postgres {
    fn enqueue(
        &self,
        run: &NewRun<'_>,
        request: &str,
        limit: i64,
    ) -> Result<Option<i64>, StoreError> {
        let insert = new_run_params(run, None);
        let queue = params![s(run.id), s(request), run.started_at];
        // Committed lazily, as a run's record always was: kept when any replica dies; only a
        // crash of the database's host within its WAL writer's delay could lose it. (Durably,
        // an fsync per queued run under a storm was too slow: see the benchmark.)
        self.db.call(move |c| {
            lazily(c, |tx| {
                let queued: i64 = tx
                    .query_one("SELECT count(*) FROM run_queue", &[])?
                    .try_get(0)?;
                if queued >= limit {
                    return Ok(Some(queued));
                }
                tx.execute(INSERT_RUN, &insert.refs())?;
                tx.execute(
                    "INSERT INTO run_queue (run_id, request, queued_at) VALUES ($1, $2, $3)",
                    &queue.refs(),
                )?;
                Ok(None)
            })
        })
    }

    fn dequeue(
        &self,
        taker: &Taker<'_>,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<(String, String)>, StoreError> {
        let (owner, pid) = (taker.owner.to_owned(), i64::from(taker.pid));
        let (nonce, host) = (taker.nonce.to_owned(), taker.host.to_owned());
        self.db.call(move |c| {
            let mut tx = c.transaction()?;
            let taken = loop {
                let Some(row) = tx.query_opt(
                    "DELETE FROM run_queue WHERE run_id = (
                       SELECT run_id FROM run_queue ORDER BY queued_at, run_id
                       LIMIT 1 FOR UPDATE SKIP LOCKED)
                     RETURNING run_id, request",
                    &[],
                )?
                else {
                    break None;
                };
                let (id, request): (String, String) = (row.try_get(0)?, row.try_get(1)?);
                let claimed = tx.execute(
                    "UPDATE runs SET owner = $2, lease_until = $4, pid = $5, process_nonce = $6,
                       host = $7
                     WHERE id = $1 AND status = 'running'
                       AND (owner IS NULL OR owner = $2 OR lease_until IS NULL OR lease_until < $3)",
                    &[&id, &owner, &now, &until, &pid, &nonce, &host],
                )?;
                if claimed == 1 {
                    break Some((id, request));
                }
            };
            tx.commit()?;
            Ok(taken)
        })
    }

    fn start_leased(
        &self,
        run: &NewRun<'_>,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // One statement, committed durably (as a claim is).
        self.execute(INSERT_RUN, new_run_params(run, Some((owner, until))))?;
        Ok(())
    }

    fn queued(&self) -> Result<i64, StoreError> {
        self.db.call(|c| {
            c.query_one("SELECT count(*) FROM run_queue", &[])?
                .try_get(0)
        })
    }
}
