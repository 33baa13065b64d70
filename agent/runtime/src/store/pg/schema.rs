//! The PostgreSQL schema and its numbered migrations, applied in one transaction at open
//! under an advisory lock (replicas starting together migrate once).
//!
//! The same tables and columns as SQLite's, with native types where natural: times are
//! `TIMESTAMPTZ`, counts `BIGINT`, flags `BOOLEAN`. JSON stays `TEXT`, stored byte for byte:
//! `JSONB` would reorder an approval's canonical arguments. `runs.host` (PostgreSQL only)
//! names the host whose process created a run, so a process only ever marks its own host's
//! dead runs interrupted.

use postgres::Client;

/// The newest schema this binary knows (the same numbering as SQLite's).
pub(super) const VERSION: i64 = 5;

/// Any number, the same in every sopilot: the advisory lock migrations are applied under.
const MIGRATION_LOCK: i64 = 0x50_1107_5709;

const V1_TABLES: &str = "
CREATE TABLE runs (
  id TEXT PRIMARY KEY, sop TEXT NOT NULL, status TEXT NOT NULL, trigger TEXT NOT NULL,
  params TEXT NOT NULL, model TEXT NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ,
  summary TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', pid BIGINT NOT NULL,
  host TEXT NOT NULL DEFAULT '');
CREATE INDEX runs_started_at ON runs (started_at);
CREATE TABLE events (
  run_id TEXT NOT NULL, seq BIGINT NOT NULL, at TIMESTAMPTZ NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY (run_id, seq));
CREATE TABLE tool_calls (
  run_id TEXT NOT NULL, call_id TEXT NOT NULL, seq BIGINT NOT NULL, tool TEXT NOT NULL,
  origin TEXT NOT NULL, args TEXT NOT NULL, impact TEXT, decision TEXT, rules TEXT NOT NULL DEFAULT '[]',
  reason TEXT NOT NULL DEFAULT '', approval_id TEXT, executed BOOLEAN NOT NULL DEFAULT false,
  ok BOOLEAN, result_bytes BIGINT NOT NULL DEFAULT 0, duration_ms BIGINT NOT NULL DEFAULT 0,
  error TEXT, target TEXT, workload TEXT, executed_at TIMESTAMPTZ,
  PRIMARY KEY (run_id, call_id));
CREATE INDEX tool_calls_target ON tool_calls (target, executed_at);
CREATE INDEX tool_calls_workload ON tool_calls (workload, executed_at);
CREATE TABLE approvals (
  id TEXT PRIMARY KEY, run_id TEXT NOT NULL, call_id TEXT NOT NULL, tool TEXT NOT NULL,
  args TEXT NOT NULL, digest TEXT NOT NULL, impact TEXT, rules TEXT NOT NULL, reason TEXT NOT NULL,
  requested_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL, state TEXT NOT NULL,
  decided_by TEXT, channel TEXT, decided_at TIMESTAMPTZ, impact_digest TEXT,
  decision_path TEXT NOT NULL DEFAULT '[]');
CREATE INDEX approvals_state ON approvals (state, requested_at);
CREATE TABLE approval_messages (
  approval_id TEXT PRIMARY KEY, channel TEXT NOT NULL, ts TEXT NOT NULL,
  posted_at TIMESTAMPTZ NOT NULL, shown_state TEXT NOT NULL DEFAULT 'pending');
CREATE TABLE seen_messages (
  source TEXT NOT NULL, id TEXT NOT NULL, seen_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (source, id));
CREATE INDEX seen_messages_at ON seen_messages (source, seen_at);
CREATE TABLE unrouted_triggers (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at TIMESTAMPTZ NOT NULL, kind TEXT NOT NULL,
  dedup_key TEXT NOT NULL, origin TEXT NOT NULL, reason TEXT NOT NULL, trigger_json TEXT NOT NULL);
";

/// Version 2: run ownership (see `store/lease.rs`).
const V2_OWNERSHIP: &str = "
ALTER TABLE runs ADD COLUMN owner TEXT, ADD COLUMN lease_until TIMESTAMPTZ;
CREATE INDEX runs_running_lease ON runs (lease_until) WHERE status = 'running';
";

/// Version 3: an approved call's executor and the nonce of a run's process (as SQLite's).
const V3_EXECUTION: &str = "
ALTER TABLE approvals ADD COLUMN executed_by TEXT;
ALTER TABLE runs ADD COLUMN process_nonce TEXT;
";

/// Version 4: which run a trigger's dedup key belongs to (as SQLite's).
const V4_TRIGGER_CLAIMS: &str = "
CREATE TABLE trigger_claims (
  dedup_key TEXT PRIMARY KEY, run_id TEXT NOT NULL, claimed_at TIMESTAMPTZ NOT NULL,
  done_at TIMESTAMPTZ);
";

/// Version 5: the run queue every replica takes runs from (as SQLite's).
const V5_RUN_QUEUE: &str = "
CREATE TABLE run_queue (run_id TEXT PRIMARY KEY, request TEXT NOT NULL, queued_at TIMESTAMPTZ NOT NULL);
CREATE INDEX run_queue_at ON run_queue (queued_at, run_id);
";

/// Brings the schema to [`VERSION`]; `Ok(Some(found))` when it is newer than that (nothing
/// changed then).
pub(super) fn migrate(client: &mut Client) -> Result<Option<i64>, postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
           version BIGINT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )?;
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version",
            &[],
        )?
        .try_get(0)?;
    if found > VERSION {
        return Ok(Some(found));
    }
    for version in (found + 1)..=VERSION {
        tx.batch_execute(match version {
            1 => V1_TABLES,
            2 => V2_OWNERSHIP,
            3 => V3_EXECUTION,
            4 => V4_TRIGGER_CLAIMS,
            _ => V5_RUN_QUEUE,
        })?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&version],
        )?;
    }
    tx.commit()?;
    Ok(None)
}

/// The server's `fsync` setting: with it off, no commit survives a power cut or an OS
/// crash, whatever the store does.
pub(super) fn fsync_on(client: &mut Client) -> Result<bool, postgres::Error> {
    let v: String = client.query_one("SHOW fsync", &[])?.try_get(0)?;
    Ok(v != "off")
}
