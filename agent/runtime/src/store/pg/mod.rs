//! The PostgreSQL backend (`store: postgres://…`): one connection on a thread of its own
//! (`client.rs`), TLS (`tls.rs`), the schema and its migrations (`schema.rs`).
//!
//! Two durability tiers, as in SQLite. The session runs with `synchronous_commit = on`
//! whatever the server's default, so a commit returns once it is on the server's disk: the
//! audit row of a mutating call about to execute, approval records and decisions, approval
//! messages and run ownership are written so, before anything acts on them. The other writes
//! (events, a read-only call's audit, run status, seen messages, unrouted triggers, lease
//! renewals) are committed [`lazily`]: visible at once and kept when this process dies, they
//! skip the wait for the flush (≈ 8 ms a commit on a VM's disk) and ride on the next one. A
//! server running with `fsync = off` is reported at open (it keeps no promise across a crash).

mod approvals;
mod client;
mod dedup;
mod lease;
mod lock;
mod queue;
mod runs;
mod schema;
mod tls;

use chrono::{DateTime, Utc};
use postgres::Row;

use super::StoreError;
use super::backend::{RawApproval, RawCall, RawRun};
use super::location::redact_url;
use client::PgClient;

/// A PostgreSQL store.
#[derive(Debug)]
pub(crate) struct Postgres {
    db: PgClient,
}

const RUN_COLUMNS: &str =
    "id, sop, status, model, started_at, finished_at, summary, reason, trigger, params";
const APPROVAL_COLUMNS: &str = "id, run_id, call_id, tool, args, digest, impact, rules, reason, requested_at, expires_at, state, decided_by, channel, impact_digest, decision_path";
const CALL_COLUMNS: &str = "call_id, tool, origin, args, impact, decision, rules, reason, approval_id, executed, ok, result_bytes, duration_ms, error, target, workload, executed_at";

impl Postgres {
    /// Connects to `url`, applies the migrations and checks the server keeps commits.
    pub fn open(url: &str) -> Result<Postgres, StoreError> {
        let shown = redact_url(url);
        let db = PgClient::connect(url, &shown)?;
        if let Some(found) = db.call(schema::migrate)? {
            return Err(StoreError::TooNew {
                location: shown,
                found,
                known: schema::VERSION,
            });
        }
        if !db.call(schema::fsync_on)? {
            tracing::warn!(
                store = %shown,
                "the PostgreSQL server runs with fsync = off: a crash of its host can lose committed audit rows and approval decisions; turn fsync on"
            );
        }
        Ok(Postgres { db })
    }

    /// Rows of `sql`, each mapped by `map`.
    fn rows<T: Send + 'static>(
        &self,
        sql: String,
        params: Params,
        map: fn(&Row) -> Result<T, postgres::Error>,
    ) -> Result<Vec<T>, StoreError> {
        self.db.call(move |c| {
            let refs = params.refs();
            c.query(sql.as_str(), &refs)?.iter().map(map).collect()
        })
    }

    /// Rows changed by `sql`, committed durably.
    fn execute(&self, sql: &'static str, params: Params) -> Result<u64, StoreError> {
        self.db.call(move |c| c.execute(sql, &params.refs()))
    }

    /// Rows changed by `sql`, committed [`lazily`].
    fn execute_lazily(&self, sql: &'static str, params: Params) -> Result<u64, StoreError> {
        self.db
            .call(move |c| lazily(c, |tx| tx.execute(sql, &params.refs())))
    }
}

/// Runs `f` in a transaction whose commit does not wait for the server's disk: SQLite's
/// `synchronous=NORMAL` tier. Such a commit is visible at once and kept when this process
/// dies; only a crash of the server's host within a fraction of a second (before its WAL
/// writer flushes) can lose it, and the next durable commit flushes it too.
fn lazily<T>(
    c: &mut postgres::Client,
    f: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<T, postgres::Error>,
) -> Result<T, postgres::Error> {
    let mut tx = c.transaction()?;
    tx.batch_execute("SET LOCAL synchronous_commit = off")?;
    let out = f(&mut tx)?;
    tx.commit()?;
    Ok(out)
}

/// Owned statement parameters (the connection thread needs `'static` values).
struct Params(Vec<Box<dyn postgres::types::ToSql + Sync + Send>>);

impl Params {
    fn refs(&self) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
        self.0
            .iter()
            .map(|p| p.as_ref() as &(dyn postgres::types::ToSql + Sync))
            .collect()
    }
}

/// `Params` from expressions, each turned into an owned value.
macro_rules! params {
    ($($p:expr),* $(,)?) => {
        Params(vec![$(Box::new($p) as Box<dyn postgres::types::ToSql + Sync + Send>),*])
    };
}
pub(super) use params;

fn s(v: &str) -> String {
    v.to_owned()
}

fn opt(v: Option<&str>) -> Option<String> {
    v.map(str::to_owned)
}

fn limit(n: usize) -> i64 {
    n.min(i64::MAX as usize) as i64
}

fn run_row(r: &Row) -> Result<RawRun, postgres::Error> {
    Ok(RawRun {
        id: r.try_get(0)?,
        sop: r.try_get(1)?,
        status: r.try_get(2)?,
        model: r.try_get(3)?,
        started_at: r.try_get::<_, DateTime<Utc>>(4)?.to_rfc3339(),
        finished_at: r
            .try_get::<_, Option<DateTime<Utc>>>(5)?
            .map(|t| t.to_rfc3339()),
        summary: r.try_get(6)?,
        reason: r.try_get(7)?,
        trigger: r.try_get(8)?,
        params: r.try_get(9)?,
    })
}

fn approval_row(r: &Row) -> Result<RawApproval, postgres::Error> {
    Ok(RawApproval {
        id: r.try_get(0)?,
        run_id: r.try_get(1)?,
        call_id: r.try_get(2)?,
        tool: r.try_get(3)?,
        args: r.try_get(4)?,
        digest: r.try_get(5)?,
        impact: r.try_get(6)?,
        rules: r.try_get(7)?,
        reason: r.try_get(8)?,
        requested_at: r.try_get(9)?,
        expires_at: r.try_get(10)?,
        state: r.try_get(11)?,
        decided_by: r.try_get(12)?,
        channel: r.try_get(13)?,
        impact_digest: r.try_get(14)?,
        decision_path: r.try_get(15)?,
    })
}

fn call_row(r: &Row) -> Result<RawCall, postgres::Error> {
    Ok(RawCall {
        call_id: r.try_get(0)?,
        tool: r.try_get(1)?,
        origin: r.try_get(2)?,
        args: r.try_get(3)?,
        impact: r.try_get(4)?,
        decision: r.try_get(5)?,
        rules: r.try_get(6)?,
        reason: r.try_get(7)?,
        approval: r.try_get(8)?,
        executed: r.try_get(9)?,
        ok: r.try_get(10)?,
        result_bytes: r.try_get(11)?,
        duration_ms: r.try_get(12)?,
        error: r.try_get(13)?,
        target: r.try_get(14)?,
        workload: r.try_get(15)?,
        executed_at: r.try_get(16)?,
    })
}

fn first<T>(rows: Vec<T>) -> Option<T> {
    rows.into_iter().next()
}
