//! The SQLite backend: one file, one connection behind a mutex.
//!
//! SQLite runs in WAL mode: every commit survives the process being killed. Commits that
//! precede a change to the world — the audit row of a mutating call about to execute, approval
//! records and decisions — are also synced to disk (`synchronous=FULL`, which syncs the WAL
//! and so every earlier commit with it), so not even a power cut loses them; the other events
//! are synced by the next such commit or the next checkpoint (`synchronous=NORMAL`), which
//! keeps a read-only call's audit off the disk's sync latency.
//!
//! Times are stored as RFC 3339 text, as they always were; the ones compared in queries
//! (`executed_at`, `lease_until`) in the fixed-width form of [`stamp`].

mod schema;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::backend::{
    Backend, Decided, NewRun, RawApproval, RawCall, RawEvent, RawRun, enum_text, parse_state,
    parse_time,
};
use super::changes::stamp;
use super::{ApprovalMessage, CallAudit, PastChange, StoreError, UnroutedTrigger};
use crate::approval::ApprovalRecord;

/// A SQLite store.
#[derive(Debug)]
pub(crate) struct Sqlite {
    conn: Mutex<Connection>,
}

const RUN_COLUMNS: &str =
    "id, sop, status, model, started_at, finished_at, summary, reason, trigger, params";
const APPROVAL_COLUMNS: &str = "id, run_id, call_id, tool, args, digest, impact, rules, reason, requested_at, expires_at, state, decided_by, channel, impact_digest, decision_path";
const CALL_COLUMNS: &str = "call_id, tool, origin, args, impact, decision, rules, reason, approval_id, executed, ok, result_bytes, duration_ms, error, target, workload, executed_at";

impl Sqlite {
    /// Opens (or creates, with its folder) the file at `path`.
    pub fn open(path: &Path) -> Result<Sqlite, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let shown = path.display().to_string();
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: shown.clone(),
            source,
        })?;
        Self::init(conn, &shown)
    }

    pub fn in_memory() -> Result<Sqlite, StoreError> {
        Self::init(Connection::open_in_memory()?, ":memory:")
    }

    fn init(mut conn: Connection, shown: &str) -> Result<Sqlite, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn, shown)?;
        Ok(Sqlite {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        match self.conn.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Runs `f` with its commits synced to disk (see the module docs).
    fn durably<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let c = self.conn();
        c.pragma_update(None, "synchronous", "FULL")?;
        let result = f(&c);
        c.pragma_update(None, "synchronous", "NORMAL")?;
        result
    }

    /// [`Self::durably`] in a transaction that takes the write lock first (waiting for other
    /// writers up to the busy timeout), so what `f` reads is still true when it writes.
    fn immediately<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.durably(|c| {
            let tx =
                rusqlite::Transaction::new_unchecked(c, rusqlite::TransactionBehavior::Immediate)?;
            let result = f(&tx)?;
            tx.commit()?;
            Ok(result)
        })
    }

    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let c = self.conn();
        let mut stmt = c.prepare(sql)?;
        let rows = stmt.query_map(params, map)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

fn time(s: &str) -> DateTime<Utc> {
    parse_time(s).unwrap_or_else(Utc::now)
}

fn run_row(r: &Row<'_>) -> rusqlite::Result<RawRun> {
    Ok(RawRun {
        id: r.get(0)?,
        sop: r.get(1)?,
        status: r.get(2)?,
        model: r.get(3)?,
        started_at: r.get(4)?,
        finished_at: r.get(5)?,
        summary: r.get(6)?,
        reason: r.get(7)?,
        trigger: r.get(8)?,
        params: r.get(9)?,
    })
}

fn approval_row(r: &Row<'_>) -> rusqlite::Result<RawApproval> {
    Ok(RawApproval {
        id: r.get(0)?,
        run_id: r.get(1)?,
        call_id: r.get(2)?,
        tool: r.get(3)?,
        args: r.get(4)?,
        digest: r.get(5)?,
        impact: r.get(6)?,
        rules: r.get(7)?,
        reason: r.get(8)?,
        requested_at: time(&r.get::<_, String>(9)?),
        expires_at: time(&r.get::<_, String>(10)?),
        state: r.get(11)?,
        decided_by: r.get(12)?,
        channel: r.get(13)?,
        impact_digest: r.get(14)?,
        decision_path: r.get(15)?,
    })
}

fn call_row(r: &Row<'_>) -> rusqlite::Result<RawCall> {
    Ok(RawCall {
        call_id: r.get(0)?,
        tool: r.get(1)?,
        origin: r.get(2)?,
        args: r.get(3)?,
        impact: r.get(4)?,
        decision: r.get(5)?,
        rules: r.get(6)?,
        reason: r.get(7)?,
        approval: r.get(8)?,
        executed: r.get(9)?,
        ok: r.get(10)?,
        result_bytes: r.get(11)?,
        duration_ms: r.get(12)?,
        error: r.get(13)?,
        target: r.get(14)?,
        workload: r.get(15)?,
        executed_at: r
            .get::<_, Option<String>>(16)?
            .as_deref()
            .and_then(parse_time),
    })
}

/// Inserts or updates a tool call's audit row.
fn write_call(c: &Connection, run_id: &str, seq: u64, a: &CallAudit) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO tool_calls (run_id, call_id, seq, tool, origin, args, impact, decision, rules, reason, approval_id, executed, ok, result_bytes, duration_ms, error, target, workload, executed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
         ON CONFLICT (run_id, call_id) DO UPDATE SET args = excluded.args, impact = excluded.impact, decision = excluded.decision,
           rules = excluded.rules, reason = excluded.reason, approval_id = excluded.approval_id,
           executed = excluded.executed, ok = excluded.ok, result_bytes = excluded.result_bytes,
           duration_ms = excluded.duration_ms, error = excluded.error, target = excluded.target,
           workload = excluded.workload, executed_at = excluded.executed_at",
        params![
            run_id, a.call_id, seq as i64, a.tool, enum_text(a.origin), a.args.to_string(),
            a.impact.as_ref().map(serde_json::Value::to_string), a.decision.map(|d| d.as_str()),
            serde_json::to_string(&a.rules)?, a.reason, a.approval.as_ref().map(|r| r.0.as_str()),
            a.executed, a.ok, a.result_bytes as i64, a.duration_ms as i64, a.error,
            a.target, a.workload, a.executed_at.map(stamp)
        ],
    )?;
    Ok(())
}

impl Backend for Sqlite {
    fn create_run(&self, run: &NewRun<'_>) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO runs (id, sop, status, trigger, params, model, started_at, pid) VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?7)",
            params![run.id, run.sop, run.trigger, run.params, run.model, run.started_at.to_rfc3339(), run.pid],
        )?;
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
        self.conn().execute(
            "UPDATE runs SET status = ?2, finished_at = ?3, summary = ?4, reason = ?5 WHERE id = ?1",
            params![id, status, at.to_rfc3339(), summary, reason],
        )?;
        Ok(())
    }

    /// A file is this host's: every running run nobody holds a live lease on.
    fn running_here(
        &self,
        _host: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        self.rows(
            "SELECT id, pid FROM runs WHERE status = 'running'
               AND (lease_until IS NULL OR lease_until < ?1)",
            params![stamp(now)],
            |r| Ok((r.get(0)?, r.get(1)?)),
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
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at DESC LIMIT ?1");
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

    fn write_call(
        &self,
        run_id: &str,
        seq: u64,
        a: &CallAudit,
        durable: bool,
    ) -> Result<(), StoreError> {
        if durable {
            self.durably(|c| write_call(c, run_id, seq, a))
        } else {
            write_call(&self.conn(), run_id, seq, a)
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

    fn insert_approval(&self, r: &ApprovalRecord) -> Result<(), StoreError> {
        self.durably(|c| {
            c.execute(
                "INSERT INTO approvals (id, run_id, call_id, tool, args, digest, impact, rules, reason, requested_at, expires_at, state, impact_digest, decision_path)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    r.id, r.run_id, r.call_id, r.tool, r.args.to_string(), r.digest,
                    r.impact.as_ref().map(serde_json::Value::to_string), serde_json::to_string(&r.rules)?, r.reason,
                    r.requested_at.to_rfc3339(), r.expires_at.to_rfc3339(), enum_text(r.state),
                    r.impact_digest, serde_json::to_string(&r.decision_path)?
                ],
            )?;
            Ok(())
        })
    }

    fn expire_approval(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.durably(|c| {
            c.execute(
                "UPDATE approvals SET state = 'expired', decided_by = 'sopilot', channel = 'expiry', decided_at = ?2 WHERE id = ?1 AND state = 'pending'",
                params![id, at.to_rfc3339()],
            )?;
            Ok(())
        })
    }

    fn decide_pending(&self, id: &str, d: &Decided<'_>) -> Result<bool, StoreError> {
        self.durably(|c| {
            Ok(c.execute(
                "UPDATE approvals SET state = ?2, decided_by = ?3, channel = ?4, decided_at = ?5 WHERE id = ?1 AND state = 'pending'",
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
