//! Runs, their events and the tool-call audit in SQLite.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{CALL_COLUMNS, RUN_COLUMNS, Sqlite, call_row, run_row, time};
use crate::store::backend::{
    AuditStore, CallRow, NewRun, RawCall, RawEvent, RawRun, RunStore, parse_time,
};
use crate::store::changes::stamp;
use crate::store::{PastChange, StoreError};

/// Records a new run, with its owner and lease end if it starts at once; a run recorded
/// already (queued) gets its parameters and model updated while it is still running.
pub(super) fn insert_run(
    c: &Connection,
    run: &NewRun<'_>,
    lease: Option<(&str, DateTime<Utc>)>,
) -> Result<(), StoreError> {
    let (owner, until) = (lease.map(|l| l.0), lease.map(|l| stamp(l.1)));
    c.execute(
        "INSERT INTO runs (id, sop, status, trigger, params, model, started_at, pid, process_nonce, owner, lease_until) VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (id) DO UPDATE SET params = excluded.params, model = excluded.model
         WHERE runs.status = 'running'",
        params![run.id, run.sop, run.trigger, run.params, run.model, run.started_at.to_rfc3339(), run.pid, run.nonce, owner, until],
    )?;
    Ok(())
}

impl RunStore for Sqlite {
    fn create_run(&self, run: &NewRun<'_>) -> Result<(), StoreError> {
        insert_run(&self.conn(), run, None)
    }

    fn finish_run(
        &self,
        id: &str,
        status: &str,
        at: DateTime<Utc>,
        summary: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE runs SET status = ?2, finished_at = ?3, summary = ?4, reason = ?5 WHERE id = ?1",
            params![id, status, at.to_rfc3339(), summary, reason],
        )?;
        Ok(())
    }

    /// A file is this host's: every running run nobody holds a live lease on, except queued
    /// runs (they wait for whichever process takes them next).
    fn running_here(
        &self,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, i64, Option<String>)>, StoreError> {
        // A lease held by the run's own process counts for nothing here: whether that process
        // lives is what the caller decides.
        self.rows(
            "SELECT id, pid, process_nonce FROM runs WHERE status = 'running'
               AND (lease_until IS NULL OR lease_until < ?1 OR owner = ?2 || ':' || pid)
               AND id NOT IN (SELECT run_id FROM run_queue)",
            params![stamp(now), host],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }

    fn interrupt(&self, id: &str, at: DateTime<Utc>, reason: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE runs SET status = 'interrupted', finished_at = ?2, reason = ?3 WHERE id = ?1 AND status = 'running'",
            params![id, at.to_rfc3339(), reason],
        )?;
        Ok(())
    }

    fn append_event(&self, run_id: &str, at: DateTime<Utc>, body: &str) -> Result<i64, StoreError> {
        Ok(self.conn().query_row(
            "INSERT INTO events (run_id, seq, at, body)
             SELECT ?1, COALESCE(MAX(seq), -1) + 1, ?2, ?3 FROM events WHERE run_id = ?1
             RETURNING seq",
            params![run_id, at.to_rfc3339(), body],
            |r| r.get(0),
        )?)
    }

    fn runs(&self, limit: usize) -> Result<Vec<RawRun>, StoreError> {
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at DESC, id DESC LIMIT ?1");
        self.rows(&sql, params![limit.min(i64::MAX as usize) as i64], run_row)
    }

    fn run(&self, id: &str) -> Result<Option<RawRun>, StoreError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1");
        Ok(self
            .conn()
            .query_row(&sql, params![id], run_row)
            .optional()?)
    }

    fn events(&self, run_id: &str) -> Result<Vec<RawEvent>, StoreError> {
        self.rows(
            "SELECT seq, at, body FROM events WHERE run_id = ?1 ORDER BY seq",
            params![run_id],
            |r| {
                Ok(RawEvent {
                    seq: r.get(0)?,
                    at: time(&r.get::<_, String>(1)?),
                    body: r.get(2)?,
                })
            },
        )
    }
}

impl AuditStore for Sqlite {
    fn write_call(&self, row: &CallRow<'_>, durable: bool) -> Result<(), StoreError> {
        if durable {
            self.durably(|c| write_call(c, row))
        } else {
            write_call(&self.conn(), row)
        }
    }

    fn calls(&self, run_id: &str) -> Result<Vec<RawCall>, StoreError> {
        let sql = format!("SELECT {CALL_COLUMNS} FROM tool_calls WHERE run_id = ?1 ORDER BY seq");
        self.rows(&sql, params![run_id], call_row)
    }

    fn targets_changed_by(
        &self,
        tool: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        self.rows(
            "SELECT DISTINCT target FROM tool_calls
             WHERE executed = 1 AND executed_at >= ?1 AND target IS NOT NULL AND tool = ?2
             ORDER BY target",
            params![stamp(since), tool],
            |r| r.get(0),
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
             WHERE executed = 1 AND executed_at >= ?3
               AND (target = ?1 OR (?2 IS NOT NULL AND (workload = ?2 OR target = ?2)))
             ORDER BY executed_at, seq",
            params![target, workload, stamp(since)],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for (run_id, tool, target, workload, impact, at) in rows {
            let Some(executed_at) = parse_time(&at) else {
                continue;
            };
            out.push(PastChange {
                run_id,
                tool,
                target,
                workload,
                impact: impact.map(|i| serde_json::from_str(&i)).transpose()?,
                executed_at,
            });
        }
        Ok(out)
    }
}

/// Inserts or updates a tool call's audit row.
fn write_call(c: &Connection, row: &CallRow<'_>) -> Result<(), StoreError> {
    let a = row.a;
    c.execute(
        "INSERT INTO tool_calls (run_id, call_id, seq, tool, origin, args, impact, decision, rules, reason, approval_id, executed, ok, result_bytes, duration_ms, error, target, workload, executed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
         ON CONFLICT (run_id, call_id) DO UPDATE SET args = excluded.args, impact = excluded.impact, decision = excluded.decision,
           rules = excluded.rules, reason = excluded.reason, approval_id = excluded.approval_id,
           executed = excluded.executed, ok = excluded.ok, result_bytes = excluded.result_bytes,
           duration_ms = excluded.duration_ms, error = excluded.error, target = excluded.target,
           workload = excluded.workload, executed_at = excluded.executed_at",
        params![
            row.run_id, a.call_id, row.seq, a.tool, row.origin, row.args, row.impact,
            row.decision, row.rules, a.reason, row.approval, a.executed, a.ok,
            row.result_bytes, row.duration_ms, a.error, a.target, a.workload,
            a.executed_at.map(stamp)
        ],
    )?;
    Ok(())
}
