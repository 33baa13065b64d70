//! `sopilot rbac`: the role the enabled Kubernetes tools need, as manifests (snapshotted:
//! a change in any tool's needs shows up here for review) and as the Helm chart's values.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use assert_cmd::Command;

fn sopilot(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("sopilot")
        .unwrap()
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = sopilot(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn default_manifests() {
    let text = ok(&["rbac"]);
    insta::assert_snapshot!("rbac-manifests", text);
    assert!(!text.contains("secrets"));
}

#[test]
fn helm_values_carry_the_same_rules() {
    let manifests = ok(&["rbac"]);
    let values = ok(&["rbac", "--format", "helm-values"]);
    assert!(
        values.starts_with("rbac:\n  clusterRules:\n    # "),
        "{values}"
    );
    let rules = |text: &str| -> Vec<String> {
        text.lines()
            .map(str::trim)
            .filter(|l| {
                l.starts_with("- apiGroups") || l.starts_with("resources") || l.starts_with("verbs")
            })
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(rules(&values), rules(&manifests));
}

#[test]
fn a_configuration_without_kubectl_grants_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sopilot.yaml");
    std::fs::write(&config, "builtin: [slack]\n").unwrap();
    let text = ok(&[
        "rbac",
        "--config",
        config.to_str().unwrap(),
        "--name",
        "ops",
        "--namespace",
        "tools",
    ]);
    assert!(text.contains("rules: []"), "{text}");
    assert!(text.contains("  name: ops\n  namespace: tools\n"), "{text}");
    let o = sopilot(&["rbac", "--name", "Bad_Name"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("--name \"Bad_Name\" is not a valid Kubernetes name")
    );
}
