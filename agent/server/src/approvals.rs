//! One approval record, many doors: Slack buttons, the HTTP API and the MCP gateway all
//! resolve the same stored record, and the first decision wins.
//!
//! A run waiting for an approval watches the store. If the server restarted while it waited,
//! the run is gone but the record is still pending; an approval decided then is carried out
//! by the hub through the gate ([`Gate::resume_approved`]): dry-run and decided again,
//! executed only if that is still what the approver approved, with its audit row synced
//! first, and recorded on the interrupted run's timeline.
//!
//! With several replicas on one store, an approval decided on one replica is often for a run
//! that waits on another. The deciding replica leaves the call to that run for
//! [`OWNER_GRACE`] while the run is still `running` and its replica still renews the run's
//! lease (its waiter reads the store every second and claims the execution); only if nobody
//! claims it in that time, or at once when the lease ran out (the owner died), does the hub
//! carry it out itself. Either way the store's execution claim lets one of them execute it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::Value;
use sopilot_protocol::{ApprovalState, RunEventKind, RunStatus};
use sopilot_runtime::{
    Answer, ApprovalRecord, Approver, CallScope, EventLog, Gate, SET_ASIDE, Store, StoreError,
};
use tokio::sync::broadcast;

use crate::runs::Origin;

/// How long a replica that decided an approval leaves its execution to the run that asked for
/// it, while that run is still `running` (on another replica): its waiter reads the store
/// every second, then re-checks the call before claiming it.
pub const OWNER_GRACE: Duration = Duration::from_secs(5);

/// A place where escalations are shown and decided (Slack, ...).
#[async_trait::async_trait]
pub trait ApprovalChannel: Send + Sync {
    /// Shows a new escalation (e.g. posts Approve and Deny buttons).
    async fn announce(&self, record: &ApprovalRecord, origin: &Origin);
    /// Shows how it was resolved (e.g. edits the message to "Approved by @x").
    async fn resolved(&self, record: &ApprovalRecord);
}

/// What a decision did.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    pub record: ApprovalRecord,
    /// False when someone else had already decided: the earlier decision stands.
    pub first: bool,
    /// Set when the hub carried out an approved call whose run was no longer waiting.
    pub resumed: Option<String>,
}

/// The shared approval state of a server.
pub struct ApprovalHub {
    store: Arc<Store>,
    gate: Option<Gate>,
    changed: broadcast::Sender<String>,
    channels: RwLock<Vec<Arc<dyn ApprovalChannel>>>,
    waiting: Mutex<HashSet<String>>,
    /// Whether the HTTP API can decide approvals (a token of role `approver` is configured).
    pub api_enabled: bool,
}

impl std::fmt::Debug for ApprovalHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApprovalHub")
            .field("api_enabled", &self.api_enabled)
            .finish()
    }
}

fn channels(hub: &ApprovalHub) -> Vec<Arc<dyn ApprovalChannel>> {
    hub.channels.read().map(|c| c.clone()).unwrap_or_default()
}

fn waiting(hub: &ApprovalHub) -> std::sync::MutexGuard<'_, HashSet<String>> {
    match hub.waiting.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl ApprovalHub {
    /// A hub over `store`; `gate` lets it carry out approvals decided after a restart (its
    /// approver is never asked: see [`AlreadyDecided`]).
    pub fn new(store: Arc<Store>, gate: Option<Gate>, api_enabled: bool) -> ApprovalHub {
        let (changed, _) = broadcast::channel(256);
        ApprovalHub {
            store,
            gate,
            changed,
            channels: RwLock::new(Vec::new()),
            waiting: Mutex::new(HashSet::new()),
            api_enabled,
        }
    }

    /// Adds a channel (at startup).
    pub fn add_channel(&self, channel: Arc<dyn ApprovalChannel>) {
        if let Ok(mut c) = self.channels.write() {
            c.push(channel);
        }
    }

    /// Whether anyone can decide escalations.
    pub fn reachable(&self) -> bool {
        self.api_enabled || !channels(self).is_empty()
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Decides an approval. The first decision wins; later ones are told so.
    pub async fn decide(
        self: &Arc<Self>,
        id: &str,
        state: ApprovalState,
        by: &str,
        channel: &str,
    ) -> Result<Decided, StoreError> {
        // Whether a run here waits for it is read together with the decision: once decided,
        // the waiting run wakes and stops waiting, and must not be taken for gone.
        let (record, first, orphan) = {
            let waiting = waiting(self);
            let (record, first) = self.store.decide_approval(id, state, by, channel)?;
            (record, first, !waiting.contains(id))
        };
        let mut resumed = None;
        if first {
            // In a task of its own: a client that hangs up (a closed tab, a proxy's timeout)
            // must not cancel telling the channels or carrying the call out.
            let (hub, decided) = (self.clone(), record.clone());
            let after = tokio::spawn(async move {
                let _ = hub.changed.send(decided.id.clone());
                for ch in channels(&hub) {
                    ch.resolved(&decided).await;
                }
                if orphan && decided.state == ApprovalState::Approved {
                    return Some(hub.carry_out(&decided).await);
                }
                None
            });
            resumed = after.await.unwrap_or_else(|e| {
                Some(format!(
                    "approval {id}: carrying it out stopped unexpectedly ({e}); see the run's timeline"
                ))
            });
        }
        Ok(Decided {
            record,
            first,
            resumed,
        })
    }

    /// Notes `message` on the run's timeline (a failure to note it loses nothing) and
    /// returns it.
    fn note(&self, run_id: &str, message: String) -> String {
        let _ = self.store.append_event(
            run_id,
            RunEventKind::Note {
                message: message.clone(),
            },
        );
        message
    }

    /// Carries out an approved call that no run of this replica waits for: left to its run
    /// while that run is still going elsewhere and claims it within [`OWNER_GRACE`], else
    /// through this replica's gate.
    async fn carry_out(&self, record: &ApprovalRecord) -> String {
        if self.run_status(&record.run_id) == Some(RunStatus::Running)
            && self.owner_alive(&record.run_id)
            && let Some(by) = self.claimed_within(&record.id, OWNER_GRACE).await
        {
            return match by.strip_prefix(SET_ASIDE) {
                Some(why) => format!(
                    "approval {} was not executed: its run set it aside ({why}) and asks again",
                    record.id
                ),
                None => format!("approval {} is carried out by its run, on {by}", record.id),
            };
        }
        // Read again after the grace: a run stopped meanwhile (cancelled, ended) must not have
        // its call carried out; one still running (its replica died) or interrupted may.
        match self.run_status(&record.run_id) {
            Some(RunStatus::Running | RunStatus::Interrupted) => self.resume(record).await,
            status => self.note(
                &record.run_id,
                format!(
                    "approval {} was approved after its run ended ({}); {} was not executed",
                    record.id,
                    status.map_or("unreadable", RunStatus::as_str),
                    record.tool
                ),
            ),
        }
    }

    /// Whether the replica running `run_id` still renews its lease (without a lease to read,
    /// it is taken to be alive: the grace is only a wait).
    fn owner_alive(&self, run_id: &str) -> bool {
        match self.store.lease(run_id) {
            Ok(Some(lease)) => lease.until > chrono::Utc::now(),
            _ => true,
        }
    }

    fn run_status(&self, run_id: &str) -> Option<RunStatus> {
        self.store.run(run_id).ok().map(|(row, _, _)| row.status)
    }

    /// Who claimed approved call `id`'s execution, polled until `within` has passed.
    async fn claimed_within(&self, id: &str, within: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Ok(Some(by)) = self.store.executed_by(id) {
                return Some(by);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Carries out an approved call whose run is no longer waiting (the server restarted,
    /// or the replica running it died), through the gate.
    async fn resume(&self, record: &ApprovalRecord) -> String {
        let note = |message: String| self.note(&record.run_id, message);
        let Some(gate) = &self.gate else {
            return note(format!(
                "approval {} was approved after its run stopped, but {} cannot be called from here; run it by hand",
                record.id, record.tool
            ));
        };
        let scope = match self.store.run(&record.run_id) {
            Ok((row, events, _)) => CallScope {
                sop: Some(row.sop),
                trigger: serde_json::from_value(row.trigger).ok(),
                dry_run: false,
                offered: Default::default(),
                // The run's own target: the approved call acts there or nowhere.
                target: sopilot_protocol::target_of(&events).map(str::to_owned),
                done_before: Vec::new(),
            },
            Err(e) => {
                return note(format!(
                    "approval {}: its run cannot be read ({e}); not executed",
                    record.id
                ));
            }
        };
        let log = EventLog::new(&record.run_id, self.store.clone(), None);
        match gate.resume_approved(&log, &scope, record).await {
            Ok(o) if o.executed && o.ok => note(format!(
                "approval {} was approved after the run stopped; {} executed: {}",
                record.id,
                record.tool,
                first_line(&o.text)
            )),
            Ok(o) if o.executed => note(format!(
                "approval {}: {} was executed after the run stopped and failed: {}",
                record.id,
                record.tool,
                first_line(&o.text)
            )),
            Ok(o) => note(format!(
                "approval {}: {} was not executed after the run stopped: {}",
                record.id,
                record.tool,
                first_line(&o.text)
            )),
            Err(e) => note(format!(
                "approval {}: {} could not be carried out after the run stopped: {e}",
                record.id, record.tool
            )),
        }
    }
}

/// The approver of the hub's resuming gate. A resumed call was decided already and is never
/// asked again (a change sends it back to the SOP instead); a human was reachable, since one
/// approved it.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlreadyDecided;

#[async_trait::async_trait]
impl Approver for AlreadyDecided {
    async fn ask(&self, _record: &ApprovalRecord) -> Option<Answer> {
        None
    }

    fn reachable(&self) -> bool {
        true
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

/// The approver of one run served by `sopilot serve`: announces on every channel, then
/// waits until some door decides the stored record (or the gate's timeout expires it).
#[derive(Clone)]
pub struct HubApprover {
    pub hub: Arc<ApprovalHub>,
    pub run_id: String,
    pub origin: Origin,
}

impl std::fmt::Debug for HubApprover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubApprover")
            .field("run_id", &self.run_id)
            .finish()
    }
}

struct Waiting<'a> {
    hub: &'a ApprovalHub,
    id: String,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        waiting(self.hub).remove(&self.id);
    }
}

#[async_trait::async_trait]
impl Approver for HubApprover {
    async fn ask(&self, record: &ApprovalRecord) -> Option<Answer> {
        waiting(&self.hub).insert(record.id.clone());
        let _guard = Waiting {
            hub: &self.hub,
            id: record.id.clone(),
        };
        let mut rx = self.hub.changed.subscribe();
        for ch in channels(&self.hub) {
            ch.announce(record, &self.origin).await;
        }
        loop {
            if let Ok(Some(r)) = self.hub.store.approval(&record.id)
                && r.state != ApprovalState::Pending
            {
                return Some(Answer {
                    state: r.state,
                    by: r.decided_by.unwrap_or_default(),
                    channel: r.channel.unwrap_or_default(),
                });
            }
            // Woken by a decision here, or every second for decisions made elsewhere.
            let _ = tokio::time::timeout(Duration::from_secs(1), rx.recv()).await;
        }
    }

    fn reachable(&self) -> bool {
        self.hub.reachable()
    }
}

/// An approval as the API shows it.
pub fn record_json(r: &ApprovalRecord) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}
