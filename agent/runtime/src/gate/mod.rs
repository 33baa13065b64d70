//! The gate: every tool call, whatever its origin, passes here, in named stages:
//!
//! 0. **place** ([`place`]): with several targets configured, the cluster and account the
//!    call acts on (the run's own, the one the call names, or the default), pinned into
//!    its `target` argument; the stages after it use that target's servers.
//! 1. **resolve** ([`resolve`]): the name is a tool a connected server offers, offered to
//!    this SOP, with object arguments; `dry_run: true` only to a tool that can dry-run; a
//!    `kind` argument resolved against the cluster's discovery and pinned to what it
//!    resolved to.
//! 2. **assess** ([`assess`]): a builtin mutating tool is dry-run for its impact; the reply
//!    must say it executed nothing, the impact must be well formed and name its target, and
//!    relative arguments are pinned to what the dry run assessed (`rollout_undo` gets its
//!    `to_revision`).
//!    After a takeover, a mutating call the first run executed is refused here ([`done`]).
//! 3. **decide** ([`decide`]): the policy, over the call, its impact, the resolved resource
//!    and the target's history in the store; an unknown impact never allows.
//! 4. **approve** and **re-check** ([`approve`]): an escalation becomes a durable approval
//!    record of the call, its impact digest and its decision path; once approved, the call
//!    is dry-run and decided again and executes only if both are unchanged, otherwise it is
//!    escalated again with the difference.
//! 5. **execute** ([`execute`]): the audit row of a mutating call is synced to disk, then
//!    the call is made.
//! 6. **record** ([`Call::finish`]): the outcome, with every credential shape redacted, is
//!    what the model, the store, the report and the logs see.
//!
//! Each stage records what it did before the next is taken; anything unexpected ends in
//! "not executed". An approval decided after its run stopped is carried out by
//! [`Gate::resume_approved`] through the same stages.

mod approve;
mod assess;
mod call;
mod decide;
mod done;
mod execute;
mod place;
mod resolve;
mod resume;
mod span;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sopilot_policy::Policy;
use sopilot_protocol::{ApprovalState, CallOrigin, Decision, Impact, ToolRef, Trigger};
use tracing::Instrument;

use crate::approval::Approver;
use crate::events::EventLog;
use crate::gateway::Gateway;
use crate::store::StoreError;
use crate::targets::Targets;

use call::{Call, Step, Stop};

/// The store's change lock, while a stage holds it.
type Held = crate::store::ChangesHeld;

/// Default per-call timeout.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The name the gate uses for its own refusals in explanations.
pub const NOT_OFFERED: &str = "builtin:not-offered";

pub use done::{ALREADY_EXECUTED, DoneBefore};
pub use place::WRONG_TARGET;
pub use sopilot_policy::IMPACT_UNKNOWN;

/// How far back cumulative limits look (`history.window_minutes`).
pub const HISTORY_WINDOW: Duration = Duration::from_secs(60 * 60);

/// How many times one call is escalated again because its impact or decision changed
/// after an approval, before the gate gives up on it.
pub const MAX_APPROVAL_ROUNDS: usize = 3;

/// The run a call belongs to, as the gate needs it.
#[derive(Debug, Clone)]
pub struct CallScope {
    pub sop: Option<String>,
    pub trigger: Option<Trigger>,
    /// Only dry-run mutating calls; never ask for approvals.
    pub dry_run: bool,
    /// The tools this run offers the model.
    pub offered: BTreeSet<ToolRef>,
    /// The target the run is bound to (by its trigger, or by whoever started it): its calls
    /// act there and nowhere else. `None`: each call names its target, or gets the default.
    pub target: Option<String>,
    /// The changes the run this one carries on (after a takeover) executed: never repeated.
    pub done_before: Vec<DoneBefore>,
}

/// What happened to one call.
#[derive(Debug, Clone, PartialEq)]
pub struct GateOutcome {
    pub call_id: String,
    pub tool: String,
    /// Who proposed the call: the model, an SOP's tool block, an IDE, the API.
    pub origin: CallOrigin,
    /// The arguments as executed (after pinning), credentials masked.
    pub args: Value,
    /// The target the call acted on (or would have), when several are configured.
    pub target: Option<String>,
    pub decision: Option<Decision>,
    pub rules: Vec<String>,
    pub reason: String,
    pub impact: Option<Impact>,
    pub approval: Option<(String, ApprovalState, String)>,
    pub executed: bool,
    pub ok: bool,
    /// What the caller (the model) reads.
    pub text: String,
    pub structured: Option<Value>,
    pub duration_ms: u64,
}

impl GateOutcome {
    /// Whether the call leaves work for a human (escalated or denied).
    pub fn needs_human(&self) -> bool {
        matches!(self.decision, Some(Decision::Escalate | Decision::Deny))
    }
}

/// The gate's parts.
#[derive(Debug, Clone)]
pub struct Gate {
    /// The servers calls are made to: the default target's until a call is placed.
    pub gateway: Arc<Gateway>,
    /// Every target with its own servers ([`Targets::single`] without configured targets).
    pub targets: Arc<Targets>,
    pub policy: Arc<Policy>,
    pub approver: Arc<dyn Approver>,
    pub approval_timeout: Duration,
}

/// Reads the call's timeout: longer for tools with their own `timeout_seconds`.
fn call_timeout(args: &Value) -> Duration {
    args.get("timeout_seconds")
        .and_then(Value::as_u64)
        .map_or(CALL_TIMEOUT, |s| {
            Duration::from_secs(s.min(1800)) + Duration::from_secs(30)
        })
}

/// Resolves a tool name as the model (`SERVER__TOOL`) or a person (`SERVER.TOOL`) wrote it.
pub fn resolve_name(name: &str) -> Option<ToolRef> {
    ToolRef::from_model_name(name)
        .ok()
        .or_else(|| name.parse().ok())
}

impl Gate {
    /// A gate over one gateway: the implicit single target.
    pub fn single(
        gateway: Arc<Gateway>,
        policy: Arc<Policy>,
        approver: Arc<dyn Approver>,
        approval_timeout: Duration,
    ) -> Gate {
        Gate {
            targets: Arc::new(Targets::single(gateway.clone())),
            gateway,
            policy,
            approver,
            approval_timeout,
        }
    }

    /// Gates and (when allowed or approved) executes one call.
    pub async fn handle(
        &self,
        log: &EventLog,
        scope: &CallScope,
        call_id: &str,
        name: &str,
        args: Value,
        origin: CallOrigin,
    ) -> Result<GateOutcome, StoreError> {
        let span = span::tool_call(call_id, name, origin);
        let mut call = Call::begin(log, call_id, name, args, origin)?;
        match self
            .stages(&mut call, scope, origin)
            .instrument(span.clone())
            .await
        {
            Ok(()) | Err(Stop::Halted) => {}
            Err(Stop::Store(e)) => return Err(e),
        }
        let (wait, error_type) = (call.approval_wait, call.error_type);
        let outcome = call.finish()?;
        span::finished(&span, &outcome, wait, error_type);
        Ok(outcome)
    }

    async fn stages(&self, call: &mut Call<'_>, scope: &CallScope, origin: CallOrigin) -> Step<()> {
        let placed = self.place(call, scope)?;
        placed.stages_on_target(call, scope, origin).await
    }

    async fn stages_on_target(
        &self,
        call: &mut Call<'_>,
        scope: &CallScope,
        origin: CallOrigin,
    ) -> Step<()> {
        let target = self.resolve(call, scope, origin).await?;
        let assessed = self.assess(call, &target).await?;
        self.not_done_before(call, scope, &target)?;
        let guard = self.serialise(call, &target).await?;
        let verdict = self.decide(call, scope, &target, &assessed, true)?;
        let (assessed, guard) = match verdict.decision {
            Decision::Deny => {
                call.out.text = format!("DENIED by policy, not executed: {}", verdict.reason);
                return Err(Stop::Halted);
            }
            Decision::Escalate if scope.dry_run => {
                call.out.text = format!(
                    "would need a human's approval (dry run, not asked): {}",
                    verdict.reason
                );
                return Err(Stop::Halted);
            }
            Decision::Escalate => {
                // Nobody waits on the lock while a human decides.
                drop(guard);
                self.approve(call, scope, &target, assessed, verdict)
                    .await?
            }
            Decision::Allow => (assessed, guard),
        };
        self.execute(call, scope, &target, &assessed, guard).await
    }

    /// For a mutating call, the store's change lock, held from reading the target's history
    /// until the call's executed audit row is written (see [`Store::lock_changes`]).
    ///
    /// [`Store::lock_changes`]: crate::store::Store::lock_changes
    async fn serialise(&self, call: &mut Call<'_>, target: &resolve::Target) -> Step<Option<Held>> {
        if !target.info.mutating() {
            return Ok(None);
        }
        match call.log.store().lock_changes().await {
            Ok(held) => Ok(Some(held)),
            Err(e) => {
                let why = format!(
                    "{e}, so limits across the processes on the store cannot be checked; nothing was executed"
                );
                Err(call.fail(format!("not executed: {why}"), why, None))
            }
        }
    }
}

/// The structured summary of an outcome for reports and `--json`.
pub fn outcome_json(o: &GateOutcome) -> Value {
    json!({
        "tool": o.tool, "target": o.target, "origin": o.origin, "args": o.args,
        "decision": o.decision.map(|d| d.as_str()),
        "rules": o.rules,
        "approval": o.approval.as_ref().map(|(id, state, by)| json!({"id": id, "state": state, "by": by})),
        "executed": o.executed, "ok": o.ok, "duration_ms": o.duration_ms,
    })
}
