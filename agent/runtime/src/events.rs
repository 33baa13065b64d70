//! A run's timeline: each event is stored before SOPilot acts on it, then shown to whoever
//! watches (the terminal's live progress, the Slack thread, the API).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sopilot_protocol::{RunEvent, RunEventKind};

use crate::store::{Store, StoreError};

/// Someone watching a run's events as they happen.
pub type Observer = Arc<dyn Fn(&RunEvent) + Send + Sync>;

/// Writes a run's events in order.
#[derive(Clone)]
pub struct EventLog {
    run_id: String,
    calls: Arc<AtomicU64>,
    store: Arc<Store>,
    observer: Option<Observer>,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("run_id", &self.run_id)
            .finish()
    }
}

impl EventLog {
    /// A log for `run_id` writing to `store`.
    pub fn new(run_id: &str, store: Arc<Store>, observer: Option<Observer>) -> Self {
        Self {
            run_id: run_id.to_owned(),
            calls: Arc::new(AtomicU64::new(0)),
            store,
            observer,
        }
    }

    /// The run this log belongs to.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The store behind the log.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Stores the event, then shows it. An event that cannot be stored is an error: nothing
    /// may act on an event that is not recorded.
    pub fn emit(&self, kind: RunEventKind) -> Result<RunEvent, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let event = self.store.append_event(&self.run_id, kind)?;
        if let Some(o) = &self.observer {
            o(&event);
        }
        Ok(event)
    }

    /// The next position in the audit order.
    pub fn next_call_seq(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}
