//! Turning triggers into runs: SOP routing, deduplication, the shared run queue and bounded
//! concurrency.
//!
//! An accepted trigger's run is recorded in the store: leased to the accepting replica when
//! it has a free slot (it starts at once), else queued. Every replica with a free slot takes
//! the oldest queued run, whichever replica accepted it ([`RunManager::dispatch`]): when one
//! of its runs ends, and when it looks ([`keep_dispatching`], every [`LOOK_EVERY`]). A busy
//! replica's backlog is worked off by idle ones, and a replica that dies leaves its queued
//! runs to the others.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sopilot_protocol::{RunEventKind, Trigger};
use sopilot_runtime::{
    Budgets, CancellationToken, Enqueued, Observer, Offer, Reuse, RunInput, Runner,
    UnroutedTrigger, new_run_id, this_replica,
};
use sopilot_sop::Sop;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;
use tracing::field::Empty;

use crate::approvals::{ApprovalHub, HubApprover};

mod queue;
mod takeover;
use crate::metrics::Metrics;
pub use queue::{LOOK_EVERY, keep_dispatching};
pub use takeover::{CHECK_EVERY, keep_taking_over};

/// Where a run request came from; channels use it to report progress (whichever replica
/// runs it: it is queued with the run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A webhook (`sns`, `eventbridge`, `alertmanager`).
    Webhook(String),
    /// A Slack message or command.
    Slack {
        channel: String,
        thread_ts: Option<String>,
        user: String,
    },
    /// The HTTP API or the MCP gateway.
    Api,
    /// A cron schedule.
    Schedule(String),
    /// The Kubernetes event watcher.
    Watcher,
    /// A takeover: this replica carries on the named run, whose replica died.
    Takeover(String),
}

/// A request to run an SOP.
#[derive(Debug, Clone)]
pub struct StartRequest {
    pub trigger: Trigger,
    /// The SOP by name; `None` routes by the SOPs' front-matter triggers.
    pub sop: Option<String>,
    /// Parameters on top of those the trigger fills.
    pub params: BTreeMap<String, String>,
    pub origin: Origin,
    /// The target to bind the run to (a schedule's, the API caller's); `None`: the target
    /// the trigger routes to, if any.
    pub target: Option<String>,
    /// The run this one carries on after its replica died ([`RunManager::take_over_expired`]).
    pub carries_on: Option<String>,
}

/// What became of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// A new run, queued or running.
    New { run_id: String, sop: String },
    /// A repeat of a trigger whose run is still going (or recently done): it joined that run.
    Joined { run_id: String },
}

/// Why a request started nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    #[error("no SOP matches this trigger ({0})")]
    NoSop(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the run queue is full ({0} waiting); try again later")]
    QueueFull(usize),
    /// The store could not record and queue the run: nothing was accepted, so the sender
    /// should try again (webhooks get a 503).
    #[error("the run could not be queued ({0}); try again")]
    Unavailable(String),
}

/// The SOPs a request may run, best first: the one it names; else every SOP with a
/// front-matter trigger rule matching its trigger, the most specific match first
/// ([`sopilot_sop::TriggerRule::specificity`]), ties in library order.
pub fn route(sops: &[Sop], req: &StartRequest) -> Result<Vec<Sop>, StartError> {
    match &req.sop {
        Some(name) => sops
            .iter()
            .find(|s| &s.name == name)
            .map(|s| vec![s.clone()])
            .ok_or_else(|| {
                let names: Vec<&str> = sops.iter().map(|s| s.name.as_str()).collect();
                StartError::BadRequest(format!("no SOP {name:?}; available: {}", names.join(", ")))
            }),
        None => {
            let mut scored: Vec<(u32, usize, &Sop)> = sops
                .iter()
                .enumerate()
                .filter_map(|(i, s)| Some((s.front.best_trigger(&req.trigger)?.0, i, s)))
                .collect();
            if scored.is_empty() {
                return Err(StartError::NoSop(req.trigger.dedup_key()));
            }
            scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            Ok(scored.into_iter().map(|(_, _, s)| s.clone()).collect())
        }
    }
}

/// The SOP a request runs and its parameters (from the trigger through the SOP's trigger
/// rule, then the request's), checked against the SOP; starts nothing. Of the SOPs [`route`]
/// offers, the first whose parameters render and resolve: a route that cannot take the
/// trigger falls through to the next, and when none can, the error names why for each.
pub fn plan(
    sops: &[Sop],
    req: &StartRequest,
) -> Result<(Sop, BTreeMap<String, String>), StartError> {
    let mut why = Vec::new();
    for sop in route(sops, req)? {
        match params_for(&sop, req) {
            Ok(params) => return Ok((sop, params)),
            Err(e) => why.push(e),
        }
    }
    Err(StartError::BadRequest(why.join("; ")))
}

/// The parameters of `req` for `sop`, or why it cannot take them.
fn params_for(sop: &Sop, req: &StartRequest) -> Result<BTreeMap<String, String>, String> {
    let mut params = match sopilot_sop::trigger_params(sop, &req.trigger) {
        Some(Ok(p)) => p,
        Some(Err(e)) => return Err(format!("SOP {}: {e}", sop.name)),
        None => BTreeMap::new(),
    };
    params.extend(req.params.clone());
    sopilot_sop::resolve_params(sop, &params).map_err(|e| format!("SOP {}: {e}", sop.name))?;
    Ok(params)
}

/// Something that wants to watch runs as they start (the Slack thread, metrics).
pub trait RunListener: Send + Sync {
    /// An observer for this run's events, if the listener cares about it.
    fn observer(&self, run_id: &str, sop: &str, origin: &Origin) -> Option<Observer>;

    /// The run ended: its report, or `None` when it could not start (the Slack thread
    /// posts the report).
    fn finished(&self, _run_id: &str, _report: Option<&sopilot_runtime::RunReport>) {}

    /// A trigger no SOP could take (already recorded in the store); the Slack bot says so
    /// in the incident channel.
    fn unrouted(&self, _trigger: &UnroutedTrigger, _origin: &Origin) {}
}

/// How an origin is named in records and messages.
pub fn origin_text(origin: &Origin) -> String {
    match origin {
        Origin::Webhook(name) => format!("webhook {name}"),
        Origin::Slack { user, .. } => format!("Slack user {user}"),
        Origin::Api => "the API".into(),
        Origin::Schedule(name) => format!("schedule {name}"),
        Origin::Watcher => "the Kubernetes event watcher".into(),
        Origin::Takeover(run) => format!("a takeover of run {run}"),
    }
}

/// Limits of the run manager.
#[derive(Debug, Clone)]
pub struct RunManagerOptions {
    /// Runs this process carries at once.
    pub max_concurrent: usize,
    /// Runs that may wait in the store's queue (every replica's together).
    pub queue_size: usize,
    /// Repeats of a trigger within this window of its run's end join that run.
    pub dedup_window: Duration,
    pub budgets: Budgets,
}

impl Default for RunManagerOptions {
    fn default() -> Self {
        RunManagerOptions {
            max_concurrent: 4,
            queue_size: 64,
            dedup_window: Duration::from_secs(600),
            budgets: Budgets::default(),
        }
    }
}

/// How long a run queued or running elsewhere is taken to still hold its trigger's key
/// without asking the store again.
const ELSEWHERE_TRUST: Duration = Duration::from_secs(30);

/// A trigger's run as this replica knows it (the store's trigger claims are the truth
/// shared by every replica; this map answers repeats of runs running here without asking).
struct Entry {
    run_id: String,
    state: EntryState,
}

#[derive(Debug, Clone, Copy)]
enum EntryState {
    /// Not running here: accepted here and queued, or found in the store held by a run
    /// elsewhere, at this instant; any replica may be running it now.
    Elsewhere(Instant),
    /// Running on this replica.
    Running,
    /// Ended on this replica at this instant.
    Done(Instant),
}

impl Entry {
    fn elsewhere(run_id: String) -> Entry {
        Entry {
            run_id,
            state: EntryState::Elsewhere(Instant::now()),
        }
    }

    fn running(run_id: String) -> Entry {
        Entry {
            run_id,
            state: EntryState::Running,
        }
    }

    /// Whether a repeat may join this run without asking the store: it runs here, ended
    /// here within the window, or the store said it holds its key less than [`ELSEWHERE_TRUST`]
    /// ago (so a storm's repeats of a run elsewhere cost a store round trip every 30 s, not
    /// each). A repeat may so join a run up to that long after the store gave its key up.
    fn known_here(&self) -> bool {
        match self.state {
            EntryState::Elsewhere(at) => at.elapsed() < ELSEWHERE_TRUST,
            EntryState::Running | EntryState::Done(_) => true,
        }
    }

    /// Whether the entry is still worth keeping `window` on.
    fn fresh(&self, window: Duration) -> bool {
        match self.state {
            EntryState::Elsewhere(at) | EntryState::Done(at) => at.elapsed() < window,
            EntryState::Running => true,
        }
    }
}

struct Inner {
    sops: Vec<Sop>,
    runner: Runner,
    hub: Arc<ApprovalHub>,
    metrics: Arc<Metrics>,
    options: RunManagerOptions,
    dedup: Mutex<HashMap<String, Entry>>,
    slots: Arc<Semaphore>,
    listeners: Vec<Arc<dyn RunListener>>,
    shutdown: CancellationToken,
}

/// Accepts run requests; cheap to clone.
#[derive(Clone)]
pub struct RunManager {
    inner: Arc<Inner>,
    /// Set on a [`RunManager::fenced`] handle: no new run once it is cancelled.
    fence: Option<Fence>,
}

/// What ends a handle's right to start runs (a leader's term), and how to say so.
#[derive(Clone)]
struct Fence {
    stop: CancellationToken,
    what: String,
}

impl std::fmt::Debug for RunManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunManager")
            .field("sops", &self.inner.sops.len())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl RunManager {
    /// A manager running `sops` with `runner` (its approver is replaced per run by the hub's).
    pub fn new(
        sops: Vec<Sop>,
        runner: Runner,
        hub: Arc<ApprovalHub>,
        metrics: Arc<Metrics>,
        options: RunManagerOptions,
        listeners: Vec<Arc<dyn RunListener>>,
    ) -> RunManager {
        let slots = Arc::new(Semaphore::new(options.max_concurrent.max(1)));
        RunManager {
            inner: Arc::new(Inner {
                sops,
                runner,
                hub,
                metrics,
                options,
                dedup: Mutex::new(HashMap::new()),
                slots,
                listeners,
                shutdown: CancellationToken::new(),
            }),
            fence: None,
        }
    }

    /// A handle on the same manager that starts no new run once `stop` is cancelled (checked
    /// at the moment a run would start), refusing with a message naming `what` (a leader's
    /// term): what a term starts goes through it, so a deposed leader's schedule or watcher
    /// never starts a run after its term ended. Joining a run still going is not starting one.
    pub fn fenced(&self, stop: CancellationToken, what: impl Into<String>) -> RunManager {
        RunManager {
            inner: self.inner.clone(),
            fence: Some(Fence {
                stop,
                what: what.into(),
            }),
        }
    }

    /// Why this handle may start no run any more, if it may not.
    fn fenced_off(&self) -> Option<StartError> {
        let fence = self.fence.as_ref().filter(|f| f.stop.is_cancelled())?;
        Some(StartError::BadRequest(format!(
            "not started: {} ended; the replica leading now starts what it must",
            fence.what
        )))
    }

    /// The SOPs this manager routes to.
    pub fn sops(&self) -> &[Sop] {
        &self.inner.sops
    }

    /// The store runs are recorded in.
    pub fn store(&self) -> &Arc<sopilot_runtime::Store> {
        &self.inner.runner.store
    }

    /// The runner (gateway, policy, model) runs use.
    pub fn runner(&self) -> &Runner {
        &self.inner.runner
    }

    /// Whether `name` is a configured target a run may be bound to; the error names the
    /// targets there are.
    pub fn check_target(&self, name: &str) -> Result<(), String> {
        let targets = &self.inner.runner.gate.targets;
        if targets.configured() && targets.get(name).is_some() {
            return Ok(());
        }
        let names = targets.names();
        Err(if names.is_empty() {
            format!("no target {name:?}: this SOPilot configures no targets; leave `target` out")
        } else {
            format!("no target {name:?}; the targets are {}", names.join(", "))
        })
    }

    /// Cancelled when the manager shuts down (the MCP gateway's sessions end with it).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.child_token()
    }

    /// Cancels running runs (they are recorded as cancelled).
    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
    }

    /// The SOP a request would run and its parameters (from the trigger, then the request),
    /// checked against the SOP; starts nothing. `sopilot serve` checks schedules with it.
    pub fn plan(&self, req: &StartRequest) -> Result<(Sop, BTreeMap<String, String>), StartError> {
        plan(&self.inner.sops, req)
    }

    /// Accepts a request without waiting for the run: a repeat joins its run, a new one
    /// starts here or is queued for any replica. Never blocks on the run itself. Traced as a
    /// `sopilot.trigger` span, the parent of the span of a run started here.
    pub fn submit(&self, req: StartRequest) -> Result<Started, StartError> {
        let span = trigger_span(&req);
        let result = span.in_scope(|| self.route(req));
        trigger_routed(&span, &result);
        result
    }

    fn route(&self, mut req: StartRequest) -> Result<Started, StartError> {
        let m = &self.inner.metrics;
        m.triggers_received.fetch_add(1, Ordering::Relaxed);
        let key = req.trigger.dedup_key();
        if let Err(e) = self.bind_target(&mut req, &key) {
            m.triggers_rejected.fetch_add(1, Ordering::Relaxed);
            self.unrouted(&req, &key, &e);
            return Err(e);
        }
        let window = self.inner.options.dedup_window;
        let mut dedup = lock(&self.inner.dedup);
        dedup.retain(|_, e| e.fresh(window));
        // A schedule firing again starts a new run once the last one is done; it only joins a
        // run that is still going (schedules never overlap themselves).
        if matches!(req.trigger, Trigger::Schedule { .. })
            && dedup
                .get(&key)
                .is_some_and(|e| matches!(e.state, EntryState::Done(_)))
        {
            dedup.remove(&key);
        }
        if let Some(e) = dedup.get(&key).filter(|e| e.known_here()) {
            let run_id = e.run_id.clone();
            drop(dedup);
            return Ok(self.join(run_id, &key));
        }
        let (sop, params) = match self.plan(&req) {
            Ok(p) => p,
            Err(e) => {
                m.triggers_rejected.fetch_add(1, Ordering::Relaxed);
                drop(dedup);
                self.unrouted(&req, &key, &e);
                return Err(e);
            }
        };
        if let Some(e) = self.fenced_off() {
            tracing::info!(trigger = %key, "{e}");
            return Err(e);
        }
        let run_id = new_run_id();
        if let Some(holder) = self.claimed_elsewhere(&req.trigger, &key, &run_id) {
            // Remembered for a while (not for schedules: they never overlap themselves, and a
            // finished one must start again).
            if !matches!(req.trigger, Trigger::Schedule { .. }) {
                dedup.insert(key.clone(), Entry::elsewhere(holder.clone()));
            }
            drop(dedup);
            return Ok(self.join(holder, &key));
        }
        let request = queue::Request::of(&key, &sop.name, &params, &req);
        self.accept(dedup, run_id, sop, request)
    }

    /// Records a new run, holding the dedup map (so a repeat arriving meanwhile joins it): a
    /// free slot here starts it at once; else it waits in the shared queue for the first
    /// replica with one.
    fn accept(
        &self,
        mut dedup: std::sync::MutexGuard<'_, HashMap<String, Entry>>,
        run_id: String,
        sop: Sop,
        request: queue::Request,
    ) -> Result<Started, StartError> {
        let m = &self.inner.metrics;
        let me = this_replica();
        let slot = self.inner.slots.clone().try_acquire_owned().ok();
        let offer = match slot {
            Some(_) => Offer::Start {
                owner: &me,
                lease: RUN_LEASE,
            },
            None => Offer::Queue {
                limit: self.inner.options.queue_size,
            },
        };
        if let Err(e) = self.enqueue(&run_id, &request, offer) {
            m.triggers_rejected.fetch_add(1, Ordering::Relaxed);
            return Err(e);
        }
        m.runs_started.fetch_add(1, Ordering::Relaxed);
        let started = Started::New {
            run_id: run_id.clone(),
            sop: sop.name.clone(),
        };
        let key = request.key.clone();
        match slot {
            Some(slot) => {
                dedup.insert(key, Entry::running(run_id.clone()));
                drop(dedup);
                let run = self.clone().execute(run_id, sop, request, slot);
                tokio::spawn(run.instrument(tracing::Span::current()));
            }
            None => {
                dedup.insert(key, Entry::elsewhere(run_id));
                drop(dedup);
                // A slot freed while it was being queued takes it now.
                self.dispatch();
            }
        }
        Ok(started)
    }

    /// With targets configured, binds a run an alarm, alert, event, investigation or
    /// schedule starts to its target: the one it names, the one its routes claim it for, or
    /// the default. One nobody claims is refused (recorded as unrouted): an unbound run would
    /// let the model choose where to act.
    fn bind_target(&self, req: &mut StartRequest, key: &str) -> Result<(), StartError> {
        let targets = &self.inner.runner.gate.targets;
        let machine = !matches!(req.trigger, Trigger::Slack { .. } | Trigger::Manual { .. });
        if !targets.configured() || req.target.is_some() || !machine {
            return Ok(());
        }
        match targets
            .route(&req.trigger)
            .or_else(|| targets.default_target())
        {
            Some(t) => {
                req.target = Some(t.name.clone());
                Ok(())
            }
            None => Err(StartError::BadRequest(format!(
                "no target's routes claim this trigger ({key}) and no target is the default; add its account and region, or its cluster label, to a target's `routes`"
            ))),
        }
    }

    /// Records an accepted run in the store, with its request, for `offer`: queued for
    /// whichever replica has a slot first, or leased to this one, which starts it now. An
    /// accepted alarm is never only in one replica's memory. A full queue or a store that
    /// cannot take it gives the trigger's claim back and refuses the request (the sender
    /// tries again).
    fn enqueue(
        &self,
        run_id: &str,
        request: &queue::Request,
        offer: Offer<'_>,
    ) -> Result<(), StartError> {
        let key = &request.key;
        let store = &self.inner.runner.store;
        let model = self
            .inner
            .runner
            .model
            .as_ref()
            .map_or_else(|| "none".to_owned(), |m| m.name());
        let queued = store.enqueue_run(
            run_id,
            &request.sop,
            &serde_json::to_value(&request.trigger).unwrap_or_default(),
            &serde_json::to_value(&request.params).unwrap_or_default(),
            &model,
            &serde_json::to_value(request).unwrap_or_default(),
            offer,
        );
        let refused = match queued {
            Ok(Enqueued::Queued | Enqueued::Started) => return Ok(()),
            Ok(Enqueued::Full(n)) => StartError::QueueFull(n),
            Err(e) => {
                tracing::error!(trigger = %key, "cannot queue the run: {e}");
                StartError::Unavailable(e.to_string())
            }
        };
        if let Err(e) = store.unclaim_trigger(key, run_id) {
            tracing::warn!(trigger = %key, "cannot give the trigger's claim back: {e}");
        }
        Err(refused)
    }

    /// A repeat joins its run's timeline (a failure to note it loses nothing).
    fn join(&self, run_id: String, key: &str) -> Started {
        self.inner
            .metrics
            .triggers_joined
            .fetch_add(1, Ordering::Relaxed);
        let _ = self.inner.runner.store.append_event(
            &run_id,
            RunEventKind::Note {
                message: format!("a repeat of the trigger joined this run ({key})"),
            },
        );
        Started::Joined { run_id }
    }

    /// The run another replica on the store (or an earlier life of this one) started for
    /// `key`, from the store's trigger claims; `None` when `run_id` got the key. A store
    /// that cannot answer lets the run start: a second run is better than a lost alarm.
    fn claimed_elsewhere(&self, trigger: &Trigger, key: &str, run_id: &str) -> Option<String> {
        let reuse = match trigger {
            Trigger::Schedule { .. } => Reuse::AtOnce,
            _ => Reuse::After(
                chrono::Duration::from_std(self.inner.options.dedup_window)
                    .unwrap_or(chrono::Duration::MAX),
            ),
        };
        match self.inner.runner.store.claim_trigger(key, run_id, reuse) {
            Ok(holder) if holder != run_id => Some(holder),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(trigger = %key, "cannot claim the trigger in the store, so repeats on other replicas may start runs of their own: {e}");
                None
            }
        }
    }

    /// Counts, logs, records and tells the listeners about a trigger no SOP could take: an
    /// alert SOPilot did nothing about is never lost silently. Requests naming an SOP (API,
    /// Slack) get their error back instead and are not recorded.
    fn unrouted(&self, req: &StartRequest, key: &str, e: &StartError) {
        let reason = match e {
            StartError::NoSop(_) => {
                tracing::info!(trigger = %key, "no SOP matches this trigger");
                "no SOP's trigger rules match it".to_owned()
            }
            StartError::BadRequest(why) => {
                tracing::warn!(trigger = %key, "no matching SOP can take this trigger: {why}");
                why.clone()
            }
            StartError::QueueFull(_) | StartError::Unavailable(_) => return,
        };
        if req.sop.is_some() {
            return;
        }
        self.inner
            .metrics
            .triggers_unrouted
            .fetch_add(1, Ordering::Relaxed);
        let record = UnroutedTrigger {
            at: chrono::Utc::now(),
            kind: req.trigger.kind().to_owned(),
            dedup_key: key.to_owned(),
            origin: origin_text(&req.origin),
            reason,
            trigger: serde_json::to_value(&req.trigger).unwrap_or_default(),
        }
        .redacted();
        if let Err(e) = self.inner.runner.store.record_unrouted(&record) {
            tracing::error!(trigger = %key, "cannot record the unrouted trigger: {e}");
        }
        for l in &self.inner.listeners {
            l.unrouted(&record, &req.origin);
        }
    }

    /// Runs `run_id`, started here or taken from the queue (either way leased to this
    /// replica), in the slot `permit` holds; then takes the next queued run.
    async fn execute(
        self,
        run_id: String,
        sop: Sop,
        req: queue::Request,
        permit: OwnedSemaphorePermit,
    ) {
        let cancel = self.inner.shutdown.child_token();
        let lease = tokio::spawn(keep_lease(
            self.inner.runner.store.clone(),
            run_id.clone(),
            cancel.clone(),
        ));
        let mut runner = self.inner.runner.clone();
        runner.gate.approver = Arc::new(HubApprover {
            hub: self.inner.hub.clone(),
            run_id: run_id.clone(),
            origin: req.origin.clone(),
        });
        let observers: Vec<Observer> = self
            .inner
            .listeners
            .iter()
            .filter_map(|l| l.observer(&run_id, &sop.name, &req.origin))
            .collect();
        if !observers.is_empty() {
            let base = runner.observer.take();
            runner.observer = Some(Arc::new(move |e| {
                base.iter().chain(&observers).for_each(|o| o(e))
            }));
        }
        let input = RunInput {
            sop,
            params: req.params,
            trigger: Some(req.trigger),
            budgets: self.inner.options.budgets.clone(),
            dry_run: false,
            target: req.target,
            carries_on: req.carries_on,
            run_id: Some(run_id.clone()),
        };
        let result = runner.run(input, cancel).await;
        lease.abort();
        if let Err(e) = self.inner.runner.store.release(&run_id, &this_replica()) {
            tracing::warn!(%run_id, "cannot release the run's lease: {e}");
        }
        match &result {
            Ok(report) => self.inner.metrics.finished(report.status),
            Err(e) => {
                // Recorded before it started: ended so, or it would stay `running`, owned
                // by nobody, and repeats would join it.
                tracing::error!(%run_id, "run failed to start: {e}");
                let why = format!("it could not start: {e}");
                if let Err(e) = self.inner.runner.store.interrupt(&run_id, &why) {
                    tracing::warn!(%run_id, "cannot mark the run interrupted: {e}");
                }
            }
        }
        for l in &self.inner.listeners {
            l.finished(&run_id, result.as_ref().ok());
        }
        if result.is_ok() {
            self.done(&req.key, &run_id);
        } else {
            // An interrupted run holds its key nowhere: a repeat starts a new run.
            lock(&self.inner.dedup).retain(|_, e| e.run_id != run_id);
        }
        drop(permit);
        self.dispatch();
    }

    /// The run of `key` ended: repeats start a new run once the dedup window has passed,
    /// here and on every replica.
    fn done(&self, key: &str, run_id: &str) {
        if let Some(e) = lock(&self.inner.dedup)
            .get_mut(key)
            .filter(|e| e.run_id == run_id)
        {
            e.state = EntryState::Done(Instant::now());
        }
        if let Err(e) = self.inner.runner.store.trigger_done(key, run_id) {
            tracing::warn!(trigger = %key, %run_id, "cannot mark the trigger's run finished in the store: {e}");
        }
    }
}

/// How long a run's lease holds without renewal: a replica that dies stops renewing, and
/// after this its runs count as nobody's (their alarms' repeats start new runs, their
/// approvals are carried out at once by the replica they are pressed on).
pub const RUN_LEASE: Duration = Duration::from_secs(30);

/// Renews this replica's lease on `run_id` (taken with the run, so first renewed a third of
/// [`RUN_LEASE`] later) every third of it until aborted. A lease lost (another replica took
/// the run over after it ran out) cancels the run here: two replicas never carry one run on.
async fn keep_lease(store: Arc<sopilot_runtime::Store>, run_id: String, cancel: CancellationToken) {
    let me = this_replica();
    loop {
        tokio::time::sleep(RUN_LEASE / 3).await;
        match store.claim(&run_id, &me, RUN_LEASE) {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(%run_id, "this replica lost the run's lease (another replica carries the run on); stopping it here");
                cancel.cancel();
                return;
            }
            Err(e) => tracing::warn!(%run_id, "cannot renew the run's lease: {e}"),
        }
    }
}

/// The span of a trigger's intake (received, then routed; a new run is its child). Names,
/// never the payload.
fn trigger_span(req: &StartRequest) -> tracing::Span {
    let origin = match &req.origin {
        Origin::Webhook(name) => name.as_str(),
        Origin::Slack { .. } => "slack",
        Origin::Api => "api",
        Origin::Schedule(_) => "schedule",
        Origin::Watcher => "kubernetes_watcher",
        Origin::Takeover(_) => "takeover",
    };
    tracing::debug_span!(
        "sopilot.trigger",
        otel.kind = "server",
        sopilot.trigger.kind = req.trigger.kind(),
        sopilot.trigger.source = origin,
        sopilot.sop = req.sop.as_deref(),
        sopilot.outcome = Empty,
        sopilot.run_id = Empty,
    )
}

/// What became of the trigger, on its span.
fn trigger_routed(span: &tracing::Span, result: &Result<Started, StartError>) {
    match result {
        Ok(Started::New { run_id, sop }) => {
            span.record("sopilot.outcome", "started");
            span.record("sopilot.run_id", run_id.as_str());
            span.record("sopilot.sop", sop.as_str());
        }
        Ok(Started::Joined { run_id }) => {
            span.record("sopilot.outcome", "joined");
            span.record("sopilot.run_id", run_id.as_str());
        }
        Err(StartError::NoSop(_)) => {
            span.record("sopilot.outcome", "unrouted");
        }
        Err(StartError::BadRequest(_)) => {
            span.record("sopilot.outcome", "refused");
        }
        Err(StartError::QueueFull(_)) => {
            span.record("sopilot.outcome", "queue_full");
        }
        Err(StartError::Unavailable(_)) => {
            span.record("sopilot.outcome", "store_unavailable");
        }
    }
}
