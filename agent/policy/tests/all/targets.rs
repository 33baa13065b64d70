//! Policies by target: `target.name` and `target.labels` decide, so "escalate every write in
//! prod" is one rule; the implicit target of a deployment without targets has no labels, so a
//! rule on a label it lacks fails closed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sopilot_policy::{Policy, Request, RunInfo, ServerTrust};
use sopilot_protocol::{Decision, History, Impact, Target, ToolRef};

const POLICY: &str = r#"
version: 1
rules:
  - name: restart-crashlooping-pod
    tools: [kubectl.delete_pod]
    when: impact.pod.restart_count >= 5
    decision: allow
    because: a crash-looping pod is recreated by its controller
    examples:
      match:
        - impact: {action: delete_pod, target: {kind: Pod, name: p}, pod: {restart_count: 7}}
  - name: writes-in-prod
    tools: ["kubectl.*"]
    when: not annotations.read_only and target.labels.env == "prod"
    decision: escalate
    because: every change in production is a human's decision
    examples:
      match:
        - tool: kubectl.delete_pod
          annotations: {read_only: false}
          target: {name: prod-eu, labels: {env: prod}}
      not_match:
        - tool: kubectl.delete_pod
          annotations: {read_only: false}
          target: {name: staging, labels: {env: staging}}
        - tool: kubectl.get_pods
          annotations: {read_only: true}
          target: {name: prod-eu, labels: {env: prod}}
  - name: nothing-in-the-sandbox
    tools: ["*"]
    when: target.name == "sandbox"
    decision: deny
    because: the sandbox cluster is not SOPilot's
    examples:
      match:
        - tool: kubectl.get_pods
          target: {name: sandbox}
      not_match:
        - tool: kubectl.get_pods
"#;

fn policy() -> Policy {
    Policy::from_sources(&[("targets.yaml".into(), POLICY.into())])
        .unwrap_or_else(|e| panic!("the policy must load: {e}"))
}

fn target(name: &str, env: Option<&str>) -> Target {
    let mut labels = BTreeMap::new();
    if let Some(env) = env {
        labels.insert("env".to_owned(), env.to_owned());
    }
    Target {
        name: name.into(),
        labels,
    }
}

fn decide(tool: &str, target: Option<&Target>) -> Decision {
    let tool: ToolRef = tool.parse().unwrap();
    let impact: Impact = serde_json::from_value(json!({
        "action": "delete_pod", "target": {"kind": "Pod", "namespace": "payment", "name": "p-1"},
        "pod": {"restart_count": 9}
    }))
    .unwrap();
    let read_only = tool.tool().starts_with("get_");
    let annotations = sopilot_policy::ToolAnnotations {
        read_only: Some(read_only),
        ..Default::default()
    };
    let history = History::fresh(Some(&impact), 60);
    let args: Value = json!({"namespace": "payment", "name": "p-1"});
    policy()
        .evaluate(&Request {
            tool: &tool,
            args: &args,
            impact: (!read_only).then_some(&impact),
            resource: None,
            history: Some(&history),
            trigger: None,
            run: &RunInfo::default(),
            annotations: Some(&annotations),
            trust: ServerTrust::Builtin,
            target,
        })
        .decision
}

#[test]
fn the_same_call_is_allowed_in_staging_and_escalated_in_prod() {
    let prod = target("prod-eu", Some("prod"));
    let staging = target("staging", Some("staging"));
    assert_eq!(
        decide("kubectl.delete_pod", Some(&staging)),
        Decision::Allow
    );
    assert_eq!(
        decide("kubectl.delete_pod", Some(&prod)),
        Decision::Escalate
    );
    // Reading in prod is not a write.
    assert_eq!(decide("kubectl.get_pods", Some(&prod)), Decision::Escalate);
}

#[test]
fn the_implicit_target_has_no_labels_and_is_named_default() {
    // A target without an `env` label cannot show it is not prod: the escalate rule's
    // condition fails to evaluate, and fails closed.
    assert_eq!(decide("kubectl.delete_pod", None), Decision::Escalate);
    let labelled = target("default", Some("dev"));
    assert_eq!(
        decide("kubectl.delete_pod", Some(&labelled)),
        Decision::Allow
    );
    let sandbox = target("sandbox", None);
    assert_eq!(decide("kubectl.delete_pod", Some(&sandbox)), Decision::Deny);
    assert_eq!(decide("kubectl.get_pods", Some(&sandbox)), Decision::Deny);
}

#[test]
fn an_example_with_a_malformed_target_fails_to_load_naming_it() {
    let bad = POLICY.replace("target: {name: sandbox}", "target: {labels: {env: prod}}");
    let err = Policy::from_sources(&[("targets.yaml".into(), bad)])
        .expect_err("a target without a name must not load")
        .to_string();
    assert!(
        err.contains("example target must be {name, labels}"),
        "{err}"
    );
}
