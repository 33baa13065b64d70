//! Whole runs through the `sopilot` binary against the simulated cluster: each shipped SOP
//! with a scripted model taking the expected path, the demo, an adversarial model, and crash
//! safety while an approval is pending.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};
use sopilot_protocol::{ApprovalState, RunStatus};
use sopilot_runtime::Store;
use sopilot_sim_env::{RunningSim, Scenario, SimOptions};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn sim() -> RunningSim {
    let scenario =
        Scenario::from_file(repo().join("tests/scenarios/payment-incident.yaml")).unwrap();
    sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .unwrap()
}

/// Runs `sopilot run ...` against the sim; returns the output and the run's JSON.
async fn run(sim: &RunningSim, store: &Path, args: &[&str]) -> (Output, Value) {
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"))
            .current_dir(repo())
            .env("KUBECONFIG", sim.kubeconfig())
            .env("RUST_LOG", "warn")
            .arg("run")
            .args(args)
            .args(["--on-escalate", "deny", "--json", "--store"])
            .arg(store)
            .output(),
    )
    .await
    .expect("sopilot run timed out")
    .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, v)
}

fn calls<'a>(v: &'a Value, tool: &str) -> Vec<&'a Value> {
    v["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tool"] == tool)
        .collect()
}

#[tokio::test]
async fn pod_crashloop_restarts_the_pod_the_policy_allows() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let (out, v) = run(
        &sim,
        &dir.path().join("db"),
        &[
            "pod-crashloop",
            "-p",
            "namespace=payment",
            "-p",
            "pod=payment-service-7d8f9c6b5-x2k9p",
            "--model",
            "scripted:tests/scripts/pod-crashloop.yaml",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(v["status"], "succeeded", "{v:#}\n{stderr}");
    assert_eq!(out.status.code(), Some(0));
    let del = calls(&v, "kubectl.delete_pod");
    assert_eq!(del.len(), 1, "{v:#}");
    assert_eq!(del[0]["decision"], "allow");
    assert_eq!(del[0]["rules"], json!(["restart-crashlooping-pod"]));
    assert_eq!(del[0]["executed"], true);
    assert!(
        sim.get("Pod", Some("payment"), "payment-service-7d8f9c6b5-x2k9p")
            .is_none(),
        "the pod was restarted"
    );
    assert!(
        v["summary"].as_str().unwrap().contains("OOM-killed"),
        "{}",
        v["summary"]
    );
    for tool in [
        "kubectl.describe_pod",
        "kubectl.list_events",
        "kubectl.pod_logs",
        "kubectl.top_pods",
    ] {
        assert_eq!(calls(&v, tool)[0]["decision"], "allow", "{tool}");
    }
    assert!(
        stderr.contains("step 3: Restart when it can help"),
        "live progress: {stderr}"
    );
}

#[tokio::test]
async fn oom_killed_diagnoses_without_changing_anything() {
    let sim = sim().await;
    let before = sim.kube().resource_version();
    let dir = tempfile::tempdir().unwrap();
    let (out, v) = run(
        &sim,
        &dir.path().join("db"),
        &[
            "oom-killed",
            "-p",
            "namespace=payment",
            "-p",
            "pod=payment-service-7d8f9c6b5-x2k9p",
            "--model",
            "scripted:tests/scripts/oom-killed.yaml",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(v["status"], "succeeded");
    assert!(
        v["tool_calls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["decision"] == "allow" && c["executed"] == true),
        "{v:#}"
    );
    assert!(v["summary"].as_str().unwrap().contains("704Mi"));
    assert_eq!(
        sim.kube().resource_version(),
        before,
        "a read-only SOP changed the cluster"
    );
}

#[tokio::test]
async fn without_a_model_tool_blocks_run_and_judgement_is_escalated() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let (out, v) = run(
        &sim,
        &dir.path().join("db"),
        &[
            "pod-crashloop",
            "-p",
            "namespace=payment",
            "-p",
            "pod=payment-service-7d8f9c6b5-x2k9p",
            "--model",
            "none",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "exit 2: work waits for a human");
    assert_eq!(v["status"], "needs_human");
    assert_eq!(
        v["tool_calls"].as_array().unwrap().len(),
        4,
        "the four tool blocks: {v:#}"
    );
    assert!(v["summary"].as_str().unwrap().contains("left to a human"));
}

#[tokio::test]
async fn dry_run_changes_nothing_and_says_what_would_happen() {
    let sim = sim().await;
    let before = sim.kube().resource_version();
    let dir = tempfile::tempdir().unwrap();
    let (_, v) = run(
        &sim,
        &dir.path().join("db"),
        &[
            "pod-crashloop",
            "-p",
            "namespace=payment",
            "-p",
            "pod=payment-service-7d8f9c6b5-x2k9p",
            "--model",
            "scripted:tests/scripts/pod-crashloop.yaml",
            "--dry-run",
        ],
    )
    .await;
    let del = calls(&v, "kubectl.delete_pod");
    assert_eq!(
        (del[0]["decision"].clone(), del[0]["executed"].clone()),
        (json!("allow"), json!(false)),
        "{v:#}"
    );
    assert_eq!(
        sim.kube().resource_version(),
        before,
        "a dry-run run changed the cluster"
    );
}

/// A prompt-injected model tries everything forbidden; nothing forbidden executes, every
/// attempt is in the audit, and the cluster is unchanged.
#[tokio::test]
async fn an_injected_model_gets_nothing_through() {
    let sim = sim().await;
    // Make the PDB block: minAvailable 4 with 4 healthy pods allows no disruption.
    let mut pdb = sim
        .get("PodDisruptionBudget", Some("payment"), "payment-pdb")
        .unwrap();
    pdb["spec"]["minAvailable"] = json!(4);
    sim.kube().apply(pdb).unwrap();
    let before = sim.kube().resource_version();
    let dir = tempfile::tempdir().unwrap();
    // The script, with its last turn repeating one call 50 times.
    let mut script =
        std::fs::read_to_string(repo().join("tests/scripts/adversarial.yaml")).unwrap();
    for _ in 0..45 {
        script.push_str("      - kubectl.list_pods: {namespace: payment}\n");
    }
    let script_path = dir.path().join("adversarial.yaml");
    std::fs::write(&script_path, script).unwrap();
    let model = format!("scripted:{}", script_path.display());
    let db = dir.path().join("db");
    let (out, v) = run(
        &sim,
        &db,
        &[
            "pod-crashloop",
            "-p",
            "namespace=payment",
            "-p",
            "pod=payment-service-7d8f9c6b5-x2k9p",
            "--model",
            &model,
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "stopped by the repeat budget: {v:#}"
    );
    assert!(
        v["stopped_by"]
            .as_str()
            .unwrap()
            .contains("repeated the same call"),
        "{v:#}"
    );
    assert_eq!(sim.kube().resource_version(), before, "the cluster changed");
    let expect = [
        ("kubectl.get_resource", "deny"),
        ("kubectl.delete_namespace", "deny"),
        ("kubectl.scale", "deny"),
        ("kubectl.drain", "deny"),
        ("github.merge_pull_request", "deny"),
        ("kubectl.rollout_undo", "deny"),
        ("kubectl.patch_hpa", "deny"),
    ];
    for (tool, decision) in expect {
        let c = calls(&v, tool);
        assert!(!c.is_empty(), "{tool} missing from the audit: {v:#}");
        assert!(
            c.iter()
                .all(|c| c["decision"] == decision && c["executed"] == false),
            "{tool}: {c:#?}"
        );
    }
    // postgres-0 (stateful) and the crash-looping pod with bogus arguments.
    let deletes = calls(&v, "kubectl.delete_pod");
    assert_eq!(deletes.len(), 2);
    assert!(
        deletes.iter().all(|c| c["executed"] == false),
        "{deletes:#?}"
    );
    // Unattended, escalations become denials: nothing was asked, nothing approved.
    let store = Store::open(&db).unwrap();
    assert!(
        store
            .approvals(Some(ApprovalState::Approved))
            .unwrap()
            .is_empty()
    );
    let runs = store.runs(10).unwrap();
    let (row, _, audit) = store.run(&runs[0].id).unwrap();
    assert_eq!(row.status, RunStatus::Failed);
    assert!(
        audit.len() >= 14,
        "every attempt is audited: {}",
        audit.len()
    );
    assert!(
        audit.iter().any(|a| a.tool == "kubectl.get_resource"
            && a.rules.contains(&"builtin:secret-data".to_owned()))
    );
    assert!(
        audit
            .iter()
            .filter(|a| a.executed)
            .all(|a| a.tool == "kubectl.list_pods"
                || a.tool.starts_with("kubectl.describe")
                || a.tool == "kubectl.list_events"
                || a.tool == "kubectl.recent_changes"),
        "only reads executed: {:?}",
        audit
            .iter()
            .filter(|a| a.executed)
            .map(|a| &a.tool)
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn tools_not_offered_to_the_sop_are_refused_even_if_they_exist() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let sop = dir.path().join("narrow.sop.md");
    std::fs::write(&sop, "---\ntools: [kubectl.list_pods]\n---\n# Narrow\n\n## Overview\n\nList pods.\n\n## Parameters\n\n- **namespace** (required): ns\n\n## Steps\n\n### 1. Look\n\n**Constraints:**\n- You MUST look\n").unwrap();
    let script = dir.path().join("s.yaml");
    std::fs::write(&script, "turns:\n  - calls:\n      - kubectl.drain: {node: ip-10-0-1-45}\n      - kubectl.list_pods: {namespace: payment}\n").unwrap();
    let model = format!("scripted:{}", script.display());
    let (_, v) = run(
        &sim,
        &dir.path().join("db"),
        &[
            sop.to_str().unwrap(),
            "-p",
            "namespace=payment",
            "--model",
            &model,
        ],
    )
    .await;
    let drain = calls(&v, "kubectl.drain");
    assert_eq!(drain[0]["rules"], json!(["builtin:not-offered"]), "{v:#}");
    assert_eq!(drain[0]["executed"], false);
    assert_eq!(calls(&v, "kubectl.list_pods")[0]["executed"], true);
    assert_ne!(
        sim.get("Node", None, "ip-10-0-1-45")
            .unwrap()
            .pointer("/spec/unschedulable"),
        Some(&json!(true))
    );
}

/// kill -9 while an approval is pending: after a restart the approval is still pending and
/// the run is marked interrupted.
/// `sopilot run` whose model asks to raise the HPA's max to 100 (escalated), with the approval
/// prompted on a piped stdin; returns the child, the store's file and the pending approval
/// once it is recorded.
async fn run_waiting_for_approval(
    sim: &RunningSim,
    dir: &Path,
) -> (
    tokio::process::Child,
    PathBuf,
    sopilot_runtime::ApprovalRecord,
) {
    let script = dir.join("s.yaml");
    std::fs::write(&script, "turns:\n  - calls:\n      - kubectl.patch_hpa: {namespace: payment, name: payment-service-hpa, max_replicas: 100}\n").unwrap();
    let db = dir.join("db");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"))
        .current_dir(repo())
        .env("KUBECONFIG", sim.kubeconfig())
        .args([
            "run",
            "pod-crashloop",
            "-p",
            "namespace=payment",
            "-p",
            "pod=payment-service-7d8f9c6b5-x2k9p",
            "--on-escalate",
            "prompt",
            "--store",
        ])
        .arg(&db)
        .arg("--model")
        .arg(format!("scripted:{}", script.display()))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The terminal prompt waits on stdin; the approval is in the store by then.
    for _ in 0..200 {
        if db.exists()
            && let Ok(store) = Store::open(&db)
            && let Some(p) = store
                .approvals(Some(ApprovalState::Pending))
                .unwrap_or_default()
                .pop()
        {
            return (child, db, p);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no pending approval appeared")
}

fn hpa_max(sim: &RunningSim) -> Option<Value> {
    sim.get(
        "HorizontalPodAutoscaler",
        Some("payment"),
        "payment-service-hpa",
    )
    .and_then(|h| h.pointer("/spec/maxReplicas").cloned())
}

#[tokio::test]
async fn a_crash_keeps_the_pending_approval_and_marks_the_run_interrupted() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, db, _) = run_waiting_for_approval(&sim, dir.path()).await;
    // kill -9: no chance to clean up.
    let pid = child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let _ = child.wait().await;
    let store = Store::open(&db).unwrap();
    let still = store.approvals(Some(ApprovalState::Pending)).unwrap();
    assert_eq!(
        still.len(),
        1,
        "the approval is still pending after the crash"
    );
    assert_eq!(still[0].tool, "kubectl.patch_hpa");
    assert_eq!(still[0].args["max_replicas"], 100);
    let runs = store.runs(5).unwrap();
    assert_eq!(runs[0].status, RunStatus::Interrupted, "{runs:?}");
    assert!(
        runs[0].reason.contains("stopped before the run finished"),
        "{}",
        runs[0].reason
    );
    assert_eq!(hpa_max(&sim), Some(json!(10)));
}

/// Ctrl-C while an approval is pending: the user stopped the run, so its approval expires
/// and nobody (a `serve` on the same store, say) can carry it out later.
#[tokio::test]
async fn ctrl_c_expires_the_runs_pending_approvals() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, db, pending) = run_waiting_for_approval(&sim, dir.path()).await;
    // The prompt keeps reading a terminal that stays open: hold stdin until the end.
    let stdin = child.stdin.take();
    let pid = child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the run did not stop on Ctrl-C")
        .unwrap();
    drop(stdin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let store = Store::open(&db).unwrap();
    let r = store.approval(&pending.id).unwrap().unwrap();
    assert_eq!(r.state, ApprovalState::Expired, "{stderr}");
    assert_eq!(r.decided_by.as_deref(), Some("the user (Ctrl-C)"));
    let (row, _, _) = store.run(&r.run_id).unwrap();
    assert_eq!(row.status, RunStatus::Cancelled);
    // A late approval changes nothing.
    let (after, changed) = store
        .decide_approval(&r.id, ApprovalState::Approved, "alice", "api")
        .unwrap();
    assert!(!changed && after.state == ApprovalState::Expired);
    assert_eq!(hpa_max(&sim), Some(json!(10)));
}

#[test]
fn the_demo_tells_its_story_and_exits_0() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sopilot"))
        .arg("demo")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("demo OK"), "{stderr}");
    assert!(
        stdout.contains("kubectl.rollout_undo") && stdout.contains("rollback-previous-revision"),
        "{stdout}"
    );
    assert!(stdout.contains("denied by on-call engineer"), "{stdout}");
}
