//! The store: runs, their events, the tool-call audit and approvals, in SQLite (a file, the
//! default) or PostgreSQL (`postgres://…`, shared by several `sopilot serve` replicas).
//!
//! Written before acting: the audit row of a mutating call about to execute, approval
//! records and decisions are committed durably before anything acts on them (SQLite: synced
//! to disk; PostgreSQL: a committed transaction with `synchronous_commit` on). Opening a store
//! applies its numbered migrations and marks runs left `running` by a dead process of this
//! host as `interrupted`, with the reason, leaving their pending approvals pending.
//!
//! [`Store`] is the facade every caller uses; the storage itself is a [`backend::Backend`]:
//! `sqlite/` or `pg/`, both run by one test suite (`tests/`).

mod backend;
mod changes;
mod dedup;
mod inbox;
mod lease;
mod location;
mod lock;
mod pg;
mod queue;
mod sqlite;
#[cfg(test)]
mod tests;
mod unrouted;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, DurationRound, Utc};
use serde::Serialize;
use serde_json::Value;
use sopilot_protocol::{ApprovalState, CallOrigin, Decision, RunEvent, RunEventKind, RunStatus};

use crate::approval::ApprovalRecord;
use backend::{ApprovalRow, Backend, CallRow, Decided, NewRun, enum_text};

pub use changes::PastChange;
pub use dedup::Reuse;
pub use inbox::ApprovalMessage;
pub use lease::Lease;
pub use location::Location;
pub use lock::ChangesHeld;
pub use queue::{Enqueued, Offer, QueuedRun};
pub use unrouted::UnroutedTrigger;

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
    /// A PostgreSQL failure; `url` is the store's URL with its password hidden.
    #[error("store {url}: {source}")]
    Postgres {
        url: String,
        #[source]
        source: postgres::Error,
    },
    /// PostgreSQL did not answer in time, or the store's connection thread is gone.
    #[error("store {url}: {what}")]
    Unavailable { url: String, what: String },
    /// The store was written by a newer SOPilot.
    #[error(
        "store {location}: its schema is version {found}, newer than this sopilot knows ({known}); upgrade sopilot, or point `store:` at another store"
    )]
    TooNew {
        location: String,
        found: i64,
        known: i64,
    },
    #[error("store: a stored value is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no run {0}")]
    NoRun(String),
    #[error("the store's change lock: {0}")]
    ChangeLock(String),
    #[error("no approval {0}")]
    NoApproval(String),
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

/// The store. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Store {
    backend: Box<dyn Backend>,
    /// Held by the gate from reading a mutating call's history to writing its executed
    /// audit row, so concurrent calls (parallel tool blocks, runs, IDE sessions of this
    /// process) cannot all pass a cumulative limit on the same stale count; with the store's
    /// own lock across processes (see `lock.rs`).
    changes: Arc<tokio::sync::Mutex<()>>,
}

/// Now, to the microsecond: what both backends keep, so both read back the same times.
pub(crate) fn now() -> DateTime<Utc> {
    let t = Utc::now();
    t.duration_trunc(chrono::Duration::microseconds(1))
        .unwrap_or(t)
}

/// A random nonce drawn once per process: with the pid, it tells this process from an
/// earlier one with the same pid (a container restarted in place is pid 1 again).
pub(crate) fn process_nonce() -> &'static str {
    static NONCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NONCE.get_or_init(|| uuid::Uuid::new_v4().simple().to_string())
}

/// Whether the process that started a run (`pid`, `nonce`) may still be running it, seen by
/// process `me` (its pid and nonce) on the same host: with this process's pid it is this
/// process only if the nonce is this process's too; with another pid, if that pid exists.
fn alive(pid: i64, nonce: Option<&str>, me: (i64, &str), exists: impl Fn(i64) -> bool) -> bool {
    if pid == me.0 {
        nonce == Some(me.1)
    } else {
        exists(pid)
    }
}

impl<'a> NewRun<'a> {
    /// Run `id`, started now by this process (on `host`).
    fn now(
        id: &'a str,
        sop: &'a str,
        trigger: &Value,
        params: &Value,
        model: &'a str,
        host: &'a str,
    ) -> NewRun<'a> {
        NewRun {
            id,
            sop,
            trigger: trigger.to_string(),
            params: params.to_string(),
            model,
            started_at: now(),
            pid: std::process::id(),
            nonce: process_nonce(),
            host,
        }
    }
}

/// How an approval set aside by its run is marked as taken (see [`Store::set_aside_approval`]).
pub const SET_ASIDE: &str = "not executed: ";

/// This process as a run's owner: `host:pid`.
pub fn this_replica() -> String {
    format!("{}:{}", location::hostname(), std::process::id())
}

impl Store {
    /// Opens (or creates) the store at `path` — a file for SQLite, or a `postgres://…` /
    /// `postgresql://…` URL — applies its migrations and recovers from a previous crash: runs
    /// still marked running by a process of this host that is gone become `interrupted`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_at(&Location::of(path))
    }

    /// Opens the store at a parsed [`Location`].
    pub fn open_at(location: &Location) -> Result<Store, StoreError> {
        let backend: Box<dyn Backend> = match location {
            Location::Sqlite(path) => Box::new(sqlite::Sqlite::open(path)?),
            Location::Postgres(url) => Box::new(pg::Postgres::open(url)?),
        };
        let store = Self::with(backend);
        store.recover()?;
        Ok(store)
    }

    /// An in-memory SQLite store (tests, `--no-store` style runs).
    pub fn in_memory() -> Result<Store, StoreError> {
        Ok(Self::with(Box::new(sqlite::Sqlite::in_memory()?)))
    }

    fn with(backend: Box<dyn Backend>) -> Store {
        Store {
            backend,
            changes: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Marks runs whose process (on this host) is gone as interrupted.
    fn recover(&self) -> Result<(), StoreError> {
        let me = (i64::from(std::process::id()), process_nonce());
        for (id, pid, nonce) in self.backend.running_here(&location::hostname(), now())? {
            let exists = |pid: i64| Path::new(&format!("/proc/{pid}")).exists();
            if !alive(pid, nonce.as_deref(), me, exists) {
                let why =
                    format!("the process running it (pid {pid}) stopped before the run finished");
                self.backend.interrupt(&id, now(), &why)?;
            }
        }
        Ok(())
    }

    /// Records a new run, owned by this process.
    /// A run recorded before it starts (queued) is recorded again as it starts: its
    /// parameters and model are updated while it is still running.
    pub fn create_run(
        &self,
        id: &str,
        sop: &str,
        trigger: &Value,
        params: &Value,
        model: &str,
    ) -> Result<(), StoreError> {
        let host = location::hostname();
        self.backend
            .create_run(&NewRun::now(id, sop, trigger, params, model, &host))
    }

    /// Ends a run.
    pub fn finish_run(
        &self,
        id: &str,
        status: RunStatus,
        summary: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.backend
            .finish_run(id, &enum_text(status), now(), summary, reason)
    }

    /// Marks running run `id` interrupted, with why (another replica carries it on, or it
    /// waits for an approval nobody runs); a run no longer running is left as it is.
    pub fn interrupt(&self, id: &str, reason: &str) -> Result<(), StoreError> {
        self.backend.interrupt(id, now(), reason)
    }

    /// Appends an event to a run's timeline and returns it, numbered. The store numbers
    /// events, so anyone (the run, a joining trigger) may append.
    pub fn append_event(&self, run_id: &str, kind: RunEventKind) -> Result<RunEvent, StoreError> {
        let at = now();
        let seq = self
            .backend
            .append_event(run_id, at, &serde_json::to_string(&kind)?)?;
        Ok(RunEvent {
            run_id: run_id.to_owned(),
            seq: seq.max(0) as u64,
            at,
            kind,
        })
    }

    /// Records (or updates) a tool call's audit row.
    pub fn record_call(&self, run_id: &str, seq: u64, a: &CallAudit) -> Result<(), StoreError> {
        self.backend
            .write_call(&CallRow::encode(run_id, seq, a)?, false)
    }

    /// [`Store::record_call`] committed durably: for a mutating call about to execute.
    pub fn record_call_before_acting(
        &self,
        run_id: &str,
        seq: u64,
        a: &CallAudit,
    ) -> Result<(), StoreError> {
        self.backend
            .write_call(&CallRow::encode(run_id, seq, a)?, true)
    }

    /// Stores a new approval record (pending), durably.
    pub fn insert_approval(&self, r: &ApprovalRecord) -> Result<(), StoreError> {
        self.backend.insert_approval(&ApprovalRow::encode(r)?)
    }

    /// Decides a pending approval, durably. The first decision wins: returns the record as it
    /// stands and whether this call changed it. A record past its expiry becomes `expired`
    /// (counted as denied) instead: no channel can approve it any more, even when the run that
    /// asked is gone and nothing else marked it.
    pub fn decide_approval(
        &self,
        id: &str,
        state: ApprovalState,
        by: &str,
        channel: &str,
    ) -> Result<(ApprovalRecord, bool), StoreError> {
        let at = now();
        let state = enum_text(state);
        let decided = Decided {
            state: &state,
            by,
            channel,
            at,
        };
        // Both conditional on the expiry in the `UPDATE` itself: what is past its expiry at
        // `at` can only expire, whatever another handle did in between.
        let changed = self.backend.decide_pending(id, &decided)?;
        if !changed {
            self.backend.expire_approval(id, at)?;
        }
        let record = self
            .approval(id)?
            .ok_or_else(|| StoreError::NoApproval(id.to_owned()))?;
        Ok((record, changed))
    }

    /// Takes the execution of approved call `id` for this process, durably, before it acts:
    /// whichever replica or door carries an approval out, only the first to claim it may
    /// execute. False when it is not approved or someone took it already
    /// ([`Store::executed_by`] says who).
    pub fn claim_execution(&self, id: &str) -> Result<bool, StoreError> {
        self.backend.claim_execution(id, &this_replica())
    }

    /// Sets approved call `id` aside unexecuted: the run that asked found, re-checking it, that
    /// it is not what was approved (it changed, or the policy now denies it), so nobody may
    /// carry it out any more (another replica's hub included). Claimed like an execution, by
    /// `not executed: WHY`; false when someone took it already.
    pub fn set_aside_approval(&self, id: &str, why: &str) -> Result<bool, StoreError> {
        self.backend
            .claim_execution(id, &format!("{SET_ASIDE}{why}"))
    }

    /// Who took approved call `id`'s execution, if anyone (`host:pid`, or `not executed: …`
    /// when the run set it aside).
    pub fn executed_by(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.backend.executed_by(id)
    }

    /// Expires every pending approval of `run_id` (the user stopped the run, so nobody must
    /// be able to carry out what it asked), durably. Returns how many were expired.
    pub fn expire_pending_of_run(&self, run_id: &str, why: &str) -> Result<usize, StoreError> {
        self.backend.expire_pending_of_run(run_id, why, now())
    }

    /// One approval record.
    pub fn approval(&self, id: &str) -> Result<Option<ApprovalRecord>, StoreError> {
        self.backend.approval(id)?.map(|r| r.decode()).transpose()
    }

    /// Approvals, optionally only those in one state, oldest first.
    pub fn approvals(
        &self,
        state: Option<ApprovalState>,
    ) -> Result<Vec<ApprovalRecord>, StoreError> {
        let state = state.map(enum_text);
        let rows = self.backend.approvals(state.as_deref())?;
        rows.into_iter().map(|r| r.decode()).collect()
    }

    /// Runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRow>, StoreError> {
        let rows = self.backend.runs(limit)?;
        rows.into_iter().map(|r| r.decode()).collect()
    }

    /// One run, its events and its audit.
    pub fn run(&self, id: &str) -> Result<(RunRow, Vec<RunEvent>, Vec<CallAudit>), StoreError> {
        let row = self
            .backend
            .run(id)?
            .ok_or_else(|| StoreError::NoRun(id.to_owned()))?
            .decode()?;
        let events = self
            .backend
            .events(id)?
            .into_iter()
            .map(|e| {
                Ok(RunEvent {
                    run_id: id.to_owned(),
                    seq: e.seq.max(0) as u64,
                    at: e.at,
                    kind: serde_json::from_str(&e.body)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let calls = self
            .backend
            .calls(id)?
            .into_iter()
            .map(|c| c.decode())
            .collect::<Result<Vec<_>, _>>()?;
        Ok((row, events, calls))
    }
}
