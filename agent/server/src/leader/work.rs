//! What must run on one replica only, started in each term: the cron schedules and the
//! Kubernetes event watcher, each stopped when the term ends, their log lines carrying the
//! term's fencing token (`leader_term{fencing=N}`).

use std::sync::Arc;

use tracing::Instrument;

use super::Term;
use crate::metrics::Metrics;
use crate::runs::RunManager;
use crate::schedule::{Schedule, SystemClock};
use crate::watch::WatchOptions;

/// The schedules and the watcher, ready to start in a term.
#[derive(Clone)]
pub struct RunOnce {
    pub schedules: Vec<Schedule>,
    /// The event watchers' API clients and options, when `serve.kubernetes_events` is set:
    /// one, or one per target.
    pub watches: Vec<(kube::Client, WatchOptions)>,
    pub runs: RunManager,
    pub metrics: Arc<Metrics>,
}

impl std::fmt::Debug for RunOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOnce")
            .field("schedules", &self.schedules.len())
            .field("watches", &self.watches.len())
            .finish()
    }
}

impl RunOnce {
    /// Starts every schedule and the watcher for `term`; they stop when it ends. The
    /// watcher's initial list leaves events from before the term to the previous leader.
    pub fn start(&self, term: &Term) {
        let span = tracing::info_span!("leader_term", fencing = term.fencing);
        // Checked when a run would start, not only when the work wakes: a firing or an event
        // handled as the term ends must not start a run the next leader may start too.
        let fenced = self.runs.fenced(
            term.stop(),
            format!(
                "this replica's leader term (fencing token {})",
                term.fencing
            ),
        );
        for schedule in &self.schedules {
            let runs = fenced.clone();
            let task = crate::schedule::run(
                schedule.clone(),
                Arc::new(SystemClock),
                move |req| runs.submit(req),
                term.stop(),
            );
            tokio::spawn(task.instrument(span.clone()));
        }
        for (client, options) in &self.watches {
            let options = WatchOptions {
                not_before: term.previous_until,
                ..options.clone()
            };
            let task = crate::watch::run(
                client.clone(),
                fenced.clone(),
                self.metrics.clone(),
                options,
                term.stop(),
            );
            tokio::spawn(task.instrument(span.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;
    use std::sync::Arc;

    use chrono::Utc;
    use sopilot_protocol::Trigger;
    use sopilot_runtime::{CancellationToken, Store};

    use super::Term;
    use crate::runs::{Origin, RunManager, StartError, StartRequest, Started};

    fn request(by: &str) -> StartRequest {
        StartRequest {
            trigger: Trigger::Manual {
                by: Some(by.into()),
            },
            sop: Some("pod-crashloop".into()),
            params: BTreeMap::from([
                ("namespace".to_owned(), "payment".to_owned()),
                ("pod".to_owned(), "web-1".to_owned()),
            ]),
            origin: Origin::Schedule("nightly".into()),
            target: None,
            carries_on: None,
        }
    }

    async fn manager(store: Arc<Store>) -> RunManager {
        let state = crate::testing::state_with(crate::ServeOptions::default(), store).await;
        let (sop, _) = sopilot_sop::load(
            "pod-crashloop",
            include_str!("../../../../sops/pod-crashloop.sop.md"),
        )
        .unwrap();
        RunManager::new(
            vec![sop],
            state.runs.runner().clone(),
            state.approvals.clone(),
            state.metrics.clone(),
            crate::RunManagerOptions::default(),
            Vec::new(),
        )
    }

    #[tokio::test]
    async fn a_term_that_ended_starts_no_run_whenever_its_work_submits() {
        let store = Arc::new(Store::in_memory().unwrap());
        let runs = manager(store.clone()).await;
        let stop = CancellationToken::new();
        let term = Term::new("me".into(), 7, Utc::now(), stop.clone());
        let fenced = runs.fenced(term.stop(), format!("leader term {}", term.fencing));
        let first = fenced.submit(request("first")).unwrap();
        assert!(matches!(first, Started::New { .. }), "{first:?}");
        stop.cancel();
        assert!(term.is_over());
        // Work of the ended term that got as far as submitting (a schedule that woke, an
        // event listed) starts nothing.
        let late = fenced.submit(request("late"));
        match late {
            Err(StartError::BadRequest(why)) => {
                assert!(why.contains("leader term 7 ended"), "{why}");
            }
            other => panic!("a deposed term started a run: {other:?}"),
        }
        // A repeat of a run still going joins it, as before.
        assert!(matches!(
            fenced.submit(request("first")),
            Ok(Started::Joined { .. })
        ));
        // Unfenced requests (webhooks, the API) still start runs.
        assert!(matches!(
            runs.submit(request("late")),
            Ok(Started::New { .. })
        ));
        runs.shutdown();
    }
}
