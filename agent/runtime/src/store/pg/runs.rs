//! Runs, their events and the tool-call audit in PostgreSQL.

use chrono::{DateTime, Utc};
use postgres::error::SqlState;

use super::{
    CALL_COLUMNS, Params, Postgres, RUN_COLUMNS, call_row, first, lazily, limit, opt, params,
    run_row, s,
};
use crate::store::backend::{AuditStore, CallRow, NewRun, RawCall, RawEvent, RawRun, RunStore};
use crate::store::{PastChange, StoreError};

/// How often an event insert is retried when another replica numbered an event of the same
/// run at the same moment.
const EVENT_RETRIES: usize = 50;

/// Records a new run (`$1`…`$11`: [`new_run_params`]), leased when it starts at once; a run
/// recorded already (queued) gets its parameters and model updated while it is still running.
pub(super) const INSERT_RUN: &str = "INSERT INTO runs (id, sop, status, trigger, params, model, started_at, pid, host, process_nonce, owner, lease_until)
     VALUES ($1, $2, 'running', $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (id) DO UPDATE SET params = excluded.params, model = excluded.model
     WHERE runs.status = 'running'";

/// The parameters of [`INSERT_RUN`]: the run, and its owner and lease end if it has them.
pub(super) fn new_run_params(run: &NewRun<'_>, lease: Option<(&str, DateTime<Utc>)>) -> Params {
    params![
        s(run.id),
        s(run.sop),
        run.trigger.clone(),
        run.params.clone(),
        s(run.model),
        run.started_at,
        i64::from(run.pid),
        s(run.host),
        s(run.nonce),
        lease.map(|(owner, _)| owner.to_owned()),
        lease.map(|(_, until)| until)
    ]
}

impl RunStore for Postgres {
    fn create_run(&self, run: &NewRun<'_>) -> Result<(), StoreError> {
        self.execute_lazily(INSERT_RUN, new_run_params(run, None))?;
        Ok(())
    }

    fn finish_run(
        &self,
        id: &str,
        status: &str,
        at: DateTime<Utc>,
        summary: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.execute_lazily(
            "UPDATE runs SET status = $2, finished_at = $3, summary = $4, reason = $5 WHERE id = $1",
            params![s(id), s(status), at, s(summary), s(reason)],
        )?;
        Ok(())
    }

    fn running_here(
        &self,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, i64, Option<String>)>, StoreError> {
        self.rows(
            "SELECT id, pid, process_nonce FROM runs WHERE status = 'running' AND host = $1
               AND (lease_until IS NULL OR lease_until < $2 OR owner = host || ':' || pid)
               AND id NOT IN (SELECT run_id FROM run_queue)"
                .into(),
            params![s(host), now],
            |r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)),
        )
    }

    fn interrupt(&self, id: &str, at: DateTime<Utc>, reason: &str) -> Result<(), StoreError> {
        self.execute_lazily(
            "UPDATE runs SET status = 'interrupted', finished_at = $2, reason = $3
             WHERE id = $1 AND status = 'running'",
            params![s(id), at, s(reason)],
        )?;
        Ok(())
    }

    fn append_event(&self, run_id: &str, at: DateTime<Utc>, body: &str) -> Result<i64, StoreError> {
        let p = params![s(run_id), at, s(body)];
        self.db.call(move |c| {
            let mut tries = 0;
            loop {
                let inserted = lazily(c, |tx| {
                    tx.query_one(
                        "INSERT INTO events (run_id, seq, at, body)
                         SELECT $1, COALESCE(MAX(seq), -1) + 1, $2, $3 FROM events WHERE run_id = $1
                         RETURNING seq",
                        &p.refs(),
                    )
                });
                match inserted {
                    Err(e)
                        if e.code() == Some(&SqlState::UNIQUE_VIOLATION)
                            && tries < EVENT_RETRIES =>
                    {
                        tries += 1;
                    }
                    other => return other?.try_get(0),
                }
            }
        })
    }

    fn runs(&self, n: usize) -> Result<Vec<RawRun>, StoreError> {
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at DESC, id DESC LIMIT $1");
        self.rows(sql, params![limit(n)], run_row)
    }

    fn run(&self, id: &str) -> Result<Option<RawRun>, StoreError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1");
        Ok(first(self.rows(sql, params![s(id)], run_row)?))
    }

    fn events(&self, run_id: &str) -> Result<Vec<RawEvent>, StoreError> {
        self.rows(
            "SELECT seq, at, body FROM events WHERE run_id = $1 ORDER BY seq".into(),
            params![s(run_id)],
            |r| {
                Ok(RawEvent {
                    seq: r.try_get(0)?,
                    at: r.try_get(1)?,
                    body: r.try_get(2)?,
                })
            },
        )
    }
}

impl AuditStore for Postgres {
    /// `durable`: committed once on the server's disk; otherwise [`lazily`](super::lazily).
    fn write_call(&self, row: &CallRow<'_>, durable: bool) -> Result<(), StoreError> {
        let a = row.a;
        let sql = "INSERT INTO tool_calls (run_id, call_id, seq, tool, origin, args, impact, decision, rules, reason, approval_id, executed, ok, result_bytes, duration_ms, error, target, workload, executed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
             ON CONFLICT (run_id, call_id) DO UPDATE SET args = excluded.args, impact = excluded.impact, decision = excluded.decision,
               rules = excluded.rules, reason = excluded.reason, approval_id = excluded.approval_id,
               executed = excluded.executed, ok = excluded.ok, result_bytes = excluded.result_bytes,
               duration_ms = excluded.duration_ms, error = excluded.error, target = excluded.target,
               workload = excluded.workload, executed_at = excluded.executed_at";
        let params = params![
            s(row.run_id),
            a.call_id.clone(),
            row.seq,
            a.tool.clone(),
            row.origin.clone(),
            row.args.clone(),
            row.impact.clone(),
            row.decision.map(str::to_owned),
            row.rules.clone(),
            a.reason.clone(),
            opt(row.approval),
            a.executed,
            a.ok,
            row.result_bytes,
            row.duration_ms,
            a.error.clone(),
            a.target.clone(),
            a.workload.clone(),
            a.executed_at
        ];
        if durable {
            self.execute(sql, params)?;
        } else {
            self.execute_lazily(sql, params)?;
        }
        Ok(())
    }

    fn calls(&self, run_id: &str) -> Result<Vec<RawCall>, StoreError> {
        let sql = format!("SELECT {CALL_COLUMNS} FROM tool_calls WHERE run_id = $1 ORDER BY seq");
        self.rows(sql, params![s(run_id)], call_row)
    }

    fn targets_changed_by(
        &self,
        tool: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        self.rows(
            "SELECT DISTINCT target FROM tool_calls
             WHERE executed AND executed_at >= $1 AND target IS NOT NULL AND tool = $2
             ORDER BY target"
                .into(),
            params![since, s(tool)],
            |r| r.try_get(0),
        )
    }

    fn changes_since(
        &self,
        target: &str,
        workload: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<Vec<PastChange>, StoreError> {
        let rows = self.rows(
            "SELECT run_id, tool, target, workload, impact, executed_at FROM tool_calls
             WHERE executed AND executed_at >= $3
               AND (target = $1 OR ($2::text IS NOT NULL AND (workload = $2 OR target = $2)))
             ORDER BY executed_at, seq"
                .into(),
            params![s(target), opt(workload), since],
            |r| {
                Ok((
                    r.try_get::<_, String>(0)?,
                    r.try_get::<_, String>(1)?,
                    r.try_get::<_, Option<String>>(2)?,
                    r.try_get::<_, Option<String>>(3)?,
                    r.try_get::<_, Option<String>>(4)?,
                    r.try_get::<_, DateTime<Utc>>(5)?,
                ))
            },
        )?;
        rows.into_iter()
            .map(|(run_id, tool, target, workload, impact, executed_at)| {
                Ok(PastChange {
                    run_id,
                    tool,
                    target,
                    workload,
                    impact: impact.map(|i| serde_json::from_str(&i)).transpose()?,
                    executed_at,
                })
            })
            .collect()
    }
}
