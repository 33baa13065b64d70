//! One MCP session, recorded as one run: created at the first gated call, finished when the
//! session ends, so every call an IDE makes is audited like a run's and shows in
//! `sopilot runs`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use sopilot_protocol::{Decision, RunEventKind, RunStatus, Trigger};
use sopilot_runtime::{EventLog, GateOutcome, Store, StoreError, new_run_id};

use super::SESSION_SOP;

#[derive(Default)]
struct Tally {
    calls: u64,
    executed: u64,
    denied: u64,
    escalated: u64,
}

/// The run of one MCP session.
pub struct Session {
    store: Arc<Store>,
    log: Mutex<Option<EventLog>>,
    tally: Mutex<Tally>,
    next_call: AtomicU64,
    finished: Mutex<bool>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("run_id", &self.run_id())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Session {
    /// A session that records into `store`; nothing is written until the first call.
    pub fn new(store: Arc<Store>) -> Session {
        Session {
            store,
            log: Mutex::new(None),
            tally: Mutex::new(Tally::default()),
            next_call: AtomicU64::new(1),
            finished: Mutex::new(false),
        }
    }

    /// The session's run id, once it has one.
    pub fn run_id(&self) -> Option<String> {
        lock(&self.log).as_ref().map(|l| l.run_id().to_owned())
    }

    /// The session's event log, creating its run on first use. `client` names the MCP
    /// client (from its `initialize`) for the run's trigger.
    pub fn log(&self, client: &str) -> Result<EventLog, StoreError> {
        let mut slot = lock(&self.log);
        if let Some(log) = slot.as_ref() {
            return Ok(log.clone());
        }
        let run_id = new_run_id();
        let trigger = Trigger::Manual {
            by: Some(format!("MCP client {client}")),
        };
        self.store.create_run(
            &run_id,
            SESSION_SOP,
            &serde_json::to_value(&trigger).unwrap_or(Value::Null),
            &Value::Object(Map::new()),
            &format!("ide:{client}"),
        )?;
        let log = EventLog::new(&run_id, self.store.clone(), None);
        log.emit(RunEventKind::RunStarted {
            sop: SESSION_SOP.to_owned(),
            trigger,
            params: Map::new(),
            target: None,
        })?;
        tracing::info!(%run_id, client, "MCP session recorded as a run");
        *slot = Some(log.clone());
        Ok(log)
    }

    /// A call id unique within the session's run.
    pub fn next_call_id(&self) -> String {
        format!("mcp-{}", self.next_call.fetch_add(1, Ordering::SeqCst))
    }

    /// Counts a finished call for the run's summary and status.
    pub fn record(&self, o: &GateOutcome) {
        let mut t = lock(&self.tally);
        t.calls += 1;
        if o.executed {
            t.executed += 1;
        }
        match o.decision {
            Some(Decision::Deny) => t.denied += 1,
            Some(Decision::Escalate) => t.escalated += 1,
            Some(Decision::Allow) | None => {}
        }
    }

    /// Ends the session's run (once): needs a human when a call was denied or escalated.
    pub fn finish(&self) {
        let mut finished = lock(&self.finished);
        if *finished {
            return;
        }
        *finished = true;
        let Some(log) = lock(&self.log).clone() else {
            return;
        };
        let (status, summary) = {
            let t = lock(&self.tally);
            let status = if t.denied + t.escalated > 0 {
                RunStatus::NeedsHuman
            } else {
                RunStatus::Succeeded
            };
            (
                status,
                format!(
                    "MCP session: {} tool calls, {} executed, {} denied, {} escalated",
                    t.calls, t.executed, t.denied, t.escalated
                ),
            )
        };
        let done = self
            .store
            .finish_run(log.run_id(), status, &summary, "")
            .and_then(|()| {
                log.emit(RunEventKind::RunFinished {
                    status,
                    summary,
                    root_cause: None,
                })
            });
        if let Err(e) = done {
            tracing::error!(run_id = %log.run_id(), "cannot record the end of the MCP session: {e}");
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.finish();
    }
}
