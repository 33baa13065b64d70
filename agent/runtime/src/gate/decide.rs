//! Stage 3, decide: the policy, over the call, its impact, the resolved resource and what
//! already happened to its target (`history`, from the store's audit).

use chrono::Utc;
use serde_json::Value;
use sopilot_policy::{Request, RunInfo, ServerTrust, Verdict};
use sopilot_protocol::{History, HpaBounds, Impact, ObjectRef, RunEventKind};

use super::assess::Assessed;
use super::call::{Call, Step};
use super::resolve::Target;
use super::{CallScope, Gate, HISTORY_WINDOW};
use crate::events::EventLog;
use crate::store::StoreError;

/// Kinds whose objects are workloads themselves (a rollback's or a scale's target).
const WORKLOAD_KINDS: [&str; 4] = ["deployment", "statefulset", "daemonset", "replicaset"];

fn object_key(o: &ObjectRef) -> String {
    format!(
        "{}/{}/{}",
        o.kind.to_ascii_lowercase(),
        o.namespace.as_deref().unwrap_or(""),
        o.name
    )
}

/// The keys cumulative limits are counted by: the changed object
/// (`deployment/payment/web`), and the workload it belongs to or is. With several targets
/// configured, each key starts with the target's name (`prod:deployment/payment/web`): the
/// same name in two clusters is two objects.
pub(super) fn keys(impact: &Impact, place: Option<&str>) -> (String, Option<String>) {
    let (target, workload) = object_keys(impact);
    match place {
        Some(p) => (
            format!("{p}:{target}"),
            workload.map(|w| format!("{p}:{w}")),
        ),
        None => (target, workload),
    }
}

/// The key's object part (`node//ip-1` of `prod:node//ip-1`) and its target prefix.
fn split_key(key: &str) -> (&str, &str) {
    match key.split_once(':') {
        Some((place, object)) => (place, object),
        None => ("", key),
    }
}

fn object_keys(impact: &Impact) -> (String, Option<String>) {
    let target = impact.target.as_ref().map(object_key).unwrap_or_default();
    let workload = match (&impact.workload, &impact.target) {
        (Some(w), _) => Some(format!(
            "{}/{}/{}",
            w.kind.to_ascii_lowercase(),
            w.namespace.as_deref().unwrap_or(""),
            w.name
        )),
        (None, Some(t)) if WORKLOAD_KINDS.contains(&t.kind.to_ascii_lowercase().as_str()) => {
            Some(object_key(t))
        }
        (None, _) => None,
    };
    (target, workload)
}

fn int(v: &Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(Value::as_i64)
}

/// What the store's audit says already happened to the impact's target within the window.
pub(super) fn history(
    log: &EventLog,
    impact: &Impact,
    place: Option<&str>,
) -> Result<History, StoreError> {
    let (target, workload) = keys(impact, place);
    let since = Utc::now() - chrono::Duration::seconds(HISTORY_WINDOW.as_secs() as i64);
    let changes = log
        .store()
        .changes_since(&target, workload.as_deref(), since)?;
    let mut h = History::fresh(Some(impact), HISTORY_WINDOW.as_secs() / 60);
    for c in &changes {
        if c.target.as_deref() == Some(target.as_str()) {
            if c.run_id == log.run_id() {
                h.changes_this_run += 1;
            } else {
                h.changes_other_runs += 1;
            }
        }
        let of_workload = workload.is_some() && (c.workload == workload || c.target == workload);
        match c.tool.rsplit('.').next() {
            Some("rollout_undo") if of_workload => h.rollbacks += 1,
            Some("delete_pod") if of_workload => h.pod_deletions += 1,
            _ => {}
        }
    }
    let (place, object) = split_key(&target);
    if object.starts_with("node/") {
        let nodes = log
            .store()
            .targets_changed_by(&["kubectl.cordon", "kubectl.drain"], since)?;
        // Other nodes of the same cluster.
        h.other_nodes_disrupted = nodes
            .iter()
            .filter(|n| **n != target && split_key(n).0 == place)
            .count() as u64;
    }
    // Where the object stood at the window's start: before its first change in the window.
    let first = changes
        .iter()
        .filter(|c| c.target.as_deref() == Some(target.as_str()))
        .find_map(|c| c.impact.as_ref());
    if let Some(first) = first {
        if let (Some(min), Some(max)) =
            (int(first, "/hpa/min_before"), int(first, "/hpa/max_before"))
        {
            h.hpa_baseline = Some(HpaBounds { min, max });
        }
        if let Some(r) = int(first, "/replicas_before") {
            h.replicas_baseline = Some(r);
        }
    }
    Ok(h)
}

impl Gate {
    /// Asks the policy; records the verdict (and, when `announce`, its event).
    pub(super) fn decide(
        &self,
        call: &mut Call<'_>,
        scope: &CallScope,
        target: &Target,
        assessed: &Assessed,
        announce: bool,
    ) -> Step<Verdict> {
        let history = match &assessed.impact {
            Some(i) => Some(history(
                call.log,
                i,
                call.target.as_ref().map(|t| t.name.as_str()),
            )?),
            None => None,
        };
        let run = RunInfo {
            unattended: !self.approver.reachable(),
            dry_run: scope.dry_run,
            origin: call.origin,
            sop: scope.sop.clone(),
        };
        let builtin = target.info.trust == ServerTrust::Builtin;
        let mut verdict = self.policy.evaluate(&Request {
            tool: &target.tool,
            args: &call.args,
            impact: assessed.impact.as_ref(),
            resource: target.resource.as_ref(),
            history: history.as_ref(),
            trigger: scope.trigger.as_ref(),
            run: &run,
            annotations: builtin.then_some(&target.info.annotations),
            trust: target.info.trust,
            target: call.target.as_ref(),
        });
        if let Some(problem) = &assessed.impact_problem {
            verdict.never_allow(problem, run.unattended);
        }
        call.out.decision = Some(verdict.decision);
        call.out.rules = verdict.rule_names();
        call.out.reason = verdict.reason.clone();
        call.audit.decision = Some(verdict.decision);
        call.audit.rules = call.out.rules.clone();
        call.audit.reason = verdict.reason.clone();
        if announce {
            call.log.emit(RunEventKind::PolicyDecided {
                call_id: call.call_id().to_owned(),
                decision: verdict.decision,
                rules: call.out.rules.clone(),
                reason: verdict.reason.clone(),
            })?;
        }
        call.record()?;
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn impact(v: Value) -> Impact {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn with_targets_the_same_object_in_two_clusters_has_two_keys() {
        let pod = impact(json!({"action": "delete_pod",
            "target": {"kind": "Pod", "namespace": "payment", "name": "web-1"},
            "workload": {"kind": "Deployment", "namespace": "payment", "name": "web", "replicas": 3, "ready": 2}}));
        let (prod, prod_w) = keys(&pod, Some("prod"));
        let (staging, _) = keys(&pod, Some("staging"));
        assert_eq!(prod, "prod:pod/payment/web-1");
        assert_eq!(prod_w.as_deref(), Some("prod:deployment/payment/web"));
        assert_ne!(prod, staging);
        assert_eq!(split_key("prod:node//ip-1"), ("prod", "node//ip-1"));
        assert_eq!(split_key("node//ip-1"), ("", "node//ip-1"));
    }

    #[test]
    fn objects_and_workloads_are_keyed_by_kind_namespace_and_name() {
        let pod = impact(json!({"action": "delete_pod",
            "target": {"kind": "Pod", "namespace": "payment", "name": "web-1"},
            "workload": {"kind": "Deployment", "namespace": "payment", "name": "web", "replicas": 3, "ready": 2}}));
        assert_eq!(
            keys(&pod, None),
            (
                "pod/payment/web-1".into(),
                Some("deployment/payment/web".into())
            )
        );
        let undo = impact(json!({"action": "rollout_undo",
            "target": {"kind": "Deployment", "namespace": "payment", "name": "web"}}));
        assert_eq!(
            keys(&undo, None),
            (
                "deployment/payment/web".into(),
                Some("deployment/payment/web".into())
            )
        );
        let node = impact(json!({"action": "cordon", "target": {"kind": "Node", "name": "n1"}}));
        assert_eq!(keys(&node, None), ("node//n1".into(), None));
    }
}
