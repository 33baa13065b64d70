//! Every malformed policy is refused with the file, the rule and the line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use sopilot_policy::{Policy, PolicyError, Request, RunInfo, ServerTrust, ToolAnnotations};
use sopilot_protocol::{Decision, ToolRef};

fn load(text: &str) -> Result<Policy, PolicyError> {
    Policy::from_sources(&[("p.yaml".to_owned(), text.to_owned())])
}

/// The single problem of a policy that must not load: (line, rule, message).
fn problem(text: &str) -> (Option<usize>, Option<String>, String) {
    let err = load(text).expect_err("policy should not load");
    let problems = err.problems();
    assert_eq!(problems.len(), 1, "{err}");
    let p = &problems[0];
    assert_eq!(p.file, "p.yaml");
    (p.line, p.rule.clone(), p.message.clone())
}

const GOOD_RULE: &str = "rules:
  - name: ok
    tools: [kubectl.list_pods]
    decision: allow
    because: reading is fine
";

#[test]
fn a_good_rule_loads() {
    let p = load(GOOD_RULE).unwrap();
    assert_eq!(p.rules().len(), 1);
    assert_eq!(
        p.warnings().len(),
        1,
        "a rule without examples is a warning"
    );
}

#[test]
fn invalid_yaml() {
    let (line, rule, msg) = problem("rules:\n  - name: x\n    tools: [a.b\n");
    assert!(line.is_some() && rule.is_none(), "{msg}");
    assert!(msg.contains("not valid YAML"), "{msg}");
}

#[test]
fn unknown_key_is_named_on_its_line() {
    let text = format!("{GOOD_RULE}    desicion: deny\n");
    let (line, _, msg) = problem(&text);
    assert_eq!(line, Some(6), "{msg}");
    assert!(
        msg.contains("desicion") && msg.contains("rules[0]"),
        "{msg}"
    );
}

#[test]
fn missing_field() {
    let (line, _, msg) = problem("rules:\n  - name: x\n    tools: [a.b]\n    decision: allow\n");
    assert_eq!(line, Some(2), "{msg}");
    assert!(msg.contains("because"), "{msg}");
}

#[test]
fn bad_decision() {
    let (line, rule, msg) = problem(&GOOD_RULE.replace("decision: allow", "decision: allw"));
    assert_eq!((line, rule.as_deref()), (Some(4), Some("ok")), "{msg}");
    assert!(msg.contains("allow, escalate or deny"), "{msg}");
}

#[test]
fn bad_tool_patterns() {
    let (line, _, msg) = problem(&GOOD_RULE.replace("[kubectl.list_pods]", "[list_pods]"));
    assert_eq!(line, Some(3));
    assert!(msg.contains("SERVER.TOOL"), "{msg}");
    let (_, _, msg) = problem(&GOOD_RULE.replace("[kubectl.list_pods]", "[\"kubectl.[\"]"));
    assert!(msg.contains("not a valid glob"), "{msg}");
    let (_, _, msg) = problem(&GOOD_RULE.replace("[kubectl.list_pods]", "[]"));
    assert!(msg.contains("no tool"), "{msg}");
}

#[test]
fn bad_when_expressions() {
    let with_when =
        |w: &str| GOOD_RULE.replace("    decision:", &format!("    when: '{w}'\n    decision:"));
    let (line, rule, msg) = problem(&with_when("impact.pod.restart_count >="));
    assert_eq!((line, rule.as_deref()), (Some(4), Some("ok")), "{msg}");
    assert!(msg.contains("not a valid expression"), "{msg}");
    let (_, _, msg) = problem(&with_when("impcat.pod.restart_count >= 5"));
    assert!(msg.contains("unknown variable impcat"), "{msg}");
    // minijinja's global `namespace` is not a stand-in for args.namespace.
    let (_, _, msg) = problem(&with_when("namespace"));
    assert!(msg.contains("unknown variable namespace"), "{msg}");
    // A when cannot smuggle template code past the wrapper.
    let (_, _, msg) = problem(&with_when(
        "true %}{% for x in range(10) %}1{% endfor %}{% if true",
    ));
    assert!(msg.contains("not a valid expression"), "{msg}");
}

#[test]
fn duplicate_names_across_files() {
    let err = Policy::from_sources(&[
        ("a.yaml".to_owned(), GOOD_RULE.to_owned()),
        ("b.yaml".to_owned(), GOOD_RULE.to_owned()),
    ])
    .unwrap_err();
    let p = &err.problems()[0];
    assert_eq!((p.file.as_str(), p.line), ("b.yaml", Some(2)));
    assert!(p.message.contains("duplicate rule name"), "{err}");
}

#[test]
fn allow_everything_is_refused() {
    let (_, _, msg) = problem(&GOOD_RULE.replace("[kubectl.list_pods]", "[\"*\"]"));
    assert!(msg.contains("allow everything"), "{msg}");
}

#[test]
fn failing_examples_are_listed_with_their_lines() {
    let text = "rules:
  - name: restart
    tools: [kubectl.delete_pod]
    when: impact.pod.restart_count >= 5
    decision: allow
    because: crashloop
    examples:
      match:
        - impact: {action: delete_pod, pod: {restart_count: 7}}
        - impact: {action: delete_pod, pod: {restart_count: 3}}
      not_match:
        - impact: {action: delete_pod, pod: {restart_count: 9}}
        - tool: kubectl.scale
        - impact: {action: delete_pod, pod: {restart_count: many}}
";
    let err = load(text).unwrap_err();
    let lines: Vec<_> = err
        .problems()
        .iter()
        .map(|p| (p.line, p.message.clone()))
        .collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert_eq!(lines[0].0, Some(10));
    assert!(
        lines[0]
            .1
            .contains("match example 2: should match but does not: `when` is false"),
        "{err}"
    );
    assert_eq!(lines[1].0, Some(12));
    assert!(lines[1].1.contains("should not match but does"), "{err}");
    assert_eq!(lines[2].0, Some(14));
    assert!(lines[2].1.contains("Impact format"), "{err}");
}

#[test]
fn examples_need_a_tool_when_the_rule_has_globs() {
    let text = "rules:
  - name: r
    tools: [kubectl.*]
    when: impact is defined
    decision: escalate
    because: x
    examples:
      match: [{impact: {action: x}}]
";
    let (line, _, msg) = problem(text);
    assert_eq!(line, Some(8));
    assert!(msg.contains("needs `tool:`"), "{msg}");
}

#[test]
fn not_a_mapping_and_versions() {
    let (_, _, msg) = problem("- a\n- b\n");
    assert!(msg.contains("mapping"), "{msg}");
    let (line, _, msg) = problem(&format!("version: 2\n{GOOD_RULE}"));
    assert_eq!(line, Some(1));
    assert!(msg.contains("version 2"), "{msg}");
}

fn decide_with(
    p: &Policy,
    tool: &str,
    trust: ServerTrust,
    annotations: Option<&ToolAnnotations>,
) -> Decision {
    let tool: ToolRef = tool.parse().unwrap();
    let args = json!({});
    let run = RunInfo::default();
    p.evaluate(&Request {
        tool: &tool,
        args: &args,
        impact: None,
        resource: None,
        history: None,
        trigger: None,
        run: &run,
        annotations,
        trust,
        target: None,
    })
    .decision
}

#[test]
fn foreign_servers_get_no_trust_from_annotations() {
    let p = load(
        "rules:
  - name: trust-read-only-hints
    tools: [\"*.*\"]
    when: annotations.read_only
    decision: allow
    because: our own servers' read-only tools
",
    )
    .unwrap();
    let ro = ToolAnnotations {
        read_only: Some(true),
        ..ToolAnnotations::default()
    };
    assert_eq!(
        decide_with(&p, "kubectl.list_pods", ServerTrust::Builtin, Some(&ro)),
        Decision::Allow
    );
    assert_eq!(
        decide_with(&p, "evil.wipe", ServerTrust::Foreign, Some(&ro)),
        Decision::Escalate
    );
}

#[test]
fn evaluation_errors_fail_closed() {
    let p = load(
        "rules:
  - name: allow-small
    tools: [k.scale]
    when: args.replicas < 10
    decision: allow
    because: small
  - name: deny-big
    tools: [k.scale]
    when: args.replicas > 100
    decision: deny
    because: big
",
    )
    .unwrap();
    let tool: ToolRef = "k.scale".parse().unwrap();
    let run = RunInfo::default();
    // `replicas` missing: both conditions fail; allow does not allow, deny denies.
    let args = json!({});
    let v = p.evaluate(&Request {
        tool: &tool,
        args: &args,
        impact: None,
        resource: None,
        history: None,
        trigger: None,
        run: &run,
        annotations: None,
        trust: ServerTrust::Builtin,
        target: None,
    });
    assert_eq!(v.decision, Decision::Deny, "{}", v.reason);
    assert_eq!(v.skipped.len(), 1);
    assert!(v.matched[0].evaluation_error.is_some());
    assert!(v.reason.contains("could not be evaluated"), "{}", v.reason);
}

#[test]
fn an_escalate_rule_that_a_missing_fact_would_relax_does_not_load() {
    // The fail-open shape of the old default policy: without fraction_affected the rule
    // stops escalating, and another rule's allow wins.
    let (line, rule, msg) = problem(
        "rules:
  - name: majority
    tools: [kubectl.scale]
    when: impact is defined and impact.fraction_affected is defined and impact.fraction_affected > 0.5
    decision: escalate
    because: most replicas
    examples:
      match:
        - impact: {action: scale, target: {kind: Deployment, name: w}, fraction_affected: 0.6}
",
    );
    assert_eq!(rule.as_deref(), Some("majority"));
    assert_eq!(line, Some(9), "{msg}");
    assert!(
        msg.contains("without impact.fraction_affected the rule no longer matches"),
        "{msg}"
    );
    // Written so that a missing fact fails closed, it loads.
    load(
        "rules:
  - name: majority
    tools: [kubectl.scale]
    when: impact is defined and impact.fraction_affected > 0.5
    decision: escalate
    because: most replicas
    examples:
      match:
        - impact: {action: scale, target: {kind: Deployment, name: w}, fraction_affected: 0.6}
",
    )
    .unwrap();
}

#[test]
fn an_allow_rule_that_a_missing_fact_would_satisfy_does_not_load() {
    let (_, rule, msg) = problem(
        "rules:
  - name: small
    tools: [kubectl.scale]
    when: impact.fraction_affected is not defined or impact.fraction_affected < 0.3
    decision: allow
    because: small
    examples:
      match:
        - impact: {action: scale, target: {kind: Deployment, name: w}, fraction_affected: 0.1}
",
    );
    assert_eq!(rule.as_deref(), Some("small"));
    assert!(
        msg.contains("still allows when impact.fraction_affected is missing"),
        "{msg}"
    );
}

#[test]
fn examples_may_state_the_resolved_resource_and_the_history() {
    let p = load(
        "rules:
  - name: no-second-rollback
    tools: [kubectl.rollout_undo]
    when: history.rollbacks >= 1 or resource is defined and resource.kind == 'StatefulSet'
    decision: escalate
    because: twice
    examples:
      match:
        - history: {rollbacks: 1}
        - resource: {group: apps, version: v1, kind: StatefulSet, plural: statefulsets, namespaced: true}
      not_match:
        - history: {rollbacks: 0}
",
    )
    .unwrap();
    assert_eq!(p.examples_checked(), 3);
    let (_, _, msg) = problem(
        "rules:
  - name: r
    tools: [kubectl.rollout_undo]
    when: history.rollbacks >= 1
    decision: escalate
    because: twice
    examples:
      match:
        - history: {rolbacks: 1}
",
    );
    assert!(msg.contains("no field \"rolbacks\""), "{msg}");
}
