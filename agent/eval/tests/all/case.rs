//! Parsing cases: the docs' example in full, and every malformed kind refused with its line.

use std::path::Path;

use sopilot_eval::case::{Human, Start, load_cases};
use sopilot_protocol::{CauseClass, Trigger};

use crate::support::{CASE, case, case_in};

#[test]
fn the_docs_example_parses() {
    let c = case();
    assert_eq!(c.name, "crashloop-config-change");
    assert_eq!(c.class, CauseClass::ConfigChange);
    assert_eq!(c.tags, ["eks", "crash-loop"]);
    assert!(matches!(&c.start, Start::Trigger(t) if matches!(**t, Trigger::Alertmanager { .. })));
    assert_eq!(c.sop.as_deref(), Some("complex-incident"));
    assert_eq!(c.params["replicas"], "3", "scalars become text");
    assert_eq!(c.human, Human::Unattended);
    assert_eq!(c.expect.root_cause.any_of.len(), 3);
    assert_eq!(c.expect.evidence.len(), 2);
    assert_eq!(c.expect.must.len(), 1);
    assert_eq!(c.expect.must_not.len(), 2);
    assert_eq!(c.expect.final_state.len(), 2);
    assert_eq!(c.expect.budgets.turns, Some(12));
    assert!(c.rubric.unwrap().contains("crash logs"));
    assert_eq!(c.lines.start, 4, "the trigger's line");
    assert_eq!(c.lines.sop, Some(12));
}

#[test]
fn humans_ide_requests_and_defaults() {
    let dir = Path::new("cases/x");
    let text = "class: dns\nide: {sop: pod-crashloop, params: {namespace: payment}}\nhuman: {approve: [kubectl.patch_hpa]}\nexpect: {}\n";
    let c = case_in(dir, text).unwrap();
    assert_eq!(c.human, Human::Approve(vec!["kubectl.patch_hpa".into()]));
    match &c.start {
        Start::Ide { sop, params } => {
            assert_eq!(sop, "pod-crashloop");
            assert_eq!(params["namespace"], "payment");
        }
        other => panic!("{other:?}"),
    }
    // No root_cause expectation: the case's class, no phrase.
    assert_eq!(c.expect.root_cause.class, CauseClass::Dns);
    assert!(c.expect.root_cause.any_of.is_empty());
    for (h, want) in [
        ("approve-all", Human::ApproveAll),
        ("deny-all", Human::DenyAll),
        ("unattended", Human::Unattended),
    ] {
        let c = case_in(dir, &text.replace("{approve: [kubectl.patch_hpa]}", h)).unwrap();
        assert_eq!(c.human, want);
    }
}

#[test]
fn a_trigger_can_live_in_a_file_next_to_the_case() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("trigger.json"),
        r#"{"apiVersion": "v1", "kind": "Event", "reason": "BackOff", "type": "Warning",
            "involvedObject": {"kind": "Pod", "namespace": "payment", "name": "p-1"},
            "metadata": {"name": "p-1.1", "namespace": "payment"}, "message": "Back-off"}"#,
    )
    .unwrap();
    let c = case_in(
        dir.path(),
        "class: oom-limit\ntrigger: trigger.json\nexpect: {}\n",
    )
    .unwrap();
    assert!(
        matches!(&c.start, Start::Trigger(t) if matches!(**t, Trigger::KubernetesEvent { .. }))
    );
    let err = case_in(
        dir.path(),
        "class: oom-limit\ntrigger: missing.json\nexpect: {}\n",
    )
    .unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(err.message.contains("missing.json"), "{err}");
    let err = case_in(
        dir.path(),
        "class: oom-limit\ntrigger: ../../etc/passwd\nexpect: {}\n",
    )
    .unwrap_err();
    assert!(err.message.contains("in the case's folder"), "{err}");
}

/// Each malformed case kind: (a change to the example, the line named, words in the error).
#[test]
fn every_malformed_kind_names_its_line() {
    let cases: &[(&str, &str, usize, &str)] = &[
        (
            "class: config-change",
            "class: config-chnage",
            1,
            "not a cause class",
        ),
        (
            "tags: [eks, crash-loop]",
            "tags: [eks, crash-loop]\ncolour: red",
            4,
            "unknown field `colour`",
        ),
        ("    any_of:", "    anyof:", 18, "unknown field `anyof`"),
        (
            "  budgets: {turns: 12,",
            "  budgets: {turn: 12,",
            32,
            "unknown field `turn`",
        ),
        (
            "  budgets: {turns: 12,",
            "  budgets: {turns: 0,",
            32,
            "at least 1",
        ),
        (
            "tokens: 80000, seconds: 120}",
            "tokens: 80000, seconds: -1}",
            32,
            "above 0",
        ),
        ("human: unattended", "human: sometimes", 14, "approve-all"),
        (
            "human: unattended",
            "human: {approve: [patch_hpa]}",
            14,
            "patch_hpa",
        ),
        (
            "human: unattended",
            "human: {deny: [kubectl.patch_hpa]}",
            14,
            "approve-all",
        ),
        (
            "  groupKey:",
            "  groupKeys:",
            4,
            "unrecognised trigger payload",
        ),
        (
            "sop: complex-incident",
            "sop: complex-incident\nide: {sop: pod-crashloop}",
            13,
            "not both",
        ),
        (
            "params: {namespace: payment, replicas: 3}",
            "params: {namespace: [payment]}",
            13,
            "namespace",
        ),
        (
            "    class: config-change\n",
            "    class: bad-rollout\n",
            17,
            "the case's class is config-change",
        ),
        (
            "    any_of: [DB_POOL_SIZE,",
            "    any_of: [\" \", DB_POOL_SIZE,",
            18,
            "empty phrase",
        ),
        (
            "    - {tool: kubectl.pod_logs,",
            "    - {tool: kubectl pod_logs,",
            20,
            "SERVER.TOOL",
        ),
        (
            "object: payment/payment-service-*}",
            "object: payment/x/y}",
            20,
            "NAMESPACE/NAME",
        ),
        (
            "      - {tool: kubectl.delete_pod}",
            "      - {tool: \"kubectl.[delete\"}",
            26,
            "not a glob",
        ),
        (
            "pointer: /spec/template",
            "pointer: spec/template",
            30,
            "JSON pointer",
        ),
        (
            "name: postgres-0, exists: true}",
            "name: postgres-*, exists: true}",
            31,
            "globs are not supported",
        ),
        (
            "name: postgres-0, exists: true}",
            "name: postgres-0}",
            31,
            "say what must hold",
        ),
        (
            "name: postgres-0, exists: true}",
            "name: postgres-0, equals: 3}",
            31,
            "needs a `pointer`",
        ),
        (
            "equals: \"50\"}",
            "equals: \"50\", exists: true}",
            30,
            "not both",
        ),
        (
            "expect:\n",
            "expect:\n  verdict: yes\n",
            16,
            "unknown field `verdict`",
        ),
        ("rubric: |", "rubric: [a]\nx: |", 33, "rubric"),
    ];
    for (from, to, line, words) in cases {
        assert!(CASE.contains(from), "{from}");
        let text = CASE.replacen(from, to, 1);
        let err = case_in(Path::new("eval/cases/x"), &text)
            .err()
            .unwrap_or_else(|| panic!("{to:?} was accepted"));
        assert_eq!(err.file, Path::new("eval/cases/x/case.yaml"), "{to}");
        assert!(err.message.contains(words), "{to}: {err}");
        assert_eq!(err.line, Some(*line), "{to}: {err}");
        assert!(
            err.to_string()
                .starts_with(&format!("eval/cases/x/case.yaml: line {line}: ")),
            "{err}"
        );
    }
}

#[test]
fn structural_errors_name_a_line_too() {
    let dir = Path::new("c");
    for (text, line, words) in [
        ("- a list\n", 1, "a case is a mapping"),
        ("class: dns\nexpect: {}\n", 1, "needs `trigger`"),
        ("class: dns\nide: {sop: x}\n", 1, "expect"),
        ("class: dns\nclass: dns\n", 2, "duplicate"),
        ("class: dns\nexpect: {evidence: [\n", 2, ""),
        (
            "class: dns\nide: {sop: x, parms: {}}\nexpect: {}\n",
            2,
            "unknown field `parms`",
        ),
    ] {
        let err = case_in(dir, text).unwrap_err();
        assert!(err.message.contains(words), "{text}: {err}");
        assert!(err.line.is_some_and(|l| l >= line), "{text}: {err}");
    }
}

#[test]
fn a_folder_of_cases_reports_every_problem_and_unknown_names() {
    let root = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let d = root.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("case.yaml"), text).unwrap();
    };
    write("a-good", "class: dns\nide: {sop: x}\nexpect: {}\n");
    write("b-bad", "class: dns\nide: {sop: x}\nexpect: {}\nextra: 1\n");
    write("c-bad", "class: nope\nide: {sop: x}\nexpect: {}\n");
    std::fs::create_dir_all(root.path().join(".hidden")).unwrap();
    let errors = load_cases(root.path(), &[]).unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].to_string().contains("b-bad/case.yaml: line 4"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].to_string().contains("c-bad/case.yaml: line 1"),
        "{}",
        errors[1]
    );
    let only = load_cases(root.path(), &["a-good".into()]).unwrap();
    assert_eq!(only.len(), 1);
    let errors = load_cases(root.path(), &["a-good".into(), "zzz".into()]).unwrap_err();
    assert!(
        errors[0].message.contains("no case \"zzz\""),
        "{}",
        errors[0]
    );
    // A folder without case.yaml is named.
    std::fs::create_dir_all(root.path().join("d-empty")).unwrap();
    let errors = load_cases(root.path(), &[]).unwrap_err();
    assert!(errors[0].to_string().contains("d-empty"), "{}", errors[0]);
}
