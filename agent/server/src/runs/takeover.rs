//! Takeover: a replica that dies mid-run stops renewing its runs' leases; once a lease has
//! run out ([`RUN_LEASE`]), another replica claims the run (one conditional update: two
//! replicas never both win), marks it interrupted and carries it on as a new run of the same
//! SOP, parameters, trigger and target. The new run reads the first run's audit and never
//! repeats a change it executed (the gate refuses it, `builtin:already-executed`); the model
//! is told what was done. A run that was waiting for an approval is not carried on: the
//! approval stays decidable on any replica, and carrying it out executes it exactly once.
//!
//! Stated time: a dead replica's run is carried on within [`RUN_LEASE`] + [`CHECK_EVERY`]
//! (40 s) of its last renewal.

use std::sync::atomic::Ordering;
use std::time::Duration;

use sopilot_protocol::{ApprovalState, RunEventKind, Trigger};
use sopilot_runtime::{CancellationToken, new_run_id, this_replica};

use super::{Entry, Origin, RUN_LEASE, RunManager, StartRequest, lock};

/// How often a replica looks for runs whose lease ran out.
pub const CHECK_EVERY: Duration = Duration::from_secs(10);

impl RunManager {
    /// Claims every running run whose lease ran out and carries each on; returns the new
    /// runs' ids. Store failures are logged: the next check tries again.
    pub fn take_over_expired(&self) -> Vec<String> {
        let store = &self.inner.runner.store;
        let me = this_replica();
        let mut started = Vec::new();
        loop {
            let first = match store.claim_expired(&me, RUN_LEASE) {
                Ok(Some(id)) => id,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!("cannot look for runs of dead replicas: {e}");
                    break;
                }
            };
            match self.take_over(&first) {
                Ok(Some(id)) => started.push(id),
                Ok(None) => {}
                Err(e) => tracing::error!(run_id = %first, "cannot carry the run on: {e}"),
            }
        }
        started
    }

    /// Carries on `first`, which this replica just claimed; `None` when it is not carried on
    /// (waiting for an approval, its SOP unknown here, or still running in this process).
    fn take_over(&self, first: &str) -> Result<Option<String>, String> {
        let store = &self.inner.runner.store;
        if self.runs_here(first) {
            // Our own lease lapsed (a slow store): the run is alive here; keep it.
            return Ok(None);
        }
        let (row, events, _) = store.run(first).map_err(|e| e.to_string())?;
        let waiting = store
            .approvals(Some(ApprovalState::Pending))
            .map_err(|e| e.to_string())?
            .iter()
            .any(|a| a.run_id == first);
        let sop = self.inner.sops.iter().find(|s| s.name == row.sop).cloned();
        let Some(sop) = sop.filter(|_| !waiting) else {
            let why = if waiting {
                "its replica stopped while a change waited for approval; the approval can still be decided on any replica and is carried out once".to_owned()
            } else {
                format!(
                    "its replica stopped, and SOP {} is not in this replica's library, so nobody carries it on",
                    row.sop
                )
            };
            store.interrupt(first, &why).map_err(|e| e.to_string())?;
            return Ok(None);
        };
        let trigger: Trigger =
            serde_json::from_value(row.trigger.clone()).unwrap_or(Trigger::Manual { by: None });
        let params = row
            .params
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let target = sopilot_protocol::target_of(&events).map(str::to_owned);
        let mut req = StartRequest {
            trigger,
            sop: Some(sop.name.clone()),
            params: Default::default(),
            origin: Origin::Takeover(first.to_owned()),
            target,
            carries_on: Some(first.to_owned()),
        };
        let key = req.trigger.dedup_key();
        // A run taken from the queue that died before it started has no bound target in its
        // timeline: its target is bound as at intake.
        if let Err(e) = self.bind_target(&mut req, &key) {
            store
                .interrupt(first, &format!("its replica stopped; {e}"))
                .map_err(|e| e.to_string())?;
            return Ok(None);
        }
        let run_id = new_run_id();
        // Queued first (past the queue's limit: a run already accepted is never refused):
        // should the store refuse it, `first` stays running and claimed by this replica
        // until the lease runs out, and is taken over again then. Nothing is lost.
        let request = super::queue::Request::of(&key, &sop.name, &params, &req);
        let offer = sopilot_runtime::Offer::Queue { limit: usize::MAX };
        self.enqueue(&run_id, &request, offer)
            .map_err(|e| format!("run {run_id} could not be queued to carry it on: {e}"))?;
        let why = format!(
            "its replica stopped mid-run; run {run_id}, queued by {}, carries it on",
            this_replica()
        );
        // Interrupted, `first` gives its claim on the trigger up to the new run.
        store.interrupt(first, &why).map_err(|e| e.to_string())?;
        let _ = store.append_event(first, RunEventKind::Note { message: why });
        if let Some(holder) = self.claimed_elsewhere(&req.trigger, &key, &run_id) {
            let why =
                format!("a repeat of its trigger started run {holder} meanwhile, which handles it");
            tracing::info!(run_id = %first, "not carrying it on: {why}");
            store.interrupt(&run_id, &why).map_err(|e| e.to_string())?;
            return Ok(None);
        }
        lock(&self.inner.dedup).insert(key, Entry::elsewhere(run_id.clone()));
        self.inner
            .metrics
            .runs_started
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(run_id = %first, "carrying on a dead replica's run as {run_id}");
        self.dispatch();
        Ok(Some(run_id))
    }

    /// Whether `run_id` is being run by this process.
    fn runs_here(&self, run_id: &str) -> bool {
        lock(&self.inner.dedup)
            .values()
            .any(|e| e.run_id == run_id && matches!(e.state, super::EntryState::Running))
    }
}

/// Looks for runs of dead replicas every [`CHECK_EVERY`] until `stop`.
pub async fn keep_taking_over(runs: RunManager, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(CHECK_EVERY) => {}
        }
        let started = runs.take_over_expired();
        if !started.is_empty() {
            tracing::info!("carrying on {} run(s) of dead replicas", started.len());
        }
    }
}
