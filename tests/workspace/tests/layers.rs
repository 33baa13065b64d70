//! The workspace's dependencies point one way: runs `cargo metadata` on this workspace and
//! fails naming every edge that breaks the rule of `sopilot_workspace_checks` (and the
//! README). Plus cases that show the rule refuses what it should.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use sopilot_workspace_checks::{AgentCrate, Layer, check, is_impure, refuse};

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn workspace_dependencies_point_one_way() {
    let metadata = metadata();
    let violations = check(&metadata).unwrap();
    let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(
        list.is_empty(),
        "dependencies that break the layer rule (README, Architecture):\n  {}",
        list.join("\n  ")
    );
    // The check saw the workspace, not an empty list.
    let packages = metadata["packages"].as_array().unwrap();
    assert!(packages.len() > 10, "{} packages", packages.len());
}

fn layer(dir: &str) -> Layer {
    Layer::of(Path::new(dir)).unwrap_or_else(|| panic!("{dir} has no layer"))
}

#[test]
fn folders_map_to_layers() {
    assert_eq!(layer("lib/yaml"), Layer::Lib);
    assert_eq!(layer("lib/test-support"), Layer::TestSupport);
    assert_eq!(layer("sim/env"), Layer::SimEnv);
    assert_eq!(layer("sim/k8s"), Layer::Sim);
    assert_eq!(layer("mcp-servers/common"), Layer::McpCommon);
    assert_eq!(layer("mcp-servers/kubectl"), Layer::McpServer);
    assert_eq!(layer("agent/cli"), Layer::Agent(AgentCrate::Cli));
    assert_eq!(layer("agent/eval"), Layer::Agent(AgentCrate::Eval));
    assert!(Layer::of(Path::new("agent/unknown")).is_none());
    assert!(Layer::of(Path::new("sim")).is_none());
    assert!(Layer::of(Path::new("mcp-servers/cloudwatch/forecast")).is_none());
}

#[test]
fn the_rule_refuses_upward_and_sideways_edges() {
    let refused = [
        ("sim/model", "agent/llm"),
        ("sim/k8s", "agent/protocol"),
        ("sim/aws", "mcp-servers/cloudwatch"),
        ("sim/aws", "sim/slack"),
        ("lib/script", "agent/protocol"),
        ("lib/yaml", "sim/k8s"),
        ("mcp-servers/kubectl", "agent/runtime"),
        ("mcp-servers/cloudwatch", "mcp-servers/cost"),
        ("mcp-servers/common", "mcp-servers/kubectl"),
        ("agent/protocol", "agent/policy"),
        ("agent/policy", "agent/sop"),
        ("agent/llm", "agent/runtime"),
        ("agent/runtime", "agent/server"),
        ("agent/runtime", "sim/env"),
        ("agent/server", "mcp-servers/common"),
        ("agent/server", "agent/cli"),
        ("agent/server", "agent/eval"),
        ("agent/eval", "sim/env"),
        ("agent/eval", "agent/cli"),
        ("bench/gate", "tests/workspace"),
        ("mcp-servers/cost", "lib/test-support"),
        ("lib/test-support", "agent/runtime"),
        ("lib/test-support", "mcp-servers/kubectl"),
    ];
    for (from, to) in refused {
        assert!(
            refuse(layer(from), layer(to)).is_some(),
            "{from} → {to} should be refused"
        );
    }
    let allowed = [
        ("lib/script", "lib/yaml"),
        ("sim/aws", "lib/forecast"),
        ("sim/env", "sim/k8s"),
        ("mcp-servers/cloudwatch", "lib/forecast"),
        ("mcp-servers/kubectl", "mcp-servers/common"),
        ("mcp-servers/common", "agent/protocol"),
        ("agent/llm", "lib/script"),
        ("agent/server", "agent/runtime"),
        ("agent/eval", "agent/server"),
        ("agent/cli", "agent/eval"),
        ("agent/cli", "sim/env"),
        ("agent/cli", "mcp-servers/kubectl"),
        ("bench/gate", "agent/cli"),
        ("lib/test-support", "sim/aws"),
        ("lib/test-support", "lib/yaml"),
    ];
    for (from, to) in allowed {
        assert_eq!(refuse(layer(from), layer(to)), None, "{from} → {to}");
    }
}

/// A one-package metadata document with the given dependencies.
fn one_package(dir: &str, deps: Value) -> Value {
    json!({
        "workspace_root": "/ws",
        "packages": [{
            "name": "pkg",
            "manifest_path": format!("/ws/{dir}/Cargo.toml"),
            "dependencies": deps,
        }],
    })
}

#[test]
fn violations_name_the_edge_and_why() {
    let m = one_package(
        "sim/model",
        json!([
            {"name": "sopilot-llm", "kind": null, "path": "/ws/agent/llm"},
            {"name": "sopilot-script", "kind": null, "path": "/ws/lib/script"},
            {"name": "sopilot-runtime", "kind": "dev", "path": "/ws/agent/runtime"},
            {"name": "tokio", "kind": null},
        ]),
    );
    let v = check(&m).unwrap();
    assert_eq!(v.len(), 1, "{v:?}");
    let text = v[0].to_string();
    assert!(
        text.starts_with("sim/model (pkg) → agent/llm (sopilot-llm): a simulator"),
        "{text}"
    );
}

#[test]
fn nothing_depends_on_the_binary_and_pure_crates_stay_pure() {
    let m = one_package(
        "mcp-servers/kubectl",
        json!([{"name": "sopilot", "kind": "dev", "path": "/ws/agent/cli"}]),
    );
    assert_eq!(check(&m).unwrap().len(), 1);
    let m = one_package(
        "bench/gate",
        json!([{"name": "sopilot", "kind": "dev", "path": "/ws/agent/cli"}]),
    );
    assert!(check(&m).unwrap().is_empty());
    let m = one_package(
        "agent/policy",
        json!([
            {"name": "tokio", "kind": null},
            {"name": "tokio", "kind": "dev"},
            {"name": "serde", "kind": null},
        ]),
    );
    let v = check(&m).unwrap();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].to_string().contains("→ tokio: a pure crate"),
        "{}",
        v[0]
    );
    assert!(is_impure("aws-sdk-cloudwatch") && is_impure("tokio-util") && !is_impure("serde"));
}

#[test]
fn an_unknown_folder_is_a_violation() {
    let m = one_package("tools/x", json!([]));
    let v = check(&m).unwrap();
    assert_eq!(v.len(), 1);
    assert!(v[0].to_string().contains("does not know"), "{}", v[0]);
}

#[test]
fn only_the_network_libs_name_an_http_stack() {
    let deps = json!([
        {"name": "reqwest", "kind": null},
        {"name": "tokio", "kind": null},
    ]);
    assert!(
        check(&one_package("lib/slack-api", deps.clone()))
            .unwrap()
            .is_empty()
    );
    assert_eq!(check(&one_package("lib/yaml", deps)).unwrap().len(), 2);
    // Still a leaf: nothing of ours but lib/*.
    let m = one_package(
        "lib/slack-api",
        json!([{"name": "sopilot-protocol", "kind": null, "path": "/ws/agent/protocol"}]),
    );
    assert_eq!(check(&m).unwrap().len(), 1);
}
