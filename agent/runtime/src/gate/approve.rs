//! Stages 4 and 5, approve and re-check: an escalated call waits for a human, who approves
//! what will happen, not only the arguments.
//!
//! The approval record binds the tool and its (pinned) arguments, the digest of the impact
//! the approver was shown and the decision path (decision and rules). Once approved, the
//! call is dry-run and decided again; it executes only if both are unchanged. A change is
//! escalated again with the difference; a deny stands.

use chrono::Utc;
use serde_json::Value;
use sopilot_policy::Verdict;
use sopilot_protocol::{ApprovalState, Decision, RunEventKind};
use tracing::Instrument;

use super::assess::Assessed;
use super::call::{Call, Step, Stop};
use super::resolve::Target;
use super::{CallScope, Gate, Held, MAX_APPROVAL_ROUNDS};
use crate::approval::{ApprovalRecord, canonical, digest, impact_digest};

/// The decision and the rules that made it.
pub(super) fn decision_path(v: &Verdict) -> Vec<String> {
    std::iter::once(v.decision.as_str().to_owned())
        .chain(v.rule_names())
        .collect()
}

/// The digest of an assessment's impact (`None` without one).
pub(super) fn digest_of(a: &Assessed) -> Option<String> {
    a.impact
        .as_ref()
        .and_then(|i| serde_json::to_value(i).ok())
        .map(|v| impact_digest(&v))
}

/// Leaf values of a JSON object, by dotted path.
fn leaves(v: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(child, &path, out);
            }
        }
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

/// What changed between what was approved and what a re-check found, for a person.
pub(super) fn difference(record: &ApprovalRecord, fresh: &Assessed, path: &[String]) -> String {
    let mut parts = Vec::new();
    let mut before = Vec::new();
    let mut after = Vec::new();
    if let Some(i) = &record.impact {
        leaves(i, "", &mut before);
    }
    if let Some(i) = fresh
        .impact
        .as_ref()
        .and_then(|i| serde_json::to_value(i).ok())
    {
        leaves(&i, "", &mut after);
    }
    for (k, v) in &after {
        match before.iter().find(|(bk, _)| bk == k) {
            Some((_, bv)) if bv != v => parts.push(format!("impact.{k}: {bv} → {v}")),
            None => parts.push(format!("impact.{k}: (none) → {v}")),
            Some(_) => {}
        }
    }
    for (k, bv) in &before {
        if !after.iter().any(|(ak, _)| ak == k) {
            parts.push(format!("impact.{k}: {bv} → (none)"));
        }
    }
    if record.decision_path != path {
        parts.push(format!(
            "decision: {} → {}",
            record.decision_path.join(" "),
            path.join(" ")
        ));
    }
    if parts.is_empty() {
        "the impact changed".to_owned()
    } else {
        parts.join("; ")
    }
}

/// Takes the execution of approved `record` for this process, or stops the call when another
/// replica (or this server's hub, resuming it) took it first: one approval, one execution.
pub(super) fn claim_execution(call: &mut Call<'_>, record: &ApprovalRecord) -> Step<()> {
    let store = call.log.store();
    if store.claim_execution(&record.id)? {
        return Ok(());
    }
    let by = store
        .executed_by(&record.id)?
        .unwrap_or_else(|| "nobody: it is no longer approved".to_owned());
    let why = format!(
        "approval {} is carried out by {by} already; it is not executed twice",
        record.id
    );
    Err(call.fail(format!("not executed: {why}"), why, None))
}

/// Sets an approval the re-check found changed aside, under the change lock, so that no other
/// replica carries it out after this run asked again (or was denied); stops the call when
/// someone carried it out already.
fn set_aside(call: &mut Call<'_>, record: &ApprovalRecord, diff: &str) -> Step<()> {
    let store = call.log.store();
    let why = format!("what it covered changed before it executed ({diff})");
    if store.set_aside_approval(&record.id, &why)? {
        return Ok(());
    }
    let by = store
        .executed_by(&record.id)?
        .unwrap_or_else(|| "nobody: it is no longer approved".to_owned());
    let why = format!(
        "approval {} was carried out by {by} before this run's re-check; not asked again",
        record.id
    );
    Err(call.fail(format!("not executed here: {why}"), why, None))
}

impl Gate {
    /// Asks for approval, then re-checks; returns the fresh assessment the call executes on.
    pub(super) async fn approve(
        &self,
        call: &mut Call<'_>,
        scope: &CallScope,
        target: &Target,
        mut assessed: Assessed,
        mut verdict: Verdict,
    ) -> Step<(Assessed, Option<Held>)> {
        let mut changed: Option<String> = None;
        for _ in 0..MAX_APPROVAL_ROUNDS {
            let record = self
                .ask(call, target, &assessed, &verdict, changed.as_deref())
                .await?;
            let fresh = self.assess(call, target).await?;
            let guard = self.serialise(call, target).await?;
            let fresh_verdict = self.decide(call, scope, target, &fresh, false)?;
            let path = decision_path(&fresh_verdict);
            if digest_of(&fresh) == record.impact_digest && path == record.decision_path {
                claim_execution(call, &record)?;
                return Ok((fresh, guard));
            }
            let diff = difference(&record, &fresh, &path);
            set_aside(call, &record, &diff)?;
            drop(guard);
            if fresh_verdict.decision == Decision::Deny {
                call.out.text = format!(
                    "DENIED, not executed: after approval {} the policy denies it ({diff}): {}",
                    record.id, fresh_verdict.reason
                );
                return Err(Stop::Halted);
            }
            call.log.emit(RunEventKind::Note {
                message: format!(
                    "call {}: what approval {} covered changed before it executed ({diff}); asking again",
                    call.call_id(),
                    record.id
                ),
            })?;
            changed = Some(format!("changed since approval {}: {diff}", record.id));
            assessed = fresh;
            verdict = fresh_verdict;
        }
        let why = format!(
            "what the call would do kept changing after {MAX_APPROVAL_ROUNDS} approvals; nothing was executed"
        );
        Err(call.fail(format!("not executed: {why}"), why, None))
    }

    /// Creates the approval record and waits for a decision; `Ok` only when approved for
    /// exactly this tool and these arguments.
    async fn ask(
        &self,
        call: &mut Call<'_>,
        target: &Target,
        assessed: &Assessed,
        verdict: &Verdict,
        changed: Option<&str>,
    ) -> Step<ApprovalRecord> {
        let now = Utc::now();
        let tool = target.tool.to_string();
        let reason = match changed {
            Some(c) => format!("{} ({c})", verdict.reason),
            None => verdict.reason.clone(),
        };
        let record = ApprovalRecord {
            id: format!("apr-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            run_id: call.log.run_id().to_owned(),
            call_id: call.call_id().to_owned(),
            tool: tool.clone(),
            args: canonical(&call.args),
            digest: digest(&tool, &call.args),
            impact: assessed
                .impact
                .as_ref()
                .and_then(|i| serde_json::to_value(i).ok()),
            impact_digest: digest_of(assessed),
            decision_path: decision_path(verdict),
            rules: verdict.rule_names(),
            reason,
            requested_at: now,
            expires_at: now
                + chrono::Duration::from_std(self.approval_timeout)
                    .unwrap_or_else(|_| chrono::Duration::minutes(15)),
            state: ApprovalState::Pending,
            decided_by: None,
            channel: None,
        };
        call.log.store().insert_approval(&record)?;
        call.audit.approval = Some(crate::store::ApprovalRef(record.id.clone()));
        call.log.emit(RunEventKind::ApprovalRequested {
            call_id: call.call_id().to_owned(),
            approval_id: record.id.clone(),
        })?;
        let wait = super::span::approval_wait(&record.id, &tool);
        let asked = std::time::Instant::now();
        let answer = tokio::time::timeout(self.approval_timeout, self.approver.ask(&record))
            .instrument(wait.clone())
            .await
            .ok()
            .flatten();
        call.approval_wait = Some(call.approval_wait.unwrap_or_default() + asked.elapsed());
        let (state, by, channel) = match answer {
            Some(a) => (a.state, a.by, a.channel),
            None => (
                ApprovalState::Expired,
                "nobody (timed out)".to_owned(),
                "none".to_owned(),
            ),
        };
        let (stored, _) = call
            .log
            .store()
            .decide_approval(&record.id, state, &by, &channel)?;
        // The stored record is the truth: another channel may have decided first.
        let state = stored.state;
        let by = stored.decided_by.clone().unwrap_or(by);
        call.log.emit(RunEventKind::ApprovalResolved {
            approval_id: record.id.clone(),
            state,
            by: Some(by.clone()),
            channel: stored.channel.clone().unwrap_or(channel),
        })?;
        super::span::approval_answered(&wait, state, &by, stored.channel.as_deref().unwrap_or(""));
        call.out.approval = Some((record.id.clone(), state, by.clone()));
        let bound = stored.digest == digest(&tool, &call.args);
        call.out.text = match (state, bound) {
            (ApprovalState::Approved, true) => return Ok(stored),
            (ApprovalState::Approved, false) => {
                "not executed: the approval was for different arguments".into()
            }
            (ApprovalState::Denied, _) => format!(
                "not executed: a human denied it ({by}); escalated because {}",
                call.out.reason
            ),
            (ApprovalState::Expired | ApprovalState::Pending, _) => format!(
                "not executed: nobody approved it in time; escalated because {}",
                call.out.reason
            ),
        };
        Err(Stop::Halted)
    }
}
