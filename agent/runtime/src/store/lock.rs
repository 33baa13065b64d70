//! The change lock: the gate holds it from reading a mutating call's history (cumulative
//! limits: "at most 3 restarts an hour", "the HPA moved at most 50 % in the window") to
//! writing its executed audit row, so concurrent calls cannot all pass a limit on the same
//! stale count. Within a process a mutex; across the processes on one store (several `serve`
//! replicas on PostgreSQL) also the store's own lock: a session advisory lock on PostgreSQL,
//! released when the guard drops or the holder's connection ends (a replica killed with
//! SIGKILL holds nothing). SQLite's store is one process's, as before.

use std::sync::Arc;
use std::time::Duration;

use super::{Store, StoreError};

/// How often a process waiting for another's change lock asks again.
const RETRY: Duration = Duration::from_millis(20);
/// After how long a wait is worth a warning (calls hold the lock for seconds at most).
const LONG_WAIT: Duration = Duration::from_secs(30);
/// After how long a wait gives up: the call is not executed (a holder takes the lock for one
/// call's execution, bounded by its timeout).
const GIVE_UP: Duration = Duration::from_secs(300);
/// How many failed attempts in a row give up.
const ATTEMPTS: u32 = 3;

/// The change lock, held until dropped.
#[derive(Debug)]
pub struct ChangesHeld {
    _local: tokio::sync::OwnedMutexGuard<()>,
    /// The store whose lock is held too, if it was taken.
    shared: Option<Arc<Store>>,
}

impl Drop for ChangesHeld {
    fn drop(&mut self) {
        if let Some(store) = self.shared.take()
            && let Err(e) = store.backend.unlock_changes()
        {
            tracing::warn!(
                "cannot give the store's change lock back ({e}); it is released when this connection ends"
            );
        }
    }
}

impl Store {
    /// Serialises decisions on mutating calls with their execution, in this process and
    /// across every process on the store; the guard is dropped once the executed audit row
    /// is written. Fails closed: a store that cannot take its lock (after [`ATTEMPTS`] tries,
    /// or [`GIVE_UP`] of waiting) is an error, and the gate executes nothing.
    pub async fn lock_changes(self: &Arc<Self>) -> Result<ChangesHeld, StoreError> {
        let local = self.changes.clone().lock_owned().await;
        let started = tokio::time::Instant::now();
        let (mut warned, mut failed) = (false, 0);
        loop {
            match self.backend.try_lock_changes() {
                Ok(true) => {
                    return Ok(ChangesHeld {
                        _local: local,
                        shared: Some(self.clone()),
                    });
                }
                Ok(false) if started.elapsed() > GIVE_UP => {
                    return Err(StoreError::ChangeLock(format!(
                        "another replica has held it for over {} s",
                        GIVE_UP.as_secs()
                    )));
                }
                Ok(false) => {
                    if !warned && started.elapsed() > LONG_WAIT {
                        warned = true;
                        tracing::warn!(
                            "waiting {}s for the store's change lock: another replica holds it",
                            started.elapsed().as_secs()
                        );
                    }
                    tokio::time::sleep(RETRY).await;
                }
                Err(e) => {
                    // A request that timed out may still take the lock later on its
                    // connection, which runs requests in order: give it back after it.
                    let _ = self.backend.unlock_changes();
                    failed += 1;
                    if failed >= ATTEMPTS {
                        return Err(StoreError::ChangeLock(e.to_string()));
                    }
                    tokio::time::sleep(RETRY * 10).await;
                }
            }
        }
    }
}
