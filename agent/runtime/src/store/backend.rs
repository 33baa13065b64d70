//! What a store backend does (SQLite in `sqlite/`, PostgreSQL in `pg/`), and the rows it
//! hands back before they are decoded, so both backends share one decoding.
//!
//! Backends store and fetch; the facade ([`super::Store`]) decides. Times come from the
//! facade (one clock for both backends), JSON is passed and returned as text (stored byte for
//! byte, so an approval's canonical arguments read back exactly as they were written).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sopilot_protocol::{ApprovalState, RunStatus};

use super::{ApprovalMessage, CallAudit, PastChange, RunRow, StoreError, UnroutedTrigger};
use crate::approval::ApprovalRecord;

/// A new run, as written.
#[derive(Debug)]
pub(crate) struct NewRun<'a> {
    pub id: &'a str,
    pub sop: &'a str,
    pub trigger: String,
    pub params: String,
    pub model: &'a str,
    pub started_at: DateTime<Utc>,
    pub pid: u32,
    /// The random nonce of the process that created it (see [`super::process_nonce`]).
    pub nonce: &'a str,
    /// The host of the process that created it (with `pid`: who may mark it interrupted).
    pub host: &'a str,
}

/// The process taking a queued run: it becomes the run's owner and its process (`pid`,
/// `nonce`, `host`: whose crash recovery judges the run).
#[derive(Debug)]
pub(crate) struct Taker<'a> {
    pub owner: &'a str,
    pub pid: u32,
    pub nonce: &'a str,
    pub host: &'a str,
}

/// A decision written to a pending approval.
#[derive(Debug)]
pub(crate) struct Decided<'a> {
    pub state: &'a str,
    pub by: &'a str,
    pub channel: &'a str,
    pub at: DateTime<Utc>,
}

/// The storage operations both backends implement with the same semantics: the same calls
/// give the same answers (the shared suite in `store/tests` runs against both).
pub(crate) trait Backend:
    RunStore
    + AuditStore
    + ApprovalStore
    + InboxStore
    + LeaseStore
    + DedupStore
    + QueueStore
    + ChangeLockStore
    + Send
    + Sync
    + std::fmt::Debug
{
}

impl<T> Backend for T where
    T: RunStore
        + AuditStore
        + ApprovalStore
        + InboxStore
        + LeaseStore
        + DedupStore
        + QueueStore
        + ChangeLockStore
        + Send
        + Sync
        + std::fmt::Debug
{
}

/// Runs and their events.
pub(crate) trait RunStore {
    fn create_run(&self, run: &NewRun<'_>) -> Result<(), StoreError>;
    fn finish_run(
        &self,
        id: &str,
        status: &str,
        at: DateTime<Utc>,
        summary: &str,
        reason: &str,
    ) -> Result<(), StoreError>;
    /// Runs still `running` that a process of `host` started and nobody else holds a lease
    /// on at `now` (a lease of the run's own process counts for nothing): `(id, pid, process
    /// nonce)`.
    fn running_here(
        &self,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, i64, Option<String>)>, StoreError>;
    /// Marks a run that is still `running` as `interrupted`.
    fn interrupt(&self, id: &str, at: DateTime<Utc>, reason: &str) -> Result<(), StoreError>;
    /// Appends an event numbered after the run's last; returns its number.
    fn append_event(&self, run_id: &str, at: DateTime<Utc>, body: &str) -> Result<i64, StoreError>;
    fn runs(&self, limit: usize) -> Result<Vec<RawRun>, StoreError>;
    fn run(&self, id: &str) -> Result<Option<RawRun>, StoreError>;
    fn events(&self, run_id: &str) -> Result<Vec<RawEvent>, StoreError>;
}

/// The tool-call audit.
pub(crate) trait AuditStore {
    /// Inserts or updates a call's audit row; `durable`: committed so that not even a power
    /// cut loses it before the call acts.
    fn write_call(&self, row: &CallRow<'_>, durable: bool) -> Result<(), StoreError>;
    fn calls(&self, run_id: &str) -> Result<Vec<RawCall>, StoreError>;
    fn targets_changed_by(
        &self,
        tool: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError>;
    fn changes_since(
        &self,
        target: &str,
        workload: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<Vec<PastChange>, StoreError>;
}

/// Approvals: every write durable.
pub(crate) trait ApprovalStore {
    fn insert_approval(&self, row: &ApprovalRow<'_>) -> Result<(), StoreError>;
    /// Marks a pending approval whose expiry is not after `at` `expired` by `sopilot`
    /// (channel `expiry`).
    fn expire_approval(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Decides an approval if it is still pending and its expiry is after `d.at`, in the
    /// `UPDATE` itself; returns whether it did.
    fn decide_pending(&self, id: &str, d: &Decided<'_>) -> Result<bool, StoreError>;
    fn expire_pending_of_run(
        &self,
        run_id: &str,
        why: &str,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError>;
    fn approval(&self, id: &str) -> Result<Option<RawApproval>, StoreError>;
    fn approvals(&self, state: Option<&str>) -> Result<Vec<RawApproval>, StoreError>;
    fn approval_decided_at(&self, id: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Makes `by` the executor of an approved call if nobody is yet, durably; returns
    /// whether `by` is now.
    fn claim_execution(&self, id: &str, by: &str) -> Result<bool, StoreError>;
    /// Who took an approved call's execution, if anyone.
    fn executed_by(&self, id: &str) -> Result<Option<String>, StoreError>;
}

/// Approval messages, seen messages (see `inbox.rs`) and unrouted triggers (stored redacted by
/// the facade, the newest `keep` kept).
pub(crate) trait InboxStore {
    fn set_approval_message(
        &self,
        m: &ApprovalMessage,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    fn approval_message(&self, approval_id: &str) -> Result<Option<ApprovalMessage>, StoreError>;
    fn set_approval_message_shown(&self, approval_id: &str, shown: &str) -> Result<(), StoreError>;
    fn stale_approval_messages(&self, limit: usize) -> Result<Vec<String>, StoreError>;
    fn remember_message(
        &self,
        source: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    fn forget_message(&self, source: &str, id: &str) -> Result<(), StoreError>;
    fn prune_messages(&self, source: &str, before: DateTime<Utc>) -> Result<usize, StoreError>;
    fn record_unrouted(&self, t: &UnroutedTrigger, keep: i64) -> Result<(), StoreError>;
    fn unrouted(&self, limit: usize) -> Result<Vec<UnroutedTrigger>, StoreError>;
}

/// Which run a trigger's dedup key belongs to, for every process on the store (see
/// `dedup.rs`).
pub(crate) trait DedupStore {
    /// Gives `key` to `run_id` unless a run holds it that finished at or after
    /// `reusable_before`, or is still going: not interrupted, its lease (if it has one) not
    /// run out at `now`, and either its lease held at `now`, or still queued, or claimed at
    /// or after `stale_before` (a claim whose replica died unnoticed is given up then), and,
    /// if its run was never recorded, claimed at or after `unstarted_before`; returns the run
    /// that holds it now (`run_id` if it was given).
    fn claim_trigger(
        &self,
        key: &str,
        run_id: &str,
        now: DateTime<Utc>,
        reusable_before: DateTime<Utc>,
        stale_before: DateTime<Utc>,
        unstarted_before: DateTime<Utc>,
    ) -> Result<String, StoreError>;
    /// Marks `key`'s claim by `run_id` finished at `at` (nothing when another run holds it).
    fn trigger_done(&self, key: &str, run_id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Drops `key`'s claim if `run_id` holds it (its run was never recorded).
    fn unclaim_trigger(&self, key: &str, run_id: &str) -> Result<(), StoreError>;
}

/// The run queue every process on the store takes runs from (see `queue.rs`).
pub(crate) trait QueueStore {
    /// Records `run` and queues it with `request` (opaque JSON text) in one transaction,
    /// unless `limit` or more runs are queued already; then writes nothing and returns how
    /// many are.
    fn enqueue(
        &self,
        run: &NewRun<'_>,
        request: &str,
        limit: i64,
    ) -> Result<Option<i64>, StoreError>;
    /// Takes the oldest queued run that is still `running` (recorded, not interrupted),
    /// skipping rows another replica is taking at the same moment, and makes `owner` its
    /// owner until `until`, in one transaction; queued runs no longer running are dropped on
    /// the way. Returns its id and request.
    fn dequeue(
        &self,
        taker: &Taker<'_>,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<(String, String)>, StoreError>;
    /// Records `run` leased to `owner` until `until`, not queued: its accepting process had a
    /// free slot and starts it at once. Committed durably, as a claim is.
    fn start_leased(
        &self,
        run: &NewRun<'_>,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// How many runs are queued.
    fn queued(&self) -> Result<i64, StoreError>;
}

/// The change lock every process on the store takes (see `lock.rs`).
pub(crate) trait ChangeLockStore {
    /// Takes the store-wide change lock for this handle if nobody holds it; returns whether
    /// it did. Never waits.
    fn try_lock_changes(&self) -> Result<bool, StoreError>;
    /// Gives the change lock back.
    fn unlock_changes(&self) -> Result<(), StoreError>;
}

/// Run ownership (see `lease.rs`).
pub(crate) trait LeaseStore {
    /// Makes `owner` the run's owner until `until` if the run is running and unowned, owned
    /// by `owner` already, or its lease ran out before `now`; returns whether it did.
    fn claim(
        &self,
        run_id: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Claims one running run whose lease ran out before `now`, skipping rows another
    /// replica is claiming at the same moment; returns its id.
    fn claim_expired(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError>;
    /// Extends the lease if `owner` still holds it; returns whether it does.
    fn heartbeat(
        &self,
        run_id: &str,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Gives the run up (no owner) if `owner` holds it; returns whether it did.
    fn release(&self, run_id: &str, owner: &str) -> Result<bool, StoreError>;
    /// The run's owner and lease end, if it has one.
    fn owner(&self, run_id: &str) -> Result<Option<(String, DateTime<Utc>)>, StoreError>;
}

/// A tool call's audit row as written: JSON as text, enums as their names, counts as
/// `BIGINT`s.
#[derive(Debug)]
pub(crate) struct CallRow<'a> {
    pub run_id: &'a str,
    pub seq: i64,
    pub a: &'a CallAudit,
    pub origin: String,
    pub args: String,
    pub impact: Option<String>,
    pub decision: Option<&'static str>,
    pub rules: String,
    pub approval: Option<&'a str>,
    pub result_bytes: i64,
    pub duration_ms: i64,
}

impl<'a> CallRow<'a> {
    pub fn encode(run_id: &'a str, seq: u64, a: &'a CallAudit) -> Result<Self, StoreError> {
        Ok(CallRow {
            run_id,
            seq: big(seq),
            a,
            origin: enum_text(a.origin),
            args: a.args.to_string(),
            impact: a.impact.as_ref().map(Value::to_string),
            decision: a.decision.map(|d| d.as_str()),
            rules: serde_json::to_string(&a.rules)?,
            approval: a.approval.as_ref().map(|r| r.0.as_str()),
            result_bytes: big(a.result_bytes),
            duration_ms: big(a.duration_ms),
        })
    }
}

/// An approval record as written: JSON as text (its canonical arguments byte for byte),
/// its state as its name.
#[derive(Debug)]
pub(crate) struct ApprovalRow<'a> {
    pub r: &'a ApprovalRecord,
    pub args: String,
    pub impact: Option<String>,
    pub rules: String,
    pub state: String,
    pub decision_path: String,
}

impl<'a> ApprovalRow<'a> {
    pub fn encode(r: &'a ApprovalRecord) -> Result<Self, StoreError> {
        Ok(ApprovalRow {
            r,
            args: r.args.to_string(),
            impact: r.impact.as_ref().map(Value::to_string),
            rules: serde_json::to_string(&r.rules)?,
            state: enum_text(r.state),
            decision_path: serde_json::to_string(&r.decision_path)?,
        })
    }
}

/// A count as a signed 64-bit column.
fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A run row as stored: JSON as text, times as RFC 3339 text.
#[derive(Debug)]
pub(crate) struct RawRun {
    pub id: String,
    pub sop: String,
    pub status: String,
    pub model: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub summary: String,
    pub reason: String,
    pub trigger: String,
    pub params: String,
}

impl RawRun {
    pub fn decode(self) -> Result<RunRow, StoreError> {
        Ok(RunRow {
            id: self.id,
            sop: self.sop,
            status: parse_text(&self.status).unwrap_or(RunStatus::Interrupted),
            model: self.model,
            started_at: self.started_at,
            finished_at: self.finished_at,
            summary: self.summary,
            reason: self.reason,
            trigger: serde_json::from_str(&self.trigger)?,
            params: serde_json::from_str(&self.params)?,
        })
    }
}

/// An event as stored.
#[derive(Debug)]
pub(crate) struct RawEvent {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub body: String,
}

/// An audit row as stored.
#[derive(Debug)]
pub(crate) struct RawCall {
    pub call_id: String,
    pub tool: String,
    pub origin: String,
    pub args: String,
    pub impact: Option<String>,
    pub decision: Option<String>,
    pub rules: String,
    pub reason: String,
    pub approval: Option<String>,
    pub executed: bool,
    pub ok: Option<bool>,
    pub result_bytes: i64,
    pub duration_ms: i64,
    pub error: Option<String>,
    pub target: Option<String>,
    pub workload: Option<String>,
    pub executed_at: Option<DateTime<Utc>>,
}

impl RawCall {
    pub fn decode(self) -> Result<CallAudit, StoreError> {
        Ok(CallAudit {
            call_id: self.call_id,
            tool: self.tool,
            origin: parse_text(&self.origin)?,
            args: serde_json::from_str(&self.args)?,
            impact: json_opt(self.impact.as_deref())?,
            decision: self.decision.as_deref().map(parse_text).transpose()?,
            rules: serde_json::from_str(&self.rules)?,
            reason: self.reason,
            approval: self.approval.map(super::ApprovalRef),
            executed: self.executed,
            ok: self.ok,
            result_bytes: self.result_bytes.max(0) as u64,
            duration_ms: self.duration_ms.max(0) as u64,
            error: self.error,
            target: self.target,
            workload: self.workload,
            executed_at: self.executed_at,
        })
    }
}

/// An approval row as stored.
#[derive(Debug)]
pub(crate) struct RawApproval {
    pub id: String,
    pub run_id: String,
    pub call_id: String,
    pub tool: String,
    pub args: String,
    pub digest: String,
    pub impact: Option<String>,
    pub rules: String,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub state: String,
    pub decided_by: Option<String>,
    pub channel: Option<String>,
    pub impact_digest: Option<String>,
    pub decision_path: String,
}

impl RawApproval {
    pub fn decode(self) -> Result<ApprovalRecord, StoreError> {
        Ok(ApprovalRecord {
            id: self.id,
            run_id: self.run_id,
            call_id: self.call_id,
            tool: self.tool,
            args: serde_json::from_str(&self.args)?,
            digest: self.digest,
            impact: json_opt(self.impact.as_deref())?,
            impact_digest: self.impact_digest,
            decision_path: serde_json::from_str(&self.decision_path)?,
            rules: serde_json::from_str(&self.rules)?,
            reason: self.reason,
            requested_at: self.requested_at,
            expires_at: self.expires_at,
            state: parse_text(&self.state)?,
            decided_by: self.decided_by,
            channel: self.channel,
        })
    }
}

fn json_opt(s: Option<&str>) -> Result<Option<Value>, serde_json::Error> {
    s.map(serde_json::from_str).transpose()
}

/// A unit enum (run status, approval state, call origin, decision) as its snake_case name.
pub(crate) fn enum_text<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A unit enum read back from its snake_case name.
pub(crate) fn parse_text<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, serde_json::Error> {
    serde_json::from_value(Value::String(s.to_owned()))
}

/// An approval state read back; an unknown one counts as pending (shown as not yet decided).
pub(crate) fn parse_state(s: &str) -> ApprovalState {
    parse_text(s).unwrap_or(ApprovalState::Pending)
}

/// An RFC 3339 time read back.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
