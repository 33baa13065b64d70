//! The SQLite schema and its numbered migrations, applied in one transaction at open.
//!
//! Version 1 is the schema stores had before versions were recorded; it is applied the way it
//! always was (tables created if missing, then any column a store from before it lacks), so a
//! store written by an older sopilot opens as version 1 and migrates on.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::store::StoreError;

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, sop TEXT NOT NULL, status TEXT NOT NULL, trigger TEXT NOT NULL,
  params TEXT NOT NULL, model TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
  summary TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', pid INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  run_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY (run_id, seq));
CREATE TABLE IF NOT EXISTS tool_calls (
  run_id TEXT NOT NULL, call_id TEXT NOT NULL, seq INTEGER NOT NULL, tool TEXT NOT NULL,
  origin TEXT NOT NULL, args TEXT NOT NULL, impact TEXT, decision TEXT, rules TEXT NOT NULL DEFAULT '[]',
  reason TEXT NOT NULL DEFAULT '', approval_id TEXT, executed INTEGER NOT NULL DEFAULT 0,
  ok INTEGER, result_bytes INTEGER NOT NULL DEFAULT 0, duration_ms INTEGER NOT NULL DEFAULT 0,
  error TEXT, PRIMARY KEY (run_id, call_id));
CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY, run_id TEXT NOT NULL, call_id TEXT NOT NULL, tool TEXT NOT NULL,
  args TEXT NOT NULL, digest TEXT NOT NULL, impact TEXT, rules TEXT NOT NULL, reason TEXT NOT NULL,
  requested_at TEXT NOT NULL, expires_at TEXT NOT NULL, state TEXT NOT NULL,
  decided_by TEXT, channel TEXT, decided_at TEXT);
CREATE TABLE IF NOT EXISTS approval_messages (
  approval_id TEXT PRIMARY KEY, channel TEXT NOT NULL, ts TEXT NOT NULL, posted_at TEXT NOT NULL,
  shown_state TEXT NOT NULL DEFAULT 'pending');
CREATE TABLE IF NOT EXISTS seen_messages (
  source TEXT NOT NULL, id TEXT NOT NULL, seen_at TEXT NOT NULL, PRIMARY KEY (source, id));
CREATE INDEX IF NOT EXISTS seen_messages_at ON seen_messages (source, seen_at);
CREATE TABLE IF NOT EXISTS unrouted_triggers (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, kind TEXT NOT NULL,
  dedup_key TEXT NOT NULL, origin TEXT NOT NULL, reason TEXT NOT NULL, trigger_json TEXT NOT NULL);
";

/// Columns added to version 1 before versions were recorded: `(table, column, type)`.
const ADDED_COLUMNS: [(&str, &str, &str); 5] = [
    // The object and workload a mutating call changed, and when it executed: the keys of
    // the cumulative-limit history.
    ("tool_calls", "target", "TEXT"),
    ("tool_calls", "workload", "TEXT"),
    ("tool_calls", "executed_at", "TEXT"),
    // What the approver was shown: the impact's digest and the decision path (decision and
    // rules), re-checked before an approved call executes.
    ("approvals", "impact_digest", "TEXT"),
    ("approvals", "decision_path", "TEXT NOT NULL DEFAULT '[]'"),
];

const INDEXES: &str = "
CREATE INDEX IF NOT EXISTS tool_calls_target ON tool_calls (target, executed_at);
CREATE INDEX IF NOT EXISTS tool_calls_workload ON tool_calls (workload, executed_at);
";

/// Version 2: run ownership (`owner` is `host:pid`; `lease_until` a fixed-width UTC time).
const V2_OWNERSHIP: &str = "
ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE runs ADD COLUMN lease_until TEXT;
";

/// Version 3: who took an approved call's execution (one executor per approval, whichever
/// replica or door decided it), and the random nonce of the process that started a run (with
/// its pid: a container restarted in place has pid 1 again, a new nonce).
const V3_EXECUTION: &str = "
ALTER TABLE approvals ADD COLUMN executed_by TEXT;
ALTER TABLE runs ADD COLUMN process_nonce TEXT;
";

/// Version 4: which run a trigger's dedup key belongs to, shared by every process on the
/// store (see `store/dedup.rs`).
const V4_TRIGGER_CLAIMS: &str = "
CREATE TABLE trigger_claims (
  dedup_key TEXT PRIMARY KEY, run_id TEXT NOT NULL, claimed_at TEXT NOT NULL, done_at TEXT);
";

/// Version 5: the run queue every process on the store takes runs from (see `store/queue.rs`).
const V5_RUN_QUEUE: &str = "
CREATE TABLE run_queue (run_id TEXT PRIMARY KEY, request TEXT NOT NULL, queued_at TEXT NOT NULL);
CREATE INDEX run_queue_at ON run_queue (queued_at, run_id);
";

/// The newest schema this binary knows.
pub(super) const VERSION: i64 = 5;

/// Brings the store to [`VERSION`] in one transaction, or refuses a newer one.
pub(super) fn migrate(conn: &mut Connection, shown: &str) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)",
    )?;
    let found: i64 = tx
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten()
        .unwrap_or(0);
    if found > VERSION {
        return Err(StoreError::TooNew {
            location: shown.to_owned(),
            found,
            known: VERSION,
        });
    }
    for version in (found + 1)..=VERSION {
        match version {
            1 => version_1(&tx)?,
            2 => tx.execute_batch(V2_OWNERSHIP)?,
            3 => tx.execute_batch(V3_EXECUTION)?,
            4 => tx.execute_batch(V4_TRIGGER_CLAIMS)?,
            _ => tx.execute_batch(V5_RUN_QUEUE)?,
        }
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
            rusqlite::params![version, crate::store::now().to_rfc3339()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The tables, then the columns an older store lacks, then the indexes over them.
fn version_1(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(TABLES)?;
    for (table, column, ty) in ADDED_COLUMNS {
        let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
        let present = stmt
            .query_map([], |r| r.get::<_, String>(1))?
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .any(|c| c == column);
        if !present {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty}"))?;
        }
    }
    conn.execute_batch(INDEXES)?;
    Ok(())
}
