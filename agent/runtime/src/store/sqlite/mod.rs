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
//! (`executed_at`, `lease_until`) in the fixed-width form of `changes::stamp`.

mod approvals;
mod dedup;
mod lease;
mod lock;
mod queue;
mod runs;
mod schema;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row};

use super::StoreError;
use super::backend::{RawApproval, RawCall, RawRun, parse_time};

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
