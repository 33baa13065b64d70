//! The gate: every tool call, whatever its origin, passes here.
//!
//! name check → offered? → impact (a dry run of a builtin mutating tool) → policy →
//! approval when escalated → execute → audit. Each step is recorded before the next is
//! taken, and anything unexpected ends in "not executed".

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};
use sopilot_policy::{Policy, Request, RunInfo, ServerTrust};
use sopilot_protocol::{
    ApprovalState, CallOrigin, Decision, Impact, RunEventKind, ToolRef, Trigger,
};

use crate::approval::{ApprovalRecord, Approver, canonical, digest};
use crate::events::EventLog;
use crate::gateway::{Gateway, ToolInfo, ToolOutput};
use crate::store::{CallAudit, StoreError};

/// Default per-call timeout.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The name the gate uses for its own refusals in explanations.
pub const NOT_OFFERED: &str = "builtin:not-offered";

/// The run a call belongs to, as the gate needs it.
#[derive(Debug, Clone)]
pub struct CallScope {
    pub sop: Option<String>,
    pub trigger: Option<Trigger>,
    /// Only dry-run mutating calls; never ask for approvals.
    pub dry_run: bool,
    /// The tools this run offers the model.
    pub offered: BTreeSet<ToolRef>,
}

/// What happened to one call.
#[derive(Debug, Clone, PartialEq)]
pub struct GateOutcome {
    pub call_id: String,
    pub tool: String,
    pub args: Value,
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
    pub gateway: Arc<Gateway>,
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

fn origin_text(o: CallOrigin) -> String {
    serde_json::to_value(o)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Resolves a tool name as the model (`SERVER__TOOL`) or a person (`SERVER.TOOL`) wrote it.
pub fn resolve_name(name: &str) -> Option<ToolRef> {
    ToolRef::from_model_name(name)
        .ok()
        .or_else(|| name.parse().ok())
}

impl Gate {
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
        let started = Instant::now();
        let seq = log.next_call_seq();
        let mut audit = CallAudit {
            call_id: call_id.to_owned(),
            tool: name.to_owned(),
            origin: origin_text(origin),
            args: args.clone(),
            ..CallAudit::default()
        };
        let mut out = GateOutcome {
            call_id: call_id.to_owned(),
            tool: name.to_owned(),
            args: args.clone(),
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
        };
        // Refusals before the policy is even consulted: recorded as denies of the gate itself.
        let refuse = |out: &mut GateOutcome, audit: &mut CallAudit, why: String| {
            out.decision = Some(Decision::Deny);
            out.rules = vec![NOT_OFFERED.to_owned()];
            out.reason = why.clone();
            out.text = format!("DENIED, not executed: {why}");
            audit.decision = Some("deny".into());
            audit.rules = out.rules.clone();
            audit.reason = why;
        };
        let tool = resolve_name(name);
        if let Some(t) = &tool {
            out.tool = t.to_string();
            audit.tool = t.to_string();
        }
        match &tool {
            Some(t) => log.emit(RunEventKind::ToolCallProposed {
                call_id: call_id.to_owned(),
                tool: t.clone(),
                args: args.clone(),
                origin,
            })?,
            None => log.emit(RunEventKind::Note {
                message: format!("call {call_id} names {name:?}, which is not a tool"),
            })?,
        };
        log.store().record_call(log.run_id(), seq, &audit)?;
        let info: Option<&ToolInfo> = tool.as_ref().and_then(|t| self.gateway.tool(t));
        let problem = match (&tool, info) {
            (None, _) => Some(format!("{name:?} is not a tool name (SERVER__TOOL)")),
            (Some(t), None) => Some(format!("no connected MCP server offers {t}")),
            (Some(t), Some(_)) if origin == CallOrigin::Model && !scope.offered.contains(t) => {
                Some(format!(
                    "{t} was not offered to this SOP; use only the tools you were given"
                ))
            }
            (Some(_), Some(_)) if !args.is_object() => {
                Some("the arguments are not a JSON object".to_owned())
            }
            _ => None,
        };
        let (Some(tool), Some(info), None) = (tool, info, problem.clone()) else {
            refuse(&mut out, &mut audit, problem.unwrap_or_default());
            return self.finish(log, seq, out, audit, started);
        };

        // Impact: ask a builtin mutating tool what it would do.
        let mut dry_output: Option<ToolOutput> = None;
        if info.mutating() && info.dry_runnable() {
            let mut dry_args = args.clone();
            if let Value::Object(m) = &mut dry_args {
                m.insert("dry_run".into(), Value::Bool(true));
            }
            match self
                .gateway
                .call(&tool, dry_args, call_timeout(&args))
                .await
            {
                Ok(o) if o.is_error => {
                    out.text = o.text.clone();
                    out.reason = "the dry run failed, so nothing was executed".into();
                    audit.reason = out.reason.clone();
                    audit.error = Some(o.text);
                    audit.ok = Some(false);
                    return self.finish(log, seq, out, audit, started);
                }
                Ok(o) => {
                    out.impact = o
                        .structured
                        .as_ref()
                        .and_then(|s| s.get("impact"))
                        .and_then(|i| serde_json::from_value(i.clone()).ok());
                    if let Some(i) = &out.impact {
                        log.emit(RunEventKind::ImpactAssessed {
                            call_id: call_id.to_owned(),
                            impact: i.clone(),
                        })?;
                        audit.impact = serde_json::to_value(i).ok();
                    }
                    dry_output = Some(o);
                }
                Err(e) => {
                    out.text = format!("not executed: the impact could not be assessed: {e}");
                    out.reason = out.text.clone();
                    audit.reason = out.text.clone();
                    audit.error = Some(e.to_string());
                    audit.ok = Some(false);
                    return self.finish(log, seq, out, audit, started);
                }
            }
        }

        // Policy.
        let run = RunInfo {
            unattended: !self.approver.reachable(),
            dry_run: scope.dry_run,
            origin,
            sop: scope.sop.clone(),
        };
        let verdict = self.policy.evaluate(&Request {
            tool: &tool,
            args: &args,
            impact: out.impact.as_ref(),
            trigger: scope.trigger.as_ref(),
            run: &run,
            annotations: (info.trust == ServerTrust::Builtin).then_some(&info.annotations),
            trust: info.trust,
        });
        out.decision = Some(verdict.decision);
        out.rules = verdict.rule_names();
        out.reason = verdict.reason.clone();
        audit.decision = Some(verdict.decision.as_str().to_owned());
        audit.rules = out.rules.clone();
        audit.reason = verdict.reason.clone();
        log.emit(RunEventKind::PolicyDecided {
            call_id: call_id.to_owned(),
            decision: verdict.decision,
            rules: out.rules.clone(),
            reason: verdict.reason.clone(),
        })?;
        log.store().record_call(log.run_id(), seq, &audit)?;

        let go = match verdict.decision {
            Decision::Deny => {
                out.text = format!("DENIED by policy, not executed: {}", verdict.reason);
                false
            }
            Decision::Escalate if scope.dry_run => {
                out.text = format!(
                    "would need a human's approval (dry run, not asked): {}",
                    verdict.reason
                );
                false
            }
            Decision::Escalate => {
                self.approve(log, call_id, &tool, &args, &mut out, &mut audit)
                    .await?
            }
            Decision::Allow => true,
        };
        if !go {
            return self.finish(log, seq, out, audit, started);
        }

        // Execute (or, in a dry-run run, report what would have been done).
        let requested_dry_run = args.get("dry_run").and_then(Value::as_bool) == Some(true);
        let result = match (
            &dry_output,
            scope.dry_run && info.mutating(),
            requested_dry_run,
        ) {
            (Some(o), true, _) => Ok(ToolOutput {
                text: format!("DRY-RUN RUN, nothing changed: {}", o.text),
                ..o.clone()
            }),
            (Some(o), _, true) => Ok(o.clone()),
            (None, true, _) => Ok(ToolOutput {
                text: format!("DRY-RUN RUN: {tool} was allowed but not called (it has no dry run)"),
                structured: None,
                is_error: false,
            }),
            _ => {
                out.executed = true;
                audit.executed = true;
                if info.mutating() {
                    log.store()
                        .record_call_before_acting(log.run_id(), seq, &audit)?;
                } else {
                    log.store().record_call(log.run_id(), seq, &audit)?;
                }
                self.gateway
                    .call(&tool, args.clone(), call_timeout(&args))
                    .await
            }
        };
        match result {
            Ok(o) => {
                out.ok = !o.is_error;
                out.text = o.text;
                out.structured = o.structured;
            }
            Err(e) => {
                out.ok = false;
                out.text = format!("{e}");
                audit.error = Some(e.to_string());
            }
        }
        audit.ok = Some(out.ok);
        self.finish(log, seq, out, audit, started)
    }

    /// Asks for approval; true when approved for exactly these arguments.
    async fn approve(
        &self,
        log: &EventLog,
        call_id: &str,
        tool: &ToolRef,
        args: &Value,
        out: &mut GateOutcome,
        audit: &mut CallAudit,
    ) -> Result<bool, StoreError> {
        let now = Utc::now();
        let record = ApprovalRecord {
            id: format!("apr-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            run_id: log.run_id().to_owned(),
            call_id: call_id.to_owned(),
            tool: tool.to_string(),
            args: canonical(args),
            digest: digest(&tool.to_string(), args),
            impact: out
                .impact
                .as_ref()
                .and_then(|i| serde_json::to_value(i).ok()),
            rules: out.rules.clone(),
            reason: out.reason.clone(),
            requested_at: now,
            expires_at: now
                + chrono::Duration::from_std(self.approval_timeout)
                    .unwrap_or_else(|_| chrono::Duration::minutes(15)),
            state: ApprovalState::Pending,
            decided_by: None,
            channel: None,
        };
        log.store().insert_approval(&record)?;
        audit.approval = Some(record.id.clone());
        log.emit(RunEventKind::ApprovalRequested {
            call_id: call_id.to_owned(),
            approval_id: record.id.clone(),
        })?;
        let answer = tokio::time::timeout(self.approval_timeout, self.approver.ask(&record))
            .await
            .ok()
            .flatten();
        let (state, by, channel) = match answer {
            Some(a) => (a.state, a.by, a.channel),
            None => (
                ApprovalState::Expired,
                "nobody (timed out)".to_owned(),
                "none".to_owned(),
            ),
        };
        let (stored, _) = log
            .store()
            .decide_approval(&record.id, state, &by, &channel)?;
        // The stored record is the truth: another channel may have decided first.
        let state = stored.state;
        let by = stored.decided_by.clone().unwrap_or(by);
        log.emit(RunEventKind::ApprovalResolved {
            approval_id: record.id.clone(),
            state,
            by: Some(by.clone()),
            channel: stored.channel.clone().unwrap_or(channel),
        })?;
        out.approval = Some((record.id.clone(), state, by.clone()));
        let bound = stored.digest == digest(&tool.to_string(), args);
        match (state, bound) {
            (ApprovalState::Approved, true) => Ok(true),
            (ApprovalState::Approved, false) => {
                out.text = "not executed: the approval was for different arguments".into();
                Ok(false)
            }
            (ApprovalState::Denied, _) => {
                out.text = format!(
                    "not executed: a human denied it ({by}); escalated because {}",
                    out.reason
                );
                Ok(false)
            }
            (ApprovalState::Expired | ApprovalState::Pending, _) => {
                out.text = format!(
                    "not executed: nobody approved it in time; escalated because {}",
                    out.reason
                );
                Ok(false)
            }
        }
    }

    fn finish(
        &self,
        log: &EventLog,
        seq: u64,
        mut out: GateOutcome,
        mut audit: CallAudit,
        started: Instant,
    ) -> Result<GateOutcome, StoreError> {
        out.duration_ms = started.elapsed().as_millis() as u64;
        audit.duration_ms = out.duration_ms;
        audit.result_bytes = out.text.len() as u64;
        if audit.ok.is_none() {
            audit.ok = Some(out.ok);
        }
        log.store().record_call(log.run_id(), seq, &audit)?;
        log.emit(RunEventKind::ToolCallFinished {
            call_id: out.call_id.clone(),
            executed: out.executed,
            ok: out.ok,
            result_bytes: out.text.len() as u64,
            duration_ms: out.duration_ms,
            error: (!out.ok).then(|| out.text.chars().take(300).collect()),
        })?;
        Ok(out)
    }
}

/// The structured summary of an outcome for reports and `--json`.
pub fn outcome_json(o: &GateOutcome) -> Value {
    json!({
        "tool": o.tool, "args": o.args,
        "decision": o.decision.map(|d| d.as_str()),
        "rules": o.rules,
        "approval": o.approval.as_ref().map(|(id, state, by)| json!({"id": id, "state": state, "by": by})),
        "executed": o.executed, "ok": o.ok, "duration_ms": o.duration_ms,
    })
}
