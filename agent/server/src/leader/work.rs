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
    /// The event watcher's API client and options, when `serve.kubernetes_events` is set.
    pub watch: Option<(kube::Client, WatchOptions)>,
    pub runs: RunManager,
    pub metrics: Arc<Metrics>,
}

impl std::fmt::Debug for RunOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOnce")
            .field("schedules", &self.schedules.len())
            .field("watch", &self.watch.is_some())
            .finish()
    }
}

impl RunOnce {
    /// Starts every schedule and the watcher for `term`; they stop when it ends. The
    /// watcher's initial list leaves events from before the term to the previous leader.
    pub fn start(&self, term: &Term) {
        let span = tracing::info_span!("leader_term", fencing = term.fencing);
        for schedule in &self.schedules {
            let runs = self.runs.clone();
            let task = crate::schedule::run(
                schedule.clone(),
                Arc::new(SystemClock),
                move |req| runs.submit(req),
                term.stop(),
            );
            tokio::spawn(task.instrument(span.clone()));
        }
        if let Some((client, options)) = &self.watch {
            let options = WatchOptions {
                not_before: term.previous_until,
                ..options.clone()
            };
            let task = crate::watch::run(
                client.clone(),
                self.runs.clone(),
                self.metrics.clone(),
                options,
                term.stop(),
            );
            tokio::spawn(task.instrument(span.clone()));
        }
    }
}
