//! The run queue, shared by every process on the store: an accepted trigger's run is
//! recorded and queued in one transaction, and whichever replica has a free slot takes it
//! next (oldest first; PostgreSQL: `FOR UPDATE SKIP LOCKED`), claiming its lease in the same
//! transaction. A busy replica's backlog is worked off by idle ones, and a replica that dies
//! leaves its queued runs to the others: a queued run belongs to no replica until taken.
//!
//! A process with a free slot starts what it accepts at once instead ([`Offer::Start`]): the
//! run is recorded leased to it, never queued.
//!
//! The queue bounds its length: a run is not queued (nor recorded) when `limit` runs wait
//! already. Replicas queueing at the same moment may overshoot the limit by one each.

use serde_json::Value;

use super::backend::Taker;
use super::lease::until;
use super::{NewRun, Store, StoreError, location, now, process_nonce};

/// A run taken from the queue: its lease is the taker's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRun {
    pub run_id: String,
    /// What the queueing process stored with it (JSON text, read by whoever takes it).
    pub request: String,
}

/// What became of a run offered to the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Recorded and queued.
    Queued,
    /// Recorded and leased to the process that starts it now ([`Offer::Start`]).
    Started,
    /// Not recorded: this many runs wait already.
    Full(usize),
}

/// Who a run offered to the queue is for.
#[derive(Debug, Clone, Copy)]
pub enum Offer<'a> {
    /// The queue: whichever process has a free slot first, at most `limit` waiting.
    Queue { limit: usize },
    /// Not queued: leased at once to `owner` for `lease`, which has a slot and starts it.
    Start {
        owner: &'a str,
        lease: std::time::Duration,
    },
}

impl Store {
    /// Records run `id` (as [`Store::create_run`] does) with `request`, for `offer`: queued
    /// (unless full) or leased to the process starting it now, in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub fn enqueue_run(
        &self,
        id: &str,
        sop: &str,
        trigger: &Value,
        params: &Value,
        model: &str,
        request: &Value,
        offer: Offer<'_>,
    ) -> Result<Enqueued, StoreError> {
        let host = location::hostname();
        let run = NewRun::now(id, sop, trigger, params, model, &host);
        match offer {
            Offer::Start { owner, lease } => {
                let until = until(run.started_at, lease);
                self.backend.start_leased(&run, owner, until)?;
                Ok(Enqueued::Started)
            }
            Offer::Queue { limit } => {
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                Ok(
                    match self.backend.enqueue(&run, &request.to_string(), limit)? {
                        None => Enqueued::Queued,
                        Some(n) => Enqueued::Full(usize::try_from(n).unwrap_or(usize::MAX)),
                    },
                )
            }
        }
    }

    /// Takes the oldest queued run for `owner` (this process), leased to it for `lease` and
    /// recorded as this process's (crash recovery judges it by this process); replicas
    /// taking at once get different runs. Queued runs that stopped running meanwhile
    /// (interrupted) are dropped from the queue on the way.
    pub fn dequeue_run(
        &self,
        owner: &str,
        lease: std::time::Duration,
    ) -> Result<Option<QueuedRun>, StoreError> {
        let now = now();
        let host = location::hostname();
        let taker = Taker {
            owner,
            pid: std::process::id(),
            nonce: process_nonce(),
            host: &host,
        };
        Ok(self
            .backend
            .dequeue(&taker, now, until(now, lease))?
            .map(|(run_id, request)| QueuedRun { run_id, request }))
    }

    /// How many runs wait in the queue.
    pub fn queued_runs(&self) -> Result<usize, StoreError> {
        Ok(usize::try_from(self.backend.queued()?).unwrap_or(0))
    }
}
