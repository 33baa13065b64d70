//! Scheduled triggers of `sopilot serve` (the real binary, on the simulator): a schedule
//! starts its SOP, never overlaps itself while the run waits for an approval, and starts a
//! new run once the last one is done; a bad schedule stops the server before it listens.
//! (That schedules fire exactly on time is tested with a paused clock in sopilot-server.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use serde_json::Value;
use support::{decide, http, pending_approval, repo, sim, start_server, wait_for};

const SCHEDULE: &str = "  schedules:\n    - name: crash-check\n      cron: \"*/2 * * * * *\"\n      sop: pod-crashloop\n      params: {namespace: payment, pod: payment-service-7d8f9c6b5-x2k9p}\n";

fn runs(v: &Value) -> Vec<Value> {
    v["runs"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_schedule_runs_its_sop_without_overlapping_itself() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(&sim, dir.path(), SCHEDULE).await;
    let http = http();
    let list = format!("{}/api/runs", server.url);

    // The first firing starts pod-crashloop; its HPA change waits for an approval.
    let first = wait_for(&http, &list, "the first scheduled run", |v| {
        !runs(v).is_empty()
    })
    .await;
    let run = &runs(&first)[0];
    assert_eq!(run["sop"], "pod-crashloop");
    let run_id = run["id"].as_str().unwrap().to_owned();
    let pending = pending_approval(&http, &server.url).await;

    // Later firings join the waiting run instead of starting more.
    let joined = wait_for(
        &http,
        &format!("{}/api/runs/{run_id}", server.url),
        "two firings joining the run",
        |v| {
            v["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| {
                    e["event"] == "note"
                        && e["message"]
                            .as_str()
                            .unwrap_or("")
                            .contains("schedule:crash-check")
                })
                .count()
                >= 2
        },
    )
    .await;
    assert_eq!(joined["run"]["status"], "running");
    assert_eq!(
        runs(&wait_for(&http, &list, "runs", |_| true).await).len(),
        1
    );

    // Once it is done, the next firing starts a new run.
    let id = pending["id"].as_str().unwrap();
    assert_eq!(decide(&http, &server.url, id, "deny", "alice").await.0, 200);
    let later = wait_for(&http, &list, "a second scheduled run", |v| {
        runs(v).len() >= 2
    })
    .await;
    let trigger_kinds: Vec<Value> = runs(&later).iter().map(|r| r["sop"].clone()).collect();
    assert!(
        trigger_kinds.iter().all(|s| s == "pod-crashloop"),
        "{later}"
    );
}

#[tokio::test]
async fn a_bad_schedule_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sopilot.yaml");
    for (schedule, expected) in [
        (
            "    - {name: nightly, cron: \"every night\", sop: pod-crashloop}\n",
            "schedule \"nightly\": cron \"every night\" is not valid",
        ),
        (
            "    - {name: nightly, cron: \"0 3 * * *\", sop: pod-crashloop}\n",
            "schedule \"nightly\": SOP pod-crashloop",
        ),
        (
            "    - {name: nightly, cron: \"0 3 * * *\", sop: no-such-sop}\n",
            "no SOP \"no-such-sop\"",
        ),
    ] {
        std::fs::write(
            &config,
            format!(
                "store: {}\nserve:\n  listen: 127.0.0.1:0\n  schedules:\n{schedule}",
                dir.path().join("db").display()
            ),
        )
        .unwrap();
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"))
            .current_dir(repo())
            .env("KUBECONFIG", dir.path().join("none"))
            .args(["serve", "--config"])
            .arg(&config)
            .output()
            .await
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{expected:?} not in {stderr}");
        assert!(!stderr.contains("listening on"), "{stderr}");
    }
}
