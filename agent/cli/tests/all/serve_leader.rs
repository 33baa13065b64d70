//! Leader election of `sopilot serve` (two real processes, each with its own SQLite store,
//! on one simulated Kubernetes API): a schedule firing every 2 s starts runs on the leader
//! only; when the leader is SIGKILLed, the other replica takes the Lease once it expired and
//! its schedule starts firing. (Terms, fencing and takeover timing are tested in process in
//! sopilot-server's `leader` module.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use sopilot_sim_env::RunningSim;
use support::{Server, TOKEN, http, repo, sim, spawn};

/// Lease 3 s, renew deadline 2 s, retry 1 s: the schedule fires every 2 s.
const SERVE: &str = "  leader_election: {enabled: true, lease_duration: 3s, renew_deadline: 2s, retry_period: 1s}\n  schedules:\n    - name: crash-check\n      cron: \"*/2 * * * * *\"\n      sop: pod-crashloop\n      params: {namespace: payment, pod: payment-service-7d8f9c6b5-x2k9p}\n";

/// A replica: its own store, a scripted model with nothing to do (each run ends at once).
async fn replica(sim: &RunningSim, dir: &Path, pod: &str) -> Server {
    let script = dir.join("script.yaml");
    std::fs::write(&script, "turns: []\n").unwrap();
    let config = dir.join("sopilot.yaml");
    std::fs::write(
        &config,
        format!(
            "store: {}\nserve:\n  listen: 127.0.0.1:0\n  model: scripted:{}\n{SERVE}",
            dir.join("db").display(),
            script.display()
        ),
    )
    .unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
    cmd.current_dir(repo())
        .env("KUBECONFIG", sim.kubeconfig())
        .env("SOPILOT_API_TOKEN", TOKEN)
        .env("POD_NAME", pod)
        .env("RUST_LOG", "info")
        .env_remove("SLACK_BOT_TOKEN")
        .args(["serve", "--config"])
        .arg(&config);
    spawn(cmd).await
}

async fn runs(http: &reqwest::Client, server: &Server) -> Vec<Value> {
    let r = http
        .get(format!("{}/api/runs", server.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["runs"].as_array().unwrap().clone()
}

async fn leads(http: &reqwest::Client, server: &Server) -> bool {
    let text = http
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines().any(|l| l == "sopilot_leader 1")
}

/// Polls `check` every 100 ms until it holds; panics after `within`.
async fn until<F, Fut>(what: &str, within: Duration, check: F) -> Instant
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < within, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Instant::now()
}

#[tokio::test]
async fn schedules_fire_on_the_leader_only_and_move_when_it_dies() {
    let sim = sim().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let http = http();
    let mut a = replica(&sim, dir_a.path(), "sopilot-a").await;
    until("a to lead", Duration::from_secs(15), || leads(&http, &a)).await;
    let b = replica(&sim, dir_b.path(), "sopilot-b").await;

    // While both live, a fires and b does not.
    until("three runs on a", Duration::from_secs(30), || async {
        runs(&http, &a).await.len() >= 3
    })
    .await;
    let lease = sim.get("Lease", Some("default"), "sopilot-leader");
    let holder = lease
        .as_ref()
        .and_then(|l| l.pointer("/spec/holderIdentity"));
    assert!(
        holder
            .and_then(Value::as_str)
            .is_some_and(|h| h.starts_with("sopilot-a-")),
        "{lease:?}"
    );
    assert!(runs(&http, &b).await.is_empty());
    assert!(!leads(&http, &b).await);
    assert!(
        runs(&http, &a)
            .await
            .iter()
            .all(|r| r["sop"] == "pod-crashloop"),
    );

    // The leader dies without releasing the lease: b takes over once it expired, 3 s after b
    // last saw a renewal (which b reads within a retry period, 1 s, of its writing), at its
    // next retry (1 s); then its schedule fires.
    a.child.start_kill().unwrap();
    a.child.wait().await.unwrap();
    let killed = Instant::now();
    let took_over = until("b to lead", Duration::from_secs(15), || leads(&http, &b)).await;
    assert!(
        took_over - killed <= Duration::from_secs(1 + 3 + 1 + 1),
        "b led {:?} after the kill",
        took_over - killed
    );
    until("a run on b", Duration::from_secs(10), || async {
        !runs(&http, &b).await.is_empty()
    })
    .await;
    let lease = sim.get("Lease", Some("default"), "sopilot-leader").unwrap();
    assert!(
        lease["spec"]["holderIdentity"]
            .as_str()
            .unwrap()
            .starts_with("sopilot-b-"),
        "{lease}"
    );
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
    let log = b.log.lock().unwrap().join("\n");
    assert!(log.contains("leader_term{fencing=1}"), "{log}");
}
