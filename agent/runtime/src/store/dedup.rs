//! Trigger deduplication shared by every process on the store: several `sopilot serve`
//! replicas behind one load balancer each receive repeats of one alarm, and all of them must
//! join the run the first one started. A trigger's dedup key is claimed for a run in the
//! store; the claim holds while the run goes and for the dedup window after it finished.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, now};

/// How long a claim whose run never finished holds its key when nobody renews a lease on
/// the run (a run `serve` carries is leased, and held for as long as its lease is renewed):
/// the replica running it died without the run being marked interrupted (on another host:
/// nobody marks it). Runs end within their deadline (10 minutes by default) plus an
/// approval's wait.
pub const CLAIM_STALE_AFTER: chrono::Duration = chrono::Duration::hours(1);

/// How long a claim whose run was never recorded holds its key: the replica that accepted the
/// trigger died between claiming it and recording the run. (A queued run is recorded, and
/// holds its key for as long as it waits in the queue.)
pub const CLAIM_UNSTARTED_AFTER: chrono::Duration = chrono::Duration::minutes(10);

/// Whether a claim still holds once its run finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// A finished run keeps its key for this long (alarms, alerts, events).
    After(chrono::Duration),
    /// A finished run gives its key up at once (a schedule never overlaps itself, but fires
    /// again once its last run is done).
    AtOnce,
}

impl Store {
    /// Claims trigger `key` for `run_id` unless another run holds it (still going, or
    /// finished within `reuse`); an interrupted run's claim, or one older than
    /// [`CLAIM_STALE_AFTER`] whose run never finished, holds nothing. Returns the run that
    /// holds it: `run_id` when this call claimed it, else the run to join.
    pub fn claim_trigger(
        &self,
        key: &str,
        run_id: &str,
        reuse: Reuse,
    ) -> Result<String, StoreError> {
        let at = now();
        let reusable_before: DateTime<Utc> = match reuse {
            Reuse::After(window) => at - window,
            Reuse::AtOnce => at + chrono::Duration::microseconds(1),
        };
        self.backend.claim_trigger(
            key,
            run_id,
            at,
            reusable_before,
            at - CLAIM_STALE_AFTER,
            at - CLAIM_UNSTARTED_AFTER,
        )
    }

    /// Marks `key`'s claim by `run_id` finished now, so it is given up after the dedup window.
    pub fn trigger_done(&self, key: &str, run_id: &str) -> Result<(), StoreError> {
        self.backend.trigger_done(key, run_id, now())
    }

    /// Gives `key` up if `run_id` holds it: its run was never recorded (the queue was full),
    /// so nothing may join it.
    pub fn unclaim_trigger(&self, key: &str, run_id: &str) -> Result<(), StoreError> {
        self.backend.unclaim_trigger(key, run_id)
    }
}
