//! One call in flight: what its caller will read ([`GateOutcome`]) and what the audit
//! records ([`CallAudit`]), kept together so that every stage writes both, and the stages'
//! way of stopping early ([`Stop`]).

use std::time::{Duration, Instant};

use serde_json::Value;
use sopilot_protocol::{CallOrigin, Decision, RunEventKind, Target};

use super::{GateOutcome, resolve_name};
use crate::events::EventLog;
use crate::store::{CallAudit, StoreError};

/// Why the stages stopped before executing the call.
#[derive(Debug)]
pub(super) enum Stop {
    /// The call was refused, denied, not approved or failed; the outcome says which.
    Halted,
    /// The store failed: nothing may act on what is not recorded.
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Store(e)
    }
}

/// A stage's result: its product, or a stop.
pub(super) type Step<T> = Result<T, Stop>;

/// The arguments with credential shapes masked: what the audit, the events and the report
/// show. The call itself executes with the real arguments.
pub(super) fn shown(args: &Value) -> Value {
    let mut v = args.clone();
    sopilot_redact::redact_json(&mut v);
    v
}

/// One call going through the gate.
#[derive(Debug)]
pub(super) struct Call<'a> {
    pub log: &'a EventLog,
    pub origin: CallOrigin,
    seq: u64,
    started: Instant,
    /// The arguments as they will be executed, pinned by the stages.
    pub args: Value,
    pub out: GateOutcome,
    pub audit: CallAudit,
    /// Time spent waiting for humans' decisions (traces).
    pub approval_wait: Option<Duration>,
    /// The kind of a failure to execute (`timeout`, `tool_error`...), for traces.
    pub error_type: Option<&'static str>,
    /// The target the call acts on, once placed (several targets configured).
    pub target: Option<Target>,
}

impl<'a> Call<'a> {
    /// Records the proposed call (its audit row and event) before anything else happens.
    pub fn begin(
        log: &'a EventLog,
        call_id: &str,
        name: &str,
        args: Value,
        origin: CallOrigin,
    ) -> Result<Call<'a>, StoreError> {
        let tool = resolve_name(name);
        let tool_text = tool
            .as_ref()
            .map_or_else(|| name.to_owned(), ToString::to_string);
        let masked = shown(&args);
        let call = Call {
            log,
            origin,
            seq: log.next_call_seq(),
            started: Instant::now(),
            out: GateOutcome {
                call_id: call_id.to_owned(),
                tool: tool_text.clone(),
                origin,
                args: masked.clone(),
                target: None,
                decision: None,
                rules: Vec::new(),
                reason: String::new(),
                impact: None,
                approval: None,
                executed: false,
                ok: false,
                text: String::new(),
                structured: None,
                duration_ms: 0,
            },
            audit: CallAudit {
                call_id: call_id.to_owned(),
                tool: tool_text,
                origin,
                args: masked.clone(),
                ..CallAudit::default()
            },
            args,
            approval_wait: None,
            error_type: None,
            target: None,
        };
        match tool {
            Some(t) => log.emit(RunEventKind::ToolCallProposed {
                call_id: call_id.to_owned(),
                tool: t,
                args: masked,
                origin,
            })?,
            None => log.emit(RunEventKind::Note {
                message: format!("call {call_id} names {name:?}, which is not a tool"),
            })?,
        };
        call.record()?;
        Ok(call)
    }

    pub fn call_id(&self) -> &str {
        &self.out.call_id
    }

    /// Writes the audit row as it stands.
    pub fn record(&self) -> Result<(), StoreError> {
        self.log
            .store()
            .record_call(self.log.run_id(), self.seq, &self.audit)
    }

    /// Writes the audit row synced to disk: the last thing before a change to the world.
    pub fn record_before_acting(&self) -> Result<(), StoreError> {
        self.log
            .store()
            .record_call_before_acting(self.log.run_id(), self.seq, &self.audit)
    }

    /// Refuses the call on the gate's own authority (`rule`), before or instead of the
    /// policy: a deny that executes nothing.
    pub fn refuse(&mut self, rule: &str, why: String) -> Stop {
        self.out.decision = Some(Decision::Deny);
        self.out.rules = vec![rule.to_owned()];
        self.out.reason = why.clone();
        self.out.text = format!("DENIED, not executed: {why}");
        self.audit.decision = Some(Decision::Deny);
        self.audit.rules = self.out.rules.clone();
        self.audit.reason = why;
        Stop::Halted
    }

    /// Stops the call as not executed because a stage could not finish (`text` is what the
    /// caller reads, `error` the underlying failure).
    pub fn fail(&mut self, text: String, reason: String, error: Option<String>) -> Stop {
        self.out.text = text;
        self.out.reason = reason.clone();
        self.audit.reason = reason;
        self.audit.error = error;
        self.audit.ok = Some(false);
        Stop::Halted
    }

    /// Sets an argument to the value a stage pinned it to (a resolved kind, a revision).
    pub fn pin(&mut self, key: &str, value: Value) {
        if let Value::Object(m) = &mut self.args {
            m.insert(key.to_owned(), value);
        }
        self.out.args = shown(&self.args);
        self.audit.args = self.out.args.clone();
    }

    /// Ends the call: masks every credential shape in what it returned and in the reasons
    /// given, then records the outcome.
    pub fn finish(mut self) -> Result<GateOutcome, StoreError> {
        if let std::borrow::Cow::Owned(t) = sopilot_redact::redact(&self.out.text) {
            self.out.text = t;
        }
        if let Some(s) = &mut self.out.structured {
            sopilot_redact::redact_json(s);
        }
        if let Some(e) = &self.audit.error
            && let std::borrow::Cow::Owned(t) = sopilot_redact::redact(e)
        {
            self.audit.error = Some(t);
        }
        // A reason can quote a server's error message: the model and the audit read it.
        for reason in [&mut self.out.reason, &mut self.audit.reason] {
            if let std::borrow::Cow::Owned(t) = sopilot_redact::redact(reason) {
                *reason = t;
            }
        }
        self.out.duration_ms = self.started.elapsed().as_millis() as u64;
        self.audit.duration_ms = self.out.duration_ms;
        self.audit.result_bytes = self.out.text.len() as u64;
        if self.audit.ok.is_none() {
            self.audit.ok = Some(self.out.ok);
        }
        self.record()?;
        self.log.emit(RunEventKind::ToolCallFinished {
            call_id: self.out.call_id.clone(),
            executed: self.out.executed,
            ok: self.out.ok,
            result_bytes: self.out.text.len() as u64,
            duration_ms: self.out.duration_ms,
            error: (!self.out.ok).then(|| self.out.text.chars().take(300).collect()),
        })?;
        Ok(self.out)
    }
}
