//! The store: runs, their events, the tool-call audit and approvals, in SQLite.
//!
//! Written before acting. SQLite runs in WAL mode: every commit survives the process being
//! killed. Commits that precede a change to the world — the audit row of a mutating call about
//! to execute, approval records and decisions — are also synced to disk (`synchronous=FULL`,
//! which syncs the WAL and so every earlier commit with it), so not even a power cut loses
//! them; the other events are synced by the next such commit or the next checkpoint
//! (`synchronous=NORMAL`), which keeps a read-only call's audit off the disk's sync latency.
//! Opening a store marks runs left `running` by a dead process as `interrupted`, with the
//! reason, and leaves their pending approvals pending.

mod inbox;
mod unrouted;
use std::path::Path;
use std::sync::Mutex;
pub use unrouted::UnroutedTrigger;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;
use sopilot_protocol::{ApprovalState, CallOrigin, Decision, RunEvent, RunEventKind, RunStatus};

use crate::approval::ApprovalRecord;

mod changes;
pub use changes::PastChange;
use changes::stamp;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("store: a stored value is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no run {0}")]
    NoRun(String),
    #[error("no approval {0}")]
    NoApproval(String),
}

const SCHEMA: &str = "
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
";

/// Columns added since the first schema: `(table, column, type)`. Added to an older store
/// when it is opened; new stores get them the same way.
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

/// Adds the columns an older store lacks, then the indexes over them.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
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

/// The id of an approval record (`apr-…`), as the audit refers to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ApprovalRef(pub String);

impl std::fmt::Display for ApprovalRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One row of the tool-call audit.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CallAudit {
    pub call_id: String,
    pub tool: String,
    pub origin: CallOrigin,
    pub args: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    pub rules: Vec<String>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalRef>,
    pub executed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    pub result_bytes: u64,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The object a mutating call changes (`deployment/payment/web`), from its impact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The workload that object belongs to (or is), from its impact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// When the call was sent to its server for real.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executed_at: Option<DateTime<Utc>>,
}

/// A run as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    pub id: String,
    pub sop: String,
    pub status: RunStatus,
    pub model: String,
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    pub summary: String,
    pub reason: String,
    pub trigger: Value,
    pub params: Value,
}

/// The SQLite store. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    /// Held by the gate from reading a mutating call's history to writing its executed
    /// audit row, so concurrent calls (parallel tool blocks, runs, IDE sessions of this
    /// process) cannot all pass a cumulative limit on the same stale count.
    changes: std::sync::Arc<tokio::sync::Mutex<()>>,
}

fn status_text(s: RunStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn parse_status(s: &str) -> RunStatus {
    serde_json::from_value(Value::String(s.to_owned())).unwrap_or(RunStatus::Interrupted)
}

pub(crate) fn approval_state_text(s: ApprovalState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Store {
    /// Opens (or creates) the store at `path` and recovers from a previous crash: runs still
    /// marked running by a process that is gone become `interrupted`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        Self::init(conn, true)
    }

    /// An in-memory store (tests, `--no-store` style runs).
    pub fn in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?, false)
    }

    fn init(conn: Connection, recover: bool) -> Result<Store, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        conn.execute_batch(inbox::SCHEMA)?;
        conn.execute_batch(unrouted::SCHEMA)?;
        let store = Store {
            conn: Mutex::new(conn),
            changes: std::sync::Arc::new(tokio::sync::Mutex::new(())),
        };
        if recover {
            store.recover()?;
        }
        Ok(store)
    }

    /// Serialises decisions on mutating calls with their execution (see the field's docs);
    /// the guard is dropped once the executed audit row is written.
    pub async fn lock_changes(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.changes.clone().lock_owned().await
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

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        match self.conn.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Marks runs whose process is gone as interrupted.
    fn recover(&self) -> Result<(), StoreError> {
        let me = std::process::id();
        let c = self.conn();
        let mut stmt = c.prepare("SELECT id, pid FROM runs WHERE status = 'running'")?;
        let stale: Vec<(String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        drop(stmt);
        for (id, pid) in stale {
            let alive = pid as u32 == me || Path::new(&format!("/proc/{pid}")).exists();
            if !alive {
                c.execute(
                    "UPDATE runs SET status = 'interrupted', finished_at = ?2, reason = ?3 WHERE id = ?1",
                    params![id, Utc::now().to_rfc3339(), format!("the process running it (pid {pid}) stopped before the run finished")],
                )?;
            }
        }
        Ok(())
    }

    /// Records a new run.
    pub fn create_run(
        &self,
        id: &str,
        sop: &str,
        trigger: &Value,
        params: &Value,
        model: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO runs (id, sop, status, trigger, params, model, started_at, pid) VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?7)",
            params![id, sop, trigger.to_string(), params.to_string(), model, Utc::now().to_rfc3339(), std::process::id()],
        )?;
        Ok(())
    }

    /// Ends a run.
    pub fn finish_run(
        &self,
        id: &str,
        status: RunStatus,
        summary: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE runs SET status = ?2, finished_at = ?3, summary = ?4, reason = ?5 WHERE id = ?1",
            params![id, status_text(status), Utc::now().to_rfc3339(), summary, reason],
        )?;
        Ok(())
    }

    /// Appends an event to a run's timeline and returns it, numbered.
    pub fn append_event(&self, run_id: &str, kind: RunEventKind) -> Result<RunEvent, StoreError> {
        let at = Utc::now();
        let c = self.conn();
        // The store numbers events, so anyone (the run, a joining trigger) may append.
        let seq: i64 = c.query_row(
            "SELECT COALESCE(MAX(seq), -1) + 1 FROM events WHERE run_id = ?1",
            params![run_id],
            |r| r.get(0),
        )?;
        c.execute(
            "INSERT INTO events (run_id, seq, at, body) VALUES (?1, ?2, ?3, ?4)",
            params![run_id, seq, at.to_rfc3339(), serde_json::to_string(&kind)?],
        )?;
        Ok(RunEvent {
            run_id: run_id.to_owned(),
            seq: seq as u64,
            at,
            kind,
        })
    }

    /// Records (or updates) a tool call's audit row.
    pub fn record_call(&self, run_id: &str, seq: u64, a: &CallAudit) -> Result<(), StoreError> {
        write_call(&self.conn(), run_id, seq, a)
    }

    /// [`Store::record_call`] synced to disk: for a mutating call about to execute.
    pub fn record_call_before_acting(
        &self,
        run_id: &str,
        seq: u64,
        a: &CallAudit,
    ) -> Result<(), StoreError> {
        self.durably(|c| write_call(c, run_id, seq, a))
    }

    /// Stores a new approval record (pending), synced to disk.
    pub fn insert_approval(&self, r: &ApprovalRecord) -> Result<(), StoreError> {
        self.durably(|c| {
            c.execute(
                "INSERT INTO approvals (id, run_id, call_id, tool, args, digest, impact, rules, reason, requested_at, expires_at, state, impact_digest, decision_path)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    r.id, r.run_id, r.call_id, r.tool, r.args.to_string(), r.digest,
                    r.impact.as_ref().map(Value::to_string), serde_json::to_string(&r.rules)?, r.reason,
                    r.requested_at.to_rfc3339(), r.expires_at.to_rfc3339(), approval_state_text(r.state),
                    r.impact_digest, serde_json::to_string(&r.decision_path)?
                ],
            )?;
            Ok(())
        })
    }

    /// Decides a pending approval, synced to disk. The first decision wins: returns the record
    /// as it stands and whether this call changed it. A record past its expiry becomes
    /// `expired` (counted as denied) instead: no channel can approve it any more, even when the
    /// run that asked is gone and nothing else marked it.
    pub fn decide_approval(
        &self,
        id: &str,
        state: ApprovalState,
        by: &str,
        channel: &str,
    ) -> Result<(ApprovalRecord, bool), StoreError> {
        let now = Utc::now();
        if let Some(r) = self.approval(id)?
            && r.state == ApprovalState::Pending
            && r.expires_at <= now
        {
            self.durably(|c| {
                c.execute(
                    "UPDATE approvals SET state = 'expired', decided_by = 'sopilot', channel = 'expiry', decided_at = ?2 WHERE id = ?1 AND state = 'pending'",
                    params![id, now.to_rfc3339()],
                )?;
                Ok(())
            })?;
        }
        let changed = self.durably(|c| {
            Ok(c.execute(
                "UPDATE approvals SET state = ?2, decided_by = ?3, channel = ?4, decided_at = ?5 WHERE id = ?1 AND state = 'pending'",
                params![id, approval_state_text(state), by, channel, Utc::now().to_rfc3339()],
            )?)
        })?;
        let record = self
            .approval(id)?
            .ok_or_else(|| StoreError::NoApproval(id.to_owned()))?;
        Ok((record, changed == 1))
    }

    /// Expires every pending approval of `run_id` (the user stopped the run, so nobody must
    /// be able to carry out what it asked), synced to disk. Returns how many were expired.
    pub fn expire_pending_of_run(&self, run_id: &str, why: &str) -> Result<usize, StoreError> {
        self.durably(|c| {
            Ok(c.execute(
                "UPDATE approvals SET state = 'expired', decided_by = ?2, channel = 'cancel', decided_at = ?3 WHERE run_id = ?1 AND state = 'pending'",
                params![run_id, why, Utc::now().to_rfc3339()],
            )?)
        })
    }

    /// One approval record.
    pub fn approval(&self, id: &str) -> Result<Option<ApprovalRecord>, StoreError> {
        let c = self.conn();
        let row = c
            .query_row("SELECT id, run_id, call_id, tool, args, digest, impact, rules, reason, requested_at, expires_at, state, decided_by, channel, impact_digest, decision_path FROM approvals WHERE id = ?1", params![id], approval_row)
            .optional()?;
        row.map(|r| r.map_err(StoreError::Json)).transpose()
    }

    /// Approvals, optionally only those in one state, oldest first.
    pub fn approvals(
        &self,
        state: Option<ApprovalState>,
    ) -> Result<Vec<ApprovalRecord>, StoreError> {
        let c = self.conn();
        let mut stmt = c.prepare("SELECT id, run_id, call_id, tool, args, digest, impact, rules, reason, requested_at, expires_at, state, decided_by, channel, impact_digest, decision_path FROM approvals WHERE ?1 IS NULL OR state = ?1 ORDER BY requested_at")?;
        let rows = stmt.query_map(params![state.map(approval_state_text)], approval_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// Runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRow>, StoreError> {
        let c = self.conn();
        let mut stmt = c.prepare("SELECT id, sop, status, model, started_at, finished_at, summary, reason, trigger, params FROM runs ORDER BY started_at DESC LIMIT ?1")?;
        let rows = stmt.query_map(params![limit as i64], run_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// One run, its events and its audit.
    pub fn run(&self, id: &str) -> Result<(RunRow, Vec<RunEvent>, Vec<CallAudit>), StoreError> {
        let c = self.conn();
        let row = c
            .query_row("SELECT id, sop, status, model, started_at, finished_at, summary, reason, trigger, params FROM runs WHERE id = ?1", params![id], run_row)
            .optional()?
            .ok_or_else(|| StoreError::NoRun(id.to_owned()))??;
        let mut stmt =
            c.prepare("SELECT seq, at, body FROM events WHERE run_id = ?1 ORDER BY seq")?;
        let events = stmt
            .query_map(params![id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|(seq, at, body)| {
                let kind: RunEventKind = serde_json::from_str(&body)?;
                let at = DateTime::parse_from_rfc3339(&at)
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_else(|_| Utc::now());
                Ok(RunEvent {
                    run_id: id.to_owned(),
                    seq: seq as u64,
                    at,
                    kind,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut stmt = c.prepare("SELECT call_id, tool, origin, args, impact, decision, rules, reason, approval_id, executed, ok, result_bytes, duration_ms, error, target, workload, executed_at FROM tool_calls WHERE run_id = ?1 ORDER BY seq")?;
        let calls = stmt
            .query_map(params![id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, bool>(9)?,
                    r.get::<_, Option<bool>>(10)?,
                    r.get::<_, i64>(11)?,
                    r.get::<_, i64>(12)?,
                    r.get::<_, Option<String>>(13)?,
                    (
                        r.get::<_, Option<String>>(14)?,
                        r.get::<_, Option<String>>(15)?,
                        r.get::<_, Option<String>>(16)?,
                    ),
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(
                |(
                    call_id,
                    tool,
                    origin,
                    args,
                    impact,
                    decision,
                    rules,
                    reason,
                    approval,
                    executed,
                    ok,
                    bytes,
                    ms,
                    error,
                    (target, workload, executed_at),
                )| {
                    Ok(CallAudit {
                        call_id,
                        tool,
                        origin: parse_text(&origin)?,
                        args: serde_json::from_str(&args)?,
                        impact: impact.map(|i| serde_json::from_str(&i)).transpose()?,
                        decision: decision.as_deref().map(parse_text).transpose()?,
                        rules: serde_json::from_str(&rules)?,
                        reason,
                        approval: approval.map(ApprovalRef),
                        executed,
                        ok,
                        result_bytes: bytes as u64,
                        duration_ms: ms as u64,
                        error,
                        target,
                        workload,
                        executed_at: executed_at.as_deref().and_then(parse_time),
                    })
                },
            )
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((row, events, calls))
    }
}

type RowResult<T> = rusqlite::Result<Result<T, serde_json::Error>>;

/// A unit enum stored as its snake_case name.
fn origin_text(o: CallOrigin) -> String {
    serde_json::to_value(o)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A unit enum read back from its snake_case name.
fn parse_text<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, serde_json::Error> {
    serde_json::from_value(Value::String(s.to_owned()))
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
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
            run_id, a.call_id, seq as i64, a.tool, origin_text(a.origin), a.args.to_string(),
            a.impact.as_ref().map(Value::to_string), a.decision.map(Decision::as_str), serde_json::to_string(&a.rules)?, a.reason,
            a.approval.as_ref().map(|r| r.0.as_str()), a.executed, a.ok, a.result_bytes as i64, a.duration_ms as i64, a.error,
            a.target, a.workload, a.executed_at.map(stamp)
        ],
    )?;
    Ok(())
}

fn run_row(r: &rusqlite::Row<'_>) -> RowResult<RunRow> {
    let trigger: String = r.get(8)?;
    let params: String = r.get(9)?;
    let status: String = r.get(2)?;
    Ok((|| {
        Ok(RunRow {
            id: r.get(0).unwrap_or_default(),
            sop: r.get(1).unwrap_or_default(),
            status: parse_status(&status),
            model: r.get(3).unwrap_or_default(),
            started_at: r.get(4).unwrap_or_default(),
            finished_at: r.get(5).unwrap_or_default(),
            summary: r.get(6).unwrap_or_default(),
            reason: r.get(7).unwrap_or_default(),
            trigger: serde_json::from_str(&trigger)?,
            params: serde_json::from_str(&params)?,
        })
    })())
}

fn approval_row(r: &rusqlite::Row<'_>) -> RowResult<ApprovalRecord> {
    let args: String = r.get(4)?;
    let impact: Option<String> = r.get(6)?;
    let rules: String = r.get(7)?;
    let requested: String = r.get(9)?;
    let expires: String = r.get(10)?;
    let state: String = r.get(11)?;
    let impact_digest: Option<String> = r.get(14)?;
    let decision_path: String = r.get(15)?;
    let time = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now())
    };
    let (id, run_id, call_id, tool, digest, reason, by, channel): (
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    ) = (
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(5)?,
        r.get(8)?,
        r.get(12)?,
        r.get(13)?,
    );
    Ok((|| {
        Ok(ApprovalRecord {
            id,
            run_id,
            call_id,
            tool,
            digest,
            reason,
            args: serde_json::from_str(&args)?,
            impact: impact.map(|i| serde_json::from_str(&i)).transpose()?,
            rules: serde_json::from_str(&rules)?,
            impact_digest,
            decision_path: serde_json::from_str(&decision_path)?,
            requested_at: time(&requested),
            expires_at: time(&expires),
            state: serde_json::from_value(Value::String(state))?,
            decided_by: by,
            channel,
        })
    })())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(id: &str, expires_in: chrono::Duration) -> ApprovalRecord {
        let now = Utc::now();
        ApprovalRecord {
            id: id.into(),
            run_id: "run-1".into(),
            call_id: "c1".into(),
            tool: "kubectl.patch_hpa".into(),
            args: json!({"name": "web", "max_replicas": 20}),
            digest: "d".into(),
            impact: None,
            impact_digest: None,
            decision_path: Vec::new(),
            rules: vec!["hpa-beyond-50-percent".into()],
            reason: "more than 50 %".into(),
            requested_at: now,
            expires_at: now + expires_in,
            state: ApprovalState::Pending,
            decided_by: None,
            channel: None,
        }
    }

    #[test]
    fn an_expired_approval_cannot_be_approved() {
        let store = Store::in_memory().unwrap();
        store
            .insert_approval(&record("a-old", chrono::Duration::seconds(-1)))
            .unwrap();
        let (r, changed) = store
            .decide_approval("a-old", ApprovalState::Approved, "alice", "api")
            .unwrap();
        assert!(!changed);
        assert_eq!(r.state, ApprovalState::Expired);
        assert_eq!(r.decided_by.as_deref(), Some("sopilot"));

        store
            .insert_approval(&record("a-new", chrono::Duration::minutes(5)))
            .unwrap();
        let (r, changed) = store
            .decide_approval("a-new", ApprovalState::Approved, "alice", "api")
            .unwrap();
        assert!(changed);
        assert_eq!(r.state, ApprovalState::Approved);
        let (_, again) = store
            .decide_approval("a-new", ApprovalState::Denied, "bob", "slack")
            .unwrap();
        assert!(!again, "the first decision wins");
    }
}
