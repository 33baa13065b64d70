//! Run ownership: with several `sopilot serve` replicas on one PostgreSQL store, a run is
//! carried on by exactly one of them, the holder of its lease. The holder renews the lease
//! (heartbeat) well before it runs out; a replica that dies stops renewing, and once the
//! lease has run out another replica may claim the run and carry it on.
//!
//! Owners are replica names (`host:pid`, [`this_replica`](super::this_replica)). A claim is
//! one conditional `UPDATE` (PostgreSQL: on a row found with `FOR UPDATE SKIP LOCKED`), so
//! two replicas claiming at once cannot both win.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, now};

/// A run's current owner and until when its lease holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    pub until: DateTime<Utc>,
}

impl Store {
    /// Makes `owner` the owner of running run `run_id` for `lease`, if nobody else holds a
    /// lease on it that has not run out; returns whether `owner` holds it now.
    pub fn claim(
        &self,
        run_id: &str,
        owner: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let now = now();
        self.backend.claim(run_id, owner, now, until(now, lease))
    }

    /// Claims for `owner` one running run whose lease ran out (its replica died), if there
    /// is one; returns its id. Replicas calling this at once get different runs.
    pub fn claim_expired(
        &self,
        owner: &str,
        lease: std::time::Duration,
    ) -> Result<Option<String>, StoreError> {
        let now = now();
        self.backend.claim_expired(owner, now, until(now, lease))
    }

    /// Renews `owner`'s lease on `run_id` for `lease` from now; false when `owner` no longer
    /// holds it (another replica claimed the run after the lease ran out, or it finished):
    /// the caller must then stop acting for the run.
    pub fn heartbeat(
        &self,
        run_id: &str,
        owner: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        self.backend.heartbeat(run_id, owner, until(now(), lease))
    }

    /// Gives up `owner`'s lease on `run_id` (a replica shutting down cleanly), so another
    /// replica may claim it at once; false when `owner` did not hold it.
    pub fn release(&self, run_id: &str, owner: &str) -> Result<bool, StoreError> {
        self.backend.release(run_id, owner)
    }

    /// Who holds the lease on `run_id`, if anyone ever claimed it (the lease may have run
    /// out: compare `until` with now).
    pub fn lease(&self, run_id: &str) -> Result<Option<Lease>, StoreError> {
        Ok(self
            .backend
            .owner(run_id)?
            .map(|(owner, until)| Lease { owner, until }))
    }
}

pub(super) fn until(now: DateTime<Utc>, lease: std::time::Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::days(1))
}
