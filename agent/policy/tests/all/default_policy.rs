//! The source document's cases, decided by the shipped default policy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use serde_json::{Value, json};
use sopilot_policy::{Policy, Request, RunInfo, ServerTrust, Verdict, load_paths};
use sopilot_protocol::{Decision, History, Impact, ToolRef};

fn default_policy() -> Policy {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.yaml");
    load_paths(&[path]).unwrap_or_else(|e| panic!("default policy must load: {e}"))
}

fn decide(
    policy: &Policy,
    tool: &str,
    args: Value,
    impact: Option<Value>,
    unattended: bool,
) -> Verdict {
    let tool: ToolRef = tool.parse().unwrap();
    let impact: Option<Impact> = impact.map(|v| serde_json::from_value(v).unwrap());
    // What the gate tells the policy when nothing happened to the target before.
    let history = History::fresh(impact.as_ref(), 60);
    let run = RunInfo {
        unattended,
        ..RunInfo::default()
    };
    policy.evaluate(&Request {
        tool: &tool,
        args: &args,
        impact: impact.as_ref(),
        resource: None,
        history: Some(&history),
        trigger: None,
        run: &run,
        annotations: None,
        trust: ServerTrust::Builtin,
        target: None,
    })
}

fn pod_impact(restarts: i64, workload_kind: &str) -> Value {
    json!({
        "action": "delete_pod",
        "target": {"kind": "Pod", "namespace": "payment", "name": "p-1"},
        "workload": {"kind": workload_kind, "namespace": "payment", "name": "w", "replicas": 5, "ready": 4},
        "replicas_before": 5, "replicas_after": 5, "replicas_affected": 1, "fraction_affected": 0.2,
        "pod": {"restart_count": restarts, "waiting_reason": "CrashLoopBackOff", "last_termination_reason": "OOMKilled"},
        "stateful": workload_kind == "StatefulSet",
        "data_loss_risk": false
    })
}

fn hpa(min_b: i64, min_a: i64, max_b: i64, max_a: i64) -> Value {
    json!({"action": "patch_hpa", "target": {"kind": "HorizontalPodAutoscaler", "namespace": "payment", "name": "payment-service"},
           "hpa": {"min_before": min_b, "min_after": min_a, "max_before": max_b, "max_after": max_a},
           "replicas_before": 4, "replicas_after": 4, "replicas_affected": 0, "fraction_affected": 0.0,
           "data_loss_risk": false})
}

fn rollback(from: i64, to: i64, pdb_allows: bool) -> Value {
    json!({"action": "rollout_undo",
           "target": {"kind": "Deployment", "namespace": "payment", "name": "payment-service"},
           "data_loss_risk": false,
           "workload": {"kind": "Deployment", "namespace": "payment", "name": "payment-service", "replicas": 5, "ready": 5},
           "replicas_affected": 1, "fraction_affected": 0.2,
           "pdb": {"name": "payment-pdb", "disruptions_allowed": if pdb_allows { 1 } else { 0 }, "allows": pdb_allows},
           "revision": {"from": from, "to": to}})
}

fn drain(conditions: &[&str]) -> Value {
    json!({"action": "drain", "target": {"kind": "Node", "name": "ip-10-0-1-45"},
           "node": {"name": "ip-10-0-1-45", "conditions": conditions},
           "replicas_affected": 1, "fraction_affected": 0.2, "data_loss_risk": false})
}

#[test]
fn source_document_cases() {
    let p = default_policy();
    let pod = json!({"namespace": "payment", "name": "p-1"});
    let cases: Vec<(&str, &str, Value, Option<Value>, Decision)> = vec![
        (
            "crashloop restart, 7 restarts",
            "kubectl.delete_pod",
            pod.clone(),
            Some(pod_impact(7, "Deployment")),
            Decision::Allow,
        ),
        (
            "crashloop restart, 2 restarts",
            "kubectl.delete_pod",
            pod.clone(),
            Some(pod_impact(2, "Deployment")),
            Decision::Escalate,
        ),
        (
            "crashloop restart of a StatefulSet pod",
            "kubectl.delete_pod",
            pod.clone(),
            Some(pod_impact(7, "StatefulSet")),
            Decision::Escalate,
        ),
        (
            "HPA max 10 -> 14",
            "kubectl.patch_hpa",
            json!({"namespace": "payment", "name": "payment-service", "max_replicas": 14}),
            Some(hpa(2, 2, 10, 14)),
            Decision::Allow,
        ),
        (
            "HPA max 10 -> 20",
            "kubectl.patch_hpa",
            json!({"namespace": "payment", "name": "payment-service", "max_replicas": 20}),
            Some(hpa(2, 2, 10, 20)),
            Decision::Escalate,
        ),
        (
            "HPA min 4 -> 1",
            "kubectl.patch_hpa",
            json!({"namespace": "payment", "name": "payment-service", "min_replicas": 1}),
            Some(hpa(4, 1, 10, 10)),
            Decision::Escalate,
        ),
        (
            "rollback to previous, PDB allows",
            "kubectl.rollout_undo",
            json!({"namespace": "payment", "name": "payment-service"}),
            Some(rollback(15, 14, true)),
            Decision::Allow,
        ),
        (
            "rollback to previous, PDB blocks",
            "kubectl.rollout_undo",
            json!({"namespace": "payment", "name": "payment-service"}),
            Some(rollback(15, 14, false)),
            Decision::Escalate,
        ),
        (
            "rollback three revisions back",
            "kubectl.rollout_undo",
            json!({"namespace": "payment", "name": "payment-service", "to_revision": 12}),
            Some(rollback(15, 12, true)),
            Decision::Escalate,
        ),
        (
            "change touching 3 of 5 replicas",
            "kubectl.scale",
            json!({"kind": "Deployment", "namespace": "payment", "name": "payment-service", "replicas": 2}),
            Some(
                json!({"action": "scale", "target": {"kind": "Deployment", "namespace": "payment", "name": "w"}, "replicas_before": 5, "replicas_after": 2, "replicas_affected": 3, "fraction_affected": 0.6, "data_loss_risk": false}),
            ),
            Decision::Escalate,
        ),
        (
            "drain a MemoryPressure node",
            "kubectl.drain",
            json!({"node": "ip-10-0-1-45"}),
            Some(drain(&["MemoryPressure"])),
            Decision::Allow,
        ),
        (
            "drain a healthy node",
            "kubectl.drain",
            json!({"node": "ip-10-0-3-12"}),
            Some(drain(&[])),
            Decision::Escalate,
        ),
        (
            "read a Secret",
            "kubectl.get_resource",
            json!({"kind": "Secret", "namespace": "payment", "name": "payment-db-credentials"}),
            None,
            Decision::Deny,
        ),
        (
            "data-loss risk",
            "kubectl.drain",
            json!({"node": "ip-10-0-1-45"}),
            Some(
                json!({"action": "drain", "target": {"kind": "Node", "name": "ip-10-0-1-45"}, "node": {"name": "ip-10-0-1-45", "conditions": ["MemoryPressure"]}, "fraction_affected": 0.2, "data_loss_risk": true}),
            ),
            Decision::Escalate,
        ),
        (
            "unknown tool",
            "argocd.sync_app",
            json!({"app": "payment"}),
            None,
            Decision::Escalate,
        ),
        (
            "read pods",
            "kubectl.list_pods",
            json!({"namespace": "payment"}),
            None,
            Decision::Allow,
        ),
    ];
    for (name, tool, args, impact, want) in cases {
        let v = decide(&p, tool, args, impact, false);
        assert_eq!(v.decision, want, "{name}: {}", v.reason);
    }
}

#[test]
fn unattended_turns_escalate_into_deny() {
    let p = default_policy();
    let v = decide(&p, "argocd.sync_app", json!({}), None, true);
    assert_eq!(v.decision, Decision::Deny, "{}", v.reason);
    assert!(v.unattended_downgrade);
    assert!(v.reason.contains("unattended"), "{}", v.reason);
    // Allowed calls stay allowed without an approver.
    let v = decide(
        &p,
        "kubectl.list_pods",
        json!({"namespace": "payment"}),
        None,
        true,
    );
    assert_eq!(v.decision, Decision::Allow);
}

#[test]
fn the_default_policy_checks_its_examples_and_warns_about_none() {
    let p = default_policy();
    assert!(p.examples_checked() >= 50, "{}", p.examples_checked());
    assert!(p.warnings().is_empty(), "{:?}", p.warnings());
}

#[test]
fn strictest_rule_wins_and_is_explained() {
    let p = default_policy();
    let v = decide(
        &p,
        "kubectl.delete_pod",
        json!({"namespace": "payment", "name": "p-1"}),
        Some(pod_impact(7, "StatefulSet")),
        false,
    );
    assert_eq!(v.decision, Decision::Escalate);
    let names = v.rule_names();
    assert!(
        names.contains(&"restart-crashlooping-pod".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"stateful-workloads".to_owned()),
        "{names:?}"
    );
    assert!(
        v.reason
            .contains("overrides allow by restart-crashlooping-pod"),
        "{}",
        v.reason
    );
}
