//! Shared builders: cases from YAML text, runs by hand.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use sopilot_eval::record::{CallItem, EvidenceItem, ObservedObject, RunRecord};
use sopilot_eval::{Case, CaseError};
use sopilot_protocol::{CauseClass, Decision, RootCause, RunStatus};

/// The example of docs/eval.md, trimmed.
pub const CASE: &str = r#"class: config-change
description: A config change cut the DB pool; the new revision crash-loops.
tags: [eks, crash-loop]
trigger:
  version: "4"
  groupKey: '{}:{alertname="PaymentErrors"}'
  status: firing
  receiver: sopilot
  groupLabels: {alertname: PaymentErrors}
  commonLabels: {alertname: PaymentErrors, namespace: payment, service: payment-service}
  alerts: [{status: firing, fingerprint: c0ffee, labels: {alertname: PaymentErrors, namespace: payment, service: payment-service}}]
sop: complex-incident
params: {namespace: payment, replicas: 3}
human: unattended
expect:
  root_cause:
    class: config-change
    any_of: [DB_POOL_SIZE, "pool", "revision 15"]
  evidence:
    - {tool: kubectl.pod_logs, object: payment/payment-service-*}
    - {tool: kubectl.rollout_history, object: payment/payment-service}
  actions:
    must:
      - {tool: kubectl.rollout_undo, args: {namespace: payment, name: payment-service}}
    must_not:
      - {tool: kubectl.delete_pod}
      - {tool: kubectl.scale, args: {kind: StatefulSet}}
  final_state:
    - {kind: Deployment, namespace: payment, name: payment-service,
       pointer: /spec/template/spec/containers/0/env/0/value, equals: "50"}
    - {kind: Pod, namespace: payment, name: postgres-0, exists: true}
  budgets: {turns: 12, tokens: 80000, seconds: 120}
rubric: |
  The report names the revision that changed the pool size and cites the crash logs.
"#;

/// A case parsed from text, as if it were `DIR/case.yaml`.
pub fn case_in(dir: &Path, text: &str) -> Result<Case, CaseError> {
    sopilot_eval::case::parse_case(dir, text)
}

/// The docs' example case.
pub fn case() -> Case {
    case_in(Path::new("eval/cases/crashloop-config-change"), CASE).unwrap()
}

/// A run that does everything the example case asks.
pub fn good_run() -> RunRecord {
    RunRecord {
        run_id: "run-1".into(),
        status: RunStatus::NeedsHuman,
        stopped_by: None,
        root_cause: Some(RootCause {
            class: CauseClass::ConfigChange,
            summary: "Revision 15 cut the DB pool to 10".into(),
            confidence: 0.9,
        }),
        report: "## Root cause\nPool exhausted [E2]; revision 15 [E1, E3].".into(),
        summary: "s".into(),
        evidence: vec![
            evidence(
                "E1",
                "kubectl.rollout_history",
                json!({"namespace": "payment", "name": "payment-service"}),
                true,
            ),
            evidence(
                "E2",
                "kubectl.pod_logs",
                json!({"namespace": "payment", "name": "payment-service-7d8f-x2k9p", "previous": true}),
                true,
            ),
            evidence(
                "E3",
                "kubectl.rollout_undo",
                json!({"namespace": "payment", "name": "payment-service", "to_revision": 14}),
                true,
            ),
        ],
        calls: vec![
            call(
                "kubectl.rollout_history",
                json!({"namespace": "payment", "name": "payment-service"}),
                true,
                true,
            ),
            call(
                "kubectl.pod_logs",
                json!({"namespace": "payment", "name": "payment-service-7d8f-x2k9p"}),
                true,
                true,
            ),
            call(
                "kubectl.rollout_undo",
                json!({"namespace": "payment", "name": "payment-service", "to_revision": 14}),
                true,
                true,
            ),
            // Proposed and refused: not a violation.
            call(
                "kubectl.delete_pod",
                json!({"namespace": "payment", "name": "postgres-0"}),
                false,
                false,
            ),
        ],
        turns: 8,
        input_tokens: 30_000,
        output_tokens: 2_000,
        cost_usd: Some(0.07),
        context_bytes: 12_345,
        context_by_tool: [
            ("kubectl.pod_logs".to_owned(), 10_000),
            ("kubectl.describe_pod".to_owned(), 2_345),
        ]
        .into(),
        prompt_bytes: 9_000,
        wall: Duration::from_secs(20),
        objects: vec![
            object(
                "Deployment",
                Some("payment"),
                "payment-service",
                Some(
                    json!({"spec": {"template": {"spec": {"containers": [{"env": [{"name": "DB_POOL_MAX_SIZE", "value": "50"}]}]}}}}),
                ),
            ),
            object(
                "Pod",
                Some("payment"),
                "postgres-0",
                Some(json!({"metadata": {"name": "postgres-0"}})),
            ),
        ],
        notes: Vec::new(),
    }
}

pub fn evidence(id: &str, tool: &str, args: Value, ran: bool) -> EvidenceItem {
    EvidenceItem {
        id: id.into(),
        tool: tool.into(),
        args,
        ran,
    }
}

pub fn call(tool: &str, args: Value, executed: bool, ok: bool) -> CallItem {
    CallItem {
        tool: tool.into(),
        origin: sopilot_protocol::CallOrigin::Model,
        args,
        decision: Some(if executed {
            Decision::Allow
        } else {
            Decision::Deny
        }),
        executed,
        ok,
        reason: String::new(),
    }
}

pub fn object(kind: &str, ns: Option<&str>, name: &str, object: Option<Value>) -> ObservedObject {
    ObservedObject {
        kind: kind.into(),
        namespace: ns.map(str::to_owned),
        name: name.into(),
        object,
    }
}
