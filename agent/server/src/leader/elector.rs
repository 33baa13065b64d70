//! The election loop: the thin I/O around [`decide`](super::decide). Following, it reads the
//! Lease every `retry_period` and takes it when [`decide`] says so; leading, it renews every
//! `retry_period` and ends its term when a renewal shows another holder, or when none
//! succeeded for `renew_deadline` (even while a call still hangs). On shutdown it ends its
//! term and releases the Lease (empty holder), so another replica takes over at once.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use sopilot_runtime::CancellationToken;
use tokio::sync::watch;
use tokio::time::{Instant, sleep, sleep_until};

use super::decide::{Observed, Record, Step, Timing, decide, stand_down_at};
use super::lease::{LeaseApi, LeaseError, Versioned};
use super::{LeaderOptions, Leadership, Term};
use crate::metrics::Metrics;
use crate::schedule::Clock;

/// Campaigns for one Lease and publishes this replica's [`Term`]s.
pub struct Elector {
    lease: LeaseApi,
    me: String,
    timing: Timing,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    terms: watch::Sender<Option<Term>>,
    /// The record as last read or written, and since when.
    observed: Option<Observed>,
    /// The `resourceVersion` a replace must carry.
    version: Option<String>,
}

impl std::fmt::Debug for Elector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Elector")
            .field("lease", &self.lease)
            .field("me", &self.me)
            .field("timing", &self.timing)
            .finish()
    }
}

/// A lease taken: the term's fencing token, when the winning attempt began, and until when
/// the previous holder may have worked (see [`Term::previous_until`]).
struct Won {
    fencing: u64,
    began: Instant,
    previous_until: Option<DateTime<Utc>>,
}

/// How a leading renewal ended.
enum Renewal {
    Renewed,
    Lost(String),
    Failed(LeaseError),
}

impl Elector {
    /// An elector for `options` through `client`, and the leadership it publishes.
    pub fn new(
        client: kube::Client,
        options: &LeaderOptions,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> (Elector, Leadership) {
        let namespace = options
            .namespace
            .clone()
            .unwrap_or_else(|| client.default_namespace().to_owned());
        // A call never outlives the renew deadline (nor does a leader waiting on it).
        let lease = LeaseApi::new(
            client,
            &namespace,
            &options.name,
            options.timing.renew_deadline,
        );
        let (terms, leadership) = Leadership::channel();
        let elector = Elector {
            lease,
            me: options.identity.clone(),
            timing: options.timing,
            clock,
            metrics,
            terms,
            observed: None,
            version: None,
        };
        (elector, leadership)
    }

    /// Campaigns until `stop`, then releases the Lease if it holds it.
    pub async fn run(mut self, stop: CancellationToken) {
        tracing::info!(
            "leader election: campaigning for lease {} as {}",
            self.lease.lease(),
            self.me
        );
        while let Some(won) = self.follow(&stop).await {
            self.lead(won, &stop).await;
        }
    }

    /// Retries every `retry_period` until this replica takes the lease (its fencing token
    /// and when the winning attempt began), or `stop`.
    async fn follow(&mut self, stop: &CancellationToken) -> Option<Won> {
        // What was last logged: a holder or an error is logged when it changes, not at
        // every retry.
        let mut said = String::new();
        loop {
            let began = Instant::now();
            let attempt = tokio::select! {
                () = stop.cancelled() => return None,
                a = self.try_acquire() => a,
            };
            // (is it a problem, what to say)
            let news = match attempt {
                Ok(Ok((fencing, previous_until))) => {
                    return Some(Won {
                        fencing,
                        began,
                        previous_until,
                    });
                }
                Ok(Err(holder)) => Some((false, format!("{holder} leads; following"))),
                // Another replica won the race: the next read shows which.
                Err(LeaseError::Conflict { .. }) => None,
                Err(e) => Some((
                    true,
                    format!("{e}; retrying every {:?}", self.timing.retry_period),
                )),
            };
            if let Some((problem, news)) = news.filter(|(_, n)| *n != said) {
                if problem {
                    tracing::warn!("leader election: {news}");
                } else {
                    tracing::info!("leader election: {news}");
                }
                said = news;
            }
            tokio::select! {
                () = stop.cancelled() => return None,
                () = sleep(self.timing.retry_period) => {}
            }
        }
    }

    /// One read and, when [`decide`] says so, one write: `Ok((fencing, previous_until))`
    /// when this replica now holds the lease, `Err(holder)` when another does.
    async fn try_acquire(
        &mut self,
    ) -> Result<Result<(u64, Option<DateTime<Utc>>), String>, LeaseError> {
        let step = self.read_and_decide().await?;
        let previous_until = match &step {
            Step::Wait { holder, .. } => return Ok(Err(holder.clone())),
            Step::Create(_) => None,
            Step::Take(_) | Step::Renew(_) => self.observed.as_ref().map(|o| o.since),
        };
        let fencing = self.write(&step).await?.transitions;
        Ok(Ok((fencing, previous_until)))
    }

    async fn read_and_decide(&mut self) -> Result<Step, LeaseError> {
        let read = self.lease.read().await?;
        let now = self.clock.now();
        self.version = read.as_ref().map(|r| r.version.clone());
        self.observed = read.map(|r| Observed::update(self.observed.as_ref(), r.record, now));
        if let Some(o) = &self.observed {
            self.metrics
                .lease_transitions
                .store(o.record.transitions, Ordering::Relaxed);
        }
        Ok(decide(&self.me, self.observed.as_ref(), now, &self.timing))
    }

    async fn write(&mut self, step: &Step) -> Result<Record, LeaseError> {
        let written = match (step, self.version.as_deref()) {
            (Step::Create(r), _) | (Step::Take(r) | Step::Renew(r), None) => {
                self.lease.create(r).await?
            }
            (Step::Take(r) | Step::Renew(r), Some(v)) => self.lease.replace(v, r).await?,
            (Step::Wait { holder, .. }, _) => {
                return Err(LeaseError::Conflict {
                    lease: format!("{} (held by {holder})", self.lease.lease()),
                });
            }
        };
        Ok(self.remember(written))
    }

    fn remember(&mut self, written: Versioned) -> Record {
        self.version = Some(written.version);
        self.observed = Some(Observed {
            record: written.record.clone(),
            since: self.clock.now(),
        });
        written.record
    }

    /// Leads one term: begins it, keeps the lease until it is lost or `stop`, ends it
    /// (cancelling its work first), then releases the lease on `stop`.
    async fn lead(&mut self, won: Won, stop: &CancellationToken) {
        let fencing = won.fencing;
        let term_stop = stop.child_token();
        let term = Term {
            previous_until: won.previous_until,
            ..Term::new(
                self.me.clone(),
                fencing,
                self.clock.now(),
                term_stop.clone(),
            )
        };
        tracing::info!(
            "leader election: leading lease {} (term {fencing}); starting the schedules and the event watcher",
            self.lease.lease()
        );
        self.terms.send_replace(Some(term));
        self.metrics.leader.store(1, Ordering::Relaxed);
        self.metrics.leader_terms.fetch_add(1, Ordering::Relaxed);
        let why = self.keep(won.began, stop).await;
        // Fencing: the term's work stops before anything else happens.
        term_stop.cancel();
        self.terms.send_replace(None);
        self.metrics.leader.store(0, Ordering::Relaxed);
        tracing::warn!(
            "leader election: term {fencing} ended ({why}); the schedules and the event watcher stopped"
        );
        if stop.is_cancelled() {
            self.release().await;
        }
    }

    /// Renews every `retry_period` from `renewed_at` (when the last successful write began)
    /// until a renewal shows another holder, none succeeded for `renew_deadline` (even while
    /// a call hangs), or `stop`; why it stopped.
    async fn keep(&mut self, mut renewed_at: Instant, stop: &CancellationToken) -> String {
        loop {
            let deadline = stand_down_at(renewed_at, &self.timing);
            tokio::select! {
                () = stop.cancelled() => return "shutting down".to_owned(),
                () = sleep_until(deadline) => return self.deadline_passed(),
                () = sleep(self.timing.retry_period) => {}
            }
            let began = Instant::now();
            let renewal = tokio::select! {
                () = stop.cancelled() => return "shutting down".to_owned(),
                () = sleep_until(deadline) => return self.deadline_passed(),
                r = self.renew() => r,
            };
            match renewal {
                Renewal::Renewed => renewed_at = began,
                Renewal::Lost(holder) => return format!("{holder} holds the lease now"),
                Renewal::Failed(e) => tracing::warn!(
                    "leader election: renewal failed ({e}); retrying until the renew deadline"
                ),
            }
        }
    }

    fn deadline_passed(&self) -> String {
        format!(
            "no renewal succeeded for {}s, the renew deadline",
            self.timing.renew_deadline.as_secs_f64()
        )
    }

    async fn renew(&mut self) -> Renewal {
        match self.read_and_decide().await {
            Ok(step @ Step::Renew(_)) => match self.write(&step).await {
                Ok(_) => Renewal::Renewed,
                Err(e) => Renewal::Failed(e),
            },
            Ok(Step::Wait { holder, .. }) => Renewal::Lost(holder),
            Ok(Step::Create(_) | Step::Take(_)) => {
                Renewal::Lost("nobody (the lease was deleted or released)".into())
            }
            Err(e) => Renewal::Failed(e),
        }
    }

    /// Gives the lease up (empty holder, 1 s duration, as client-go's `ReleaseOnCancel`), so
    /// the next leader need not wait for it to expire. Best effort: it expires anyway.
    async fn release(&mut self) {
        let (Some(version), Some(observed)) = (self.version.clone(), self.observed.as_ref()) else {
            return;
        };
        if observed.record.holder != self.me {
            return;
        }
        let released = Record {
            holder: String::new(),
            lease_duration: std::time::Duration::from_secs(1),
            renew_time: Some(self.clock.now()),
            ..observed.record.clone()
        };
        match self.lease.replace(&version, &released).await {
            Ok(_) => tracing::info!("leader election: released lease {}", self.lease.lease()),
            Err(e) => tracing::warn!(
                "leader election: could not release the lease ({e}); it expires by itself"
            ),
        }
    }
}
