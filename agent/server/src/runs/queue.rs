//! Taking runs from the store's shared queue: every replica with a free slot takes the
//! oldest queued run, whichever replica accepted it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sopilot_protocol::Trigger;
use sopilot_runtime::{CancellationToken, QueuedRun, this_replica};
use tokio::sync::OwnedSemaphorePermit;

use super::{Entry, Origin, RUN_LEASE, RunManager, StartRequest, lock};

/// How often an idle replica looks at the queue for runs other replicas accepted (its own
/// are taken at once, and the next whenever one of its runs ends).
pub const LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// What a queued run carries, so that any replica can start it: the request as accepted,
/// with its SOP and parameters as planned and its trigger's dedup key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Request {
    pub key: String,
    pub sop: String,
    pub params: BTreeMap<String, String>,
    pub trigger: Trigger,
    pub origin: Origin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carries_on: Option<String>,
}

impl Request {
    pub(super) fn of(
        key: &str,
        sop: &str,
        params: &BTreeMap<String, String>,
        req: &StartRequest,
    ) -> Request {
        Request {
            key: key.to_owned(),
            sop: sop.to_owned(),
            params: params.clone(),
            trigger: req.trigger.clone(),
            origin: req.origin.clone(),
            target: req.target.clone(),
            carries_on: req.carries_on.clone(),
        }
    }
}

impl RunManager {
    /// Starts queued runs while this replica has free slots, the oldest first, whichever
    /// replica queued them. Store failures are logged; the next look tries again.
    pub fn dispatch(&self) {
        let store = &self.inner.runner.store;
        while !self.inner.shutdown.is_cancelled() {
            let Ok(permit) = self.inner.slots.clone().try_acquire_owned() else {
                return;
            };
            match store.dequeue_run(&this_replica(), RUN_LEASE) {
                Ok(Some(taken)) => self.start_taken(taken, permit),
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!("cannot take a run from the queue: {e}");
                    return;
                }
            }
        }
    }

    /// Starts a run taken from the queue in the slot `permit` holds; one that cannot start
    /// here (its request unreadable, its SOP not in this replica's library) is marked
    /// interrupted, saying why.
    fn start_taken(&self, taken: QueuedRun, permit: OwnedSemaphorePermit) {
        let run_id = taken.run_id;
        let request: Request = match serde_json::from_str(&taken.request) {
            Ok(r) => r,
            Err(e) => {
                return self.not_started(
                    &run_id,
                    &format!("its queued request cannot be read by this replica ({e}); is every replica the same version?"),
                );
            }
        };
        let Some(sop) = self.inner.sops.iter().find(|s| s.name == request.sop) else {
            return self.not_started(
                &run_id,
                &format!(
                    "SOP {} is not in the library of replica {}, which took it from the queue; give every replica the same SOPs",
                    request.sop,
                    this_replica()
                ),
            );
        };
        if let Some(Err(e)) = request.target.as_deref().map(|t| self.check_target(t)) {
            return self.not_started(
                &run_id,
                &format!(
                    "it is bound to a target replica {} does not configure ({e}); give every replica the same targets",
                    this_replica()
                ),
            );
        }
        lock(&self.inner.dedup).insert(request.key.clone(), Entry::running(run_id.clone()));
        tracing::info!(%run_id, sop = %sop.name, "took a queued run");
        let run = self.clone().execute(run_id, sop.clone(), request, permit);
        tokio::spawn(run);
    }

    fn not_started(&self, run_id: &str, why: &str) {
        tracing::error!(%run_id, "cannot start the queued run: {why}");
        if let Err(e) = self.inner.runner.store.interrupt(run_id, why) {
            tracing::warn!(%run_id, "cannot mark the run interrupted: {e}");
        }
    }
}

/// Looks at the shared queue every [`LOOK_EVERY`] until `stop`, taking what this replica has
/// slots for: how an idle replica works off a busy one's backlog.
pub async fn keep_dispatching(runs: RunManager, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(LOOK_EVERY) => {}
        }
        runs.dispatch();
    }
}
