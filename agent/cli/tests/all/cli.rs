//! The `sopilot` binary, spoken to as users and scripts do (CONTRACTS.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::type_complexity)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::{Value, json};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sopilot(args: &[&str]) -> Output {
    Command::cargo_bin("sopilot")
        .unwrap()
        .current_dir(repo())
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn shipped_sops_and_policies_are_valid() {
    let o = sopilot(&["sop", "lint", "sops/"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let shipped = std::fs::read_dir(repo().join("sops"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".sop.md")
        })
        .count();
    assert!(shipped >= 15, "the SOP library: {shipped}");
    assert!(
        stdout(&o).contains(&format!(
            "{shipped} SOPs checked: {shipped} valid, 0 invalid"
        )),
        "{}",
        stdout(&o)
    );
    let o = sopilot(&["policy", "test", "policies/"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("examples hold"));
}

#[test]
fn lint_json_follows_the_contract() {
    let o = sopilot(&["sop", "lint", "--json", "sops/pod-crashloop.sop.md"]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = &v[0];
    for key in [
        "file",
        "ok",
        "name",
        "title",
        "parameters",
        "steps",
        "tool_blocks",
        "errors",
        "warnings",
    ] {
        assert!(r.get(key).is_some(), "missing {key}: {r}");
    }
    assert_eq!(r["ok"], true);
    assert_eq!(r["name"], "pod-crashloop");
    assert_eq!(
        r["parameters"][2],
        json!({"name": "channel", "required": false, "default": "#incidents"})
    );
    assert_eq!(r["steps"], 4);
}

/// Each kind of malformed SOP: the exit code is 1 and the message carries the line.
#[test]
fn malformed_sops_exit_1_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = "# T\n\n## Overview\n\no\n\n## Parameters\n\n- **ns** (required): ns\n\n## Steps\n\n### 1. Look\n\n```tool\nkubectl.list_pods: {namespace: \"{{ ns }}\"}\n```\n";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "missing-section",
            good.replace("## Overview\n\no\n\n", ""),
            ":1: error: missing required section `## Overview`",
        ),
        (
            "bad-param",
            good.replace("(required)", "(needed)"),
            ":9: error: malformed parameter line",
        ),
        (
            "bad-front-yaml",
            format!("---\nname: [\n---\n{good}"),
            "error: front matter is not valid YAML",
        ),
        (
            "unknown-front-key",
            format!("---\nnmae: x\n---\n{good}"),
            ":2: error: front matter: unknown field `nmae`",
        ),
        (
            "bad-tool-yaml",
            good.replace("{namespace: \"{{ ns }}\"}", "{namespace: ["),
            ":16: error: tool block is not valid YAML",
        ),
        (
            "two-calls",
            good.replace(
                "kubectl.list_pods: {namespace: \"{{ ns }}\"}",
                "kubectl.list_pods: {}\nkubectl.top_nodes: {}",
            ),
            ":15: error: tool block holds 2 calls",
        ),
        (
            "bad-tool-name",
            good.replace("kubectl.list_pods", "list_pods"),
            ":16: error: tool block names a malformed tool",
        ),
        (
            "bad-variable",
            good.replace("{{ ns }}", "{{ namespace }}"),
            ":15: error: tool block for kubectl.list_pods: template \"{{ namespace }}\" uses namespace",
        ),
        (
            "undefined-phase",
            good.replace("### 1. Look", "### 1. Look (phase: assess)"),
            ":13: error: step names phase \"assess\"",
        ),
    ];
    for (name, text, needle) in cases {
        let path = dir.path().join(format!("{name}.sop.md"));
        std::fs::write(&path, text).unwrap();
        let o = sopilot(&["sop", "lint", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stdout(&o));
        assert!(
            stdout(&o).contains(needle),
            "{name}: expected {needle:?} in\n{}",
            stdout(&o)
        );
    }
    // A prohibition without a reason is a warning, not an error.
    let path = dir.path().join("warn.sop.md");
    std::fs::write(
        &path,
        format!("{good}\n**Constraints:**\n- You MUST NOT delete pods\n"),
    )
    .unwrap();
    let o = sopilot(&["sop", "lint", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(":20: warning: negative constraint without a reason"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn lint_refuses_missing_paths() {
    let o = sopilot(&["sop", "lint", "no/such/dir"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no/such/dir"), "{}", stderr(&o));
}

#[test]
fn render_fills_parameters_and_names_missing_ones() {
    let o = sopilot(&[
        "sop",
        "render",
        "sops/pod-crashloop.sop.md",
        "--param",
        "namespace=payment",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("missing required parameter: pod"),
        "{}",
        stderr(&o)
    );
    let o = sopilot(&[
        "sop",
        "render",
        "sops/pod-crashloop.sop.md",
        "-p",
        "namespace=payment",
        "-p",
        "pod=p-1",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("kubectl.describe_pod: {namespace: \"payment\", name: \"p-1\"}"),
        "{}",
        stdout(&o)
    );
    let o = sopilot(&[
        "sop",
        "render",
        "sops/pod-crashloop.sop.md",
        "-p",
        "namespace=payment",
        "-p",
        "pod=p-1",
        "-p",
        "nope=1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown parameter nope"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn render_takes_parameters_from_a_trigger() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, json!({"apiVersion": "v1", "kind": "Event", "reason": "BackOff", "type": "Warning",
        "involvedObject": {"kind": "Pod", "namespace": "payment", "name": "payment-service-7d8f-xyz"}}).to_string()).unwrap();
    let o = sopilot(&[
        "sop",
        "render",
        "sops/pod-crashloop.sop.md",
        "--trigger",
        event.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["params"]["pod"], "payment-service-7d8f-xyz");
    assert_eq!(
        v["steps"][0]["calls"][0]["args"],
        json!({"namespace": "payment", "name": "payment-service-7d8f-xyz"})
    );
}

fn check(tool: &str, args: Value, impact: Option<Value>, unattended: bool) -> Value {
    let args = args.to_string();
    let mut argv = vec![
        "policy",
        "check",
        "--policy",
        "policies/default.yaml",
        "--tool",
        tool,
        "--args",
        &args,
    ];
    let impact = impact.map(|i| i.to_string());
    if let Some(i) = &impact {
        argv.extend(["--impact", i.as_str()]);
    }
    if unattended {
        argv.push("--unattended");
    }
    let o = sopilot(&argv);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn pod(restarts: i64, kind: &str) -> Value {
    json!({"action": "delete_pod", "target": {"kind": "Pod", "namespace": "payment", "name": "p-1"},
        "workload": {"kind": kind, "namespace": "payment", "name": "w", "replicas": 5, "ready": 4},
        "replicas_affected": 1, "fraction_affected": 0.2,
        "pod": {"restart_count": restarts, "waiting_reason": "CrashLoopBackOff"}, "stateful": kind == "StatefulSet",
        "data_loss_risk": false})
}

fn hpa(min: (i64, i64), max: (i64, i64)) -> Value {
    json!({"action": "patch_hpa", "target": {"kind": "HorizontalPodAutoscaler", "namespace": "payment", "name": "payment-service"},
        "hpa": {"min_before": min.0, "min_after": min.1, "max_before": max.0, "max_after": max.1},
        "fraction_affected": 0.0, "data_loss_risk": false})
}

fn undo(from: i64, to: i64, allows: bool) -> Value {
    json!({"action": "rollout_undo", "target": {"kind": "Deployment", "namespace": "payment", "name": "payment-service"},
        "revision": {"from": from, "to": to}, "fraction_affected": 0.2, "data_loss_risk": false,
        "pdb": {"name": "payment-pdb", "disruptions_allowed": i64::from(allows), "allows": allows}})
}

/// The source document's cases through `sopilot policy check`, each decision and its
/// explanation snapshotted.
#[test]
fn policy_check_decides_the_source_documents_cases() {
    let p = json!({"namespace": "payment", "name": "p-1"});
    let d = json!({"namespace": "payment", "name": "payment-service"});
    let cases: Vec<(&str, &str, Value, Option<Value>, bool, &str)> = vec![
        (
            "restart-crashloop-7",
            "kubectl.delete_pod",
            p.clone(),
            Some(pod(7, "Deployment")),
            false,
            "allow",
        ),
        (
            "restart-crashloop-2",
            "kubectl.delete_pod",
            p.clone(),
            Some(pod(2, "Deployment")),
            false,
            "escalate",
        ),
        (
            "restart-statefulset-pod",
            "kubectl.delete_pod",
            p.clone(),
            Some(pod(7, "StatefulSet")),
            false,
            "escalate",
        ),
        (
            "hpa-max-10-14",
            "kubectl.patch_hpa",
            d.clone(),
            Some(hpa((2, 2), (10, 14))),
            false,
            "allow",
        ),
        (
            "hpa-max-10-20",
            "kubectl.patch_hpa",
            d.clone(),
            Some(hpa((2, 2), (10, 20))),
            false,
            "escalate",
        ),
        (
            "hpa-min-4-1",
            "kubectl.patch_hpa",
            d.clone(),
            Some(hpa((4, 1), (10, 10))),
            false,
            "escalate",
        ),
        (
            "rollback-previous-pdb-allows",
            "kubectl.rollout_undo",
            d.clone(),
            Some(undo(15, 14, true)),
            false,
            "allow",
        ),
        (
            "rollback-previous-pdb-blocks",
            "kubectl.rollout_undo",
            d.clone(),
            Some(undo(15, 14, false)),
            false,
            "escalate",
        ),
        (
            "rollback-three-back",
            "kubectl.rollout_undo",
            d.clone(),
            Some(undo(15, 12, true)),
            false,
            "escalate",
        ),
        (
            "change-3-of-5",
            "kubectl.scale",
            json!({"kind": "Deployment", "namespace": "payment", "name": "payment-service", "replicas": 2}),
            Some(
                json!({"action": "scale", "target": {"kind": "Deployment", "namespace": "payment", "name": "payment-service"}, "replicas_before": 5, "replicas_after": 2, "replicas_affected": 3, "fraction_affected": 0.6, "data_loss_risk": false}),
            ),
            false,
            "escalate",
        ),
        (
            "drain-memory-pressure",
            "kubectl.drain",
            json!({"node": "ip-10-0-1-45"}),
            Some(
                json!({"action": "drain", "target": {"kind": "Node", "name": "ip-10-0-1-45"}, "node": {"name": "ip-10-0-1-45", "conditions": ["MemoryPressure"]}, "fraction_affected": 0.2, "data_loss_risk": false}),
            ),
            false,
            "allow",
        ),
        (
            "drain-healthy",
            "kubectl.drain",
            json!({"node": "ip-10-0-3-12"}),
            Some(
                json!({"action": "drain", "target": {"kind": "Node", "name": "ip-10-0-3-12"}, "node": {"name": "ip-10-0-3-12", "conditions": []}, "fraction_affected": 0.2, "data_loss_risk": false}),
            ),
            false,
            "escalate",
        ),
        (
            "read-secret",
            "kubectl.get_resource",
            json!({"kind": "Secret", "namespace": "payment", "name": "db"}),
            None,
            false,
            "deny",
        ),
        (
            "data-loss",
            "kubectl.drain",
            json!({"node": "ip-10-0-1-45"}),
            Some(
                json!({"action": "drain", "target": {"kind": "Node", "name": "ip-10-0-1-45"}, "node": {"name": "ip-10-0-1-45", "conditions": ["DiskPressure"]}, "fraction_affected": 0.2, "data_loss_risk": true}),
            ),
            false,
            "escalate",
        ),
        (
            "unknown-tool",
            "argocd.sync_app",
            json!({"app": "payment"}),
            None,
            false,
            "escalate",
        ),
        (
            "unknown-tool-unattended",
            "argocd.sync_app",
            json!({"app": "payment"}),
            None,
            true,
            "deny",
        ),
    ];
    for (name, tool, args, impact, unattended, want) in cases {
        let v = check(tool, args, impact, unattended);
        assert_eq!(v["decision"], want, "{name}: {v}");
        let shown = json!({"decision": v["decision"], "rules": v["rules"], "reason": v["reason"]});
        insta::assert_json_snapshot!(format!("policy-check-{name}"), shown);
    }
}

#[test]
fn policy_check_rejects_bad_input() {
    for (argv, needle) in [
        (
            vec!["--tool", "delete_pod"],
            "--tool: tool name \"delete_pod\" has no server part",
        ),
        (
            vec!["--tool", "kubectl.scale", "--args", "{not json"],
            "--args is not valid JSON",
        ),
        (
            vec!["--tool", "kubectl.scale", "--args", "[1]"],
            "--args must be a JSON object",
        ),
        (
            vec!["--tool", "kubectl.scale", "--impact", "{\"action\": 3}"],
            "--impact does not fit the Impact format",
        ),
        (
            vec!["--tool", "kubectl.scale", "--policy", "nope.yaml"],
            "cannot read policy nope.yaml",
        ),
    ] {
        let mut full = vec!["policy", "check"];
        full.extend(argv);
        let o = sopilot(&full);
        assert_eq!(o.status.code(), Some(1), "{full:?}");
        assert!(stderr(&o).contains(needle), "{full:?}: {}", stderr(&o));
    }
}

#[test]
fn policy_test_lists_failing_examples() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, "rules:\n  - name: r\n    tools: [k.scale]\n    when: args.replicas < 5\n    decision: allow\n    because: small\n    examples:\n      match:\n        - args: {replicas: 9}\n").unwrap();
    let o = sopilot(&["policy", "test", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{}:9: rule \"r\": match example 1: should match but does not",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn help_teaches() {
    let o = sopilot(&["--help"]);
    assert!(
        stdout(&o).contains("sopilot sop lint sops/"),
        "{}",
        stdout(&o)
    );
    let o = sopilot(&["policy", "check", "--help"]);
    assert!(stdout(&o).contains("--unattended"));
    assert!(stdout(&o).contains("Examples:"));
    let o = sopilot(&["--version"]);
    assert!(stdout(&o).starts_with("sopilot "));
}

#[test]
fn the_repository_root_is_where_tests_run() {
    assert!(Path::new(&repo()).join("policies/default.yaml").exists());
}
