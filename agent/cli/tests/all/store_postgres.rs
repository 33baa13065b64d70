//! `--store postgres://…` end to end: a whole `sopilot run` against the simulated cluster
//! recorded in PostgreSQL (a schema of the test's own), then read back by `sopilot runs`.
//! Runs when `SOPILOT_TEST_POSTGRES` names a server (`.ci/run` and `scripts/test` set it when
//! one answers); says it is skipped otherwise, and fails under `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::process::{Command, Output};

use serde_json::{Value, json};
use sopilot_protocol::{ApprovalState, RunStatus};
use sopilot_runtime::Store;

use crate::pg_support::Schema;
use crate::support::{repo, sim};

fn sopilot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sopilot"))
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .env_remove("SOPILOT_STORE")
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_run_is_recorded_in_postgres_and_listed_from_it() {
    let Some(schema) = Schema::create("cli") else {
        return;
    };
    let url = schema.url();
    let sim = sim().await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"))
        .current_dir(repo())
        .env("KUBECONFIG", sim.kubeconfig())
        .env("RUST_LOG", "warn")
        .args(["run", "pod-crashloop", "-p", "namespace=payment"])
        .args([
            "-p",
            "pod=payment-service-7d8f9c6b5-x2k9p",
            "--model",
            "none",
        ])
        .args(["--on-escalate", "deny", "--json", "--store", &url])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(v["status"], "needs_human", "{v:#}\n{stderr}");
    let id = v["run_id"].as_str().unwrap().to_owned();

    let list = sopilot(&["runs", "list", "--store", &url]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert!(text.contains(&id) && text.contains("needs_human"), "{text}");

    let show = sopilot(&["runs", "show", &id, "--json", "--store", &url]);
    let shown: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(
        shown["tool_calls"].as_array().unwrap().len(),
        4,
        "{shown:#}"
    );

    let store = Store::open(std::path::Path::new(&url)).unwrap();
    let (row, events, _) = store.run(&id).unwrap();
    assert_eq!(row.status, RunStatus::NeedsHuman);
    assert!(!events.is_empty());
}

#[test]
fn an_unreachable_postgres_store_is_named_without_its_password() {
    let out = sopilot(&[
        "runs",
        "list",
        "--store",
        "postgres://sopilot:sekrit@127.0.0.1:1/sopilot",
    ]);
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        text.contains("postgres://sopilot:***@127.0.0.1:1/sopilot"),
        "{text}"
    );
    assert!(!text.contains("sekrit"), "{text}");
}

/// kill -9 of a `sopilot run` waiting for an approval, on PostgreSQL: the approval is still
/// pending afterwards, the run is marked interrupted when the store is next opened on this
/// host, and the change it asked for was never made.
#[tokio::test]
async fn a_crash_keeps_the_pending_approval_in_postgres_and_marks_the_run_interrupted() {
    let Some(schema) = Schema::create("cli") else {
        return;
    };
    let url = schema.url();
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.yaml");
    std::fs::write(&script, "turns:\n  - calls:\n      - kubectl.patch_hpa: {namespace: payment, name: payment-service-hpa, max_replicas: 100}\n").unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"))
        .current_dir(repo())
        .env("KUBECONFIG", sim.kubeconfig())
        .args(["run", "pod-crashloop", "-p", "namespace=payment"])
        .args([
            "-p",
            "pod=payment-service-7d8f9c6b5-x2k9p",
            "--on-escalate",
            "prompt",
        ])
        .args(["--store", &url, "--model"])
        .arg(format!("scripted:{}", script.display()))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let store = Store::open(std::path::Path::new(&url)).unwrap();
    let mut pending = Vec::new();
    for _ in 0..300 {
        pending = store.approvals(Some(ApprovalState::Pending)).unwrap();
        if !pending.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(pending.len(), 1, "no pending approval appeared");
    child.start_kill().unwrap(); // SIGKILL
    let _ = child.wait().await;

    let store = Store::open(std::path::Path::new(&url)).unwrap();
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
    let max = sim
        .get(
            "HorizontalPodAutoscaler",
            Some("payment"),
            "payment-service-hpa",
        )
        .and_then(|h| h.pointer("/spec/maxReplicas").cloned());
    assert_eq!(max, Some(json!(10)), "nothing was changed");
}
