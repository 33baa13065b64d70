//! Two `sopilot serve` replicas on one PostgreSQL store and the simulator (issue 15's
//! failover test): an alert taken by replica A escalates; the approval is visible on B;
//! - A is killed with SIGKILL while the approval is pending, the approval is pressed on B:
//!   B carries the call out, once, and the alert's run, its audit and the approval are all
//!   still there;
//! - both alive, the approval is pressed on B: the run on A carries it out, once, and B says
//!   so;
//! - a repeat of the alert sent to B joins the run A started (dedup through the store);
//! - an alert A accepts while busy is run by idle B (the shared queue), and one queued while
//!   both are busy is run by B after A is killed.
//!
//! Exactly once is read from the store's audit (one executed row), not from the cluster,
//! where a second identical patch would change nothing visible.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};
use sopilot_sim_env::RunningSim;

use crate::pg_support::Schema;
use crate::support::{
    AM_TOKEN, Server, decide, http, sim, start_server_on, start_server_scripted, wait_for,
};

/// Two replicas on one fresh PostgreSQL schema and the simulator; `None` (skipped) without a
/// server. Bind every field: the schema and the replicas' folders go with `_store`.
struct Pair {
    sim: RunningSim,
    http: reqwest::Client,
    a: Server,
    b: Server,
    _store: (Schema, tempfile::TempDir, tempfile::TempDir),
}

impl Pair {
    async fn start(tag: &str) -> Option<Pair> {
        // The scripted model raises the HPA's maximum to 20 at the restart step: escalated.
        Self::start_with(tag, None, "").await
    }

    /// The pair, both replicas' models playing `script` (default: [`Pair::start`]'s), with
    /// `serve_extra` in their `serve` sections.
    async fn start_with(tag: &str, script: Option<&str>, serve_extra: &str) -> Option<Pair> {
        let schema = Schema::create(tag)?;
        let (url, sim) = (schema.url(), sim().await);
        let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let start = |dir: std::path::PathBuf| {
            let (sim, url) = (&sim, &url);
            async move {
                match script {
                    Some(s) => start_server_scripted(sim, &dir, url, serve_extra, s).await,
                    None => start_server_on(sim, &dir, url, serve_extra).await,
                }
            }
        };
        let a = start(dir_a.path().to_owned()).await;
        let b = start(dir_b.path().to_owned()).await;
        Some(Pair {
            sim,
            http: http(),
            a,
            b,
            _store: (schema, dir_a, dir_b),
        })
    }
}

fn alert() -> Value {
    alert_for("payment-service-7d8f9c6b5-x2k9p")
}

fn alert_for(pod: &str) -> Value {
    json!({"version": "4", "groupKey": format!("{{}}:{{alertname=\"KubePodCrashLooping\", pod=\"{pod}\"}}"), "status": "firing",
        "receiver": "sopilot", "groupLabels": {"alertname": "KubePodCrashLooping"},
        "commonLabels": {"alertname": "KubePodCrashLooping", "namespace": "payment", "pod": pod},
        "alerts": [{"status": "firing", "labels": {"alertname": "KubePodCrashLooping", "namespace": "payment", "pod": pod}, "fingerprint": "f1"}]})
}

/// Sends the alert to `server`; returns the run it started.
async fn fire(http: &reqwest::Client, server: &Server) -> String {
    let r = send_alert(http, server).await;
    assert_eq!(r["status"], "started", "{r}");
    r["run_id"].as_str().unwrap().to_owned()
}

/// Sends the alert to `server`; returns its answer.
async fn send_alert(http: &reqwest::Client, server: &Server) -> Value {
    send(http, server, &alert()).await
}

/// Sends Alertmanager payload `alert` to `server`; returns its answer.
async fn send(http: &reqwest::Client, server: &Server, alert: &Value) -> Value {
    http.post(format!("{}/hooks/alertmanager", server.url))
        .bearer_auth(AM_TOKEN)
        .json(alert)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The pending approval of `run_id`, read through `server` (any replica: the store is one).
async fn pending_of(http: &reqwest::Client, server: &Server, run_id: &str) -> Value {
    let v = wait_for(
        http,
        &format!("{}/api/approvals?state=pending", server.url),
        "the run's pending approval",
        |v| {
            v["approvals"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["run_id"] == run_id)
        },
    )
    .await;
    let all = v["approvals"].as_array().unwrap();
    all.iter().find(|a| a["run_id"] == run_id).unwrap().clone()
}

/// The executed calls of `tool` in the run's audit, read through `server`.
async fn executed(http: &reqwest::Client, server: &Server, run_id: &str, tool: &str) -> usize {
    let v = wait_for(
        http,
        &format!("{}/api/runs/{run_id}", server.url),
        "the run",
        |_| true,
    )
    .await;
    v["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tool"] == tool && c["executed"] == true)
        .count()
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
async fn the_owner_killed_the_approval_pressed_on_the_survivor_executes_once() {
    let Some(Pair {
        sim,
        http,
        mut a,
        b,
        _store: _kept,
    }) = Pair::start("failover").await
    else {
        return;
    };

    let run_id = fire(&http, &a).await;
    let approval = pending_of(&http, &b, &run_id).await;
    assert_eq!(approval["tool"], "kubectl.patch_hpa");
    let id = approval["id"].as_str().unwrap();

    a.child.start_kill().unwrap(); // SIGKILL: no lease released, nothing flushed
    a.child.wait().await.unwrap();
    assert_eq!(
        hpa_max(&sim),
        Some(json!(10)),
        "nothing changed before the approval"
    );

    let (status, body) = decide(&http, &b.url, id, "approve", "carol").await;
    assert_eq!(status, 200, "{body}");
    let resumed = body["resumed"].as_str().unwrap_or_default();
    assert!(resumed.contains("executed"), "{body}");
    assert_eq!(hpa_max(&sim), Some(json!(20)));
    assert_eq!(executed(&http, &b, &run_id, "kubectl.patch_hpa").await, 1);

    // Nothing lost: the alert's run, its timeline and the decision are all in the store, and
    // a second press decides nothing.
    let run = wait_for(
        &http,
        &format!("{}/api/runs/{run_id}", b.url),
        "the run",
        |_| true,
    )
    .await;
    assert_eq!(run["run"]["sop"], "pod-crashloop");
    assert!(
        run["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["message"]
                .as_str()
                .is_some_and(|m| m.contains("executed"))),
        "{run:#}"
    );
    let (again, body) = decide(&http, &b.url, id, "approve", "dave").await;
    assert_eq!(again, 409, "{body}");
    assert_eq!(executed(&http, &b, &run_id, "kubectl.patch_hpa").await, 1);
}

#[tokio::test]
async fn pressed_on_another_replica_the_run_that_asked_executes_it_once() {
    let Some(Pair {
        sim,
        http,
        a,
        b,
        _store: _kept,
    }) = Pair::start("handover").await
    else {
        return;
    };

    let run_id = fire(&http, &a).await;
    let id = pending_of(&http, &b, &run_id).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = decide(&http, &b.url, &id, "approve", "carol").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["resumed"]
            .as_str()
            .is_some_and(|r| r.contains("carried out by its run")),
        "{body}"
    );
    let done = wait_for(
        &http,
        &format!("{}/api/runs/{run_id}", a.url),
        "the run on a to finish",
        |v| v["run"]["status"] != "running",
    )
    .await;
    assert_ne!(done["run"]["status"], "failed", "{done:#}");
    assert_eq!(hpa_max(&sim), Some(json!(20)));
    assert_eq!(executed(&http, &a, &run_id, "kubectl.patch_hpa").await, 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(executed(&http, &b, &run_id, "kubectl.patch_hpa").await, 1);
}

#[tokio::test]
async fn a_repeat_on_another_replica_joins_the_run_the_first_started() {
    let Some(Pair {
        sim: _sim,
        http,
        a,
        b,
        _store: _kept,
    }) = Pair::start("dedup").await
    else {
        return;
    };

    let run_id = fire(&http, &a).await;
    let again = send_alert(&http, &b).await;
    assert_eq!(again, json!({"status": "joined", "run_id": run_id}));
    // The run's record is written once it leaves A's queue: wait for it, then for any other.
    let listed = |v: &Value| v["runs"].as_array().map_or(0, Vec::len);
    let url = format!("{}/api/runs", b.url);
    wait_for(&http, &url, "the run's record", |v| listed(v) > 0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let runs = wait_for(&http, &url, "the runs", |_| true).await;
    assert_eq!(
        listed(&runs),
        1,
        "one run for the alert and its repeat: {runs:#}"
    );
}

/// A model that raises the HPA's maximum within the policy's bounds (allowed, executed), then
/// thinks for ten minutes; carrying a run on (its system prompt says so) it tries the same
/// change again.
const SLOW_AFTER_A_CHANGE: &str = r#"
turns:
  - when: {contains: "Step 3: Restart", absent: "carries on run"}
    calls:
      - kubectl.patch_hpa: {namespace: payment, name: payment-service-hpa, max_replicas: 12}
  - when: {contains: "Step 3: Restart", absent: "carries on run"}
    pause_seconds: 600
    say: still thinking
  - when: {contains: ["Step 3: Restart", "carries on run"]}
    calls:
      - kubectl.patch_hpa: {namespace: payment, name: payment-service-hpa, max_replicas: 12}
"#;

/// Waits (through `server`) until run `first` executed its HPA change, after which its model
/// thinks for ten minutes.
async fn changed_then_thinking(http: &reqwest::Client, server: &Server, first: &str) {
    for _ in 0..120 {
        if executed(http, server, first, "kubectl.patch_hpa").await == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("run {first} never executed its HPA change");
}

/// Polls `server`'s run list until `ok` holds; panics after `secs`.
async fn runs_until(
    http: &reqwest::Client,
    server: &Server,
    secs: u64,
    ok: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut runs = Vec::new();
    for _ in 0..secs * 4 {
        let v = wait_for(http, &format!("{}/api/runs", server.url), "runs", |_| true).await;
        runs = v["runs"].as_array().unwrap().clone();
        if ok(&runs) {
            return runs;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("timed out after {secs} s waiting for the runs: {runs:#?}");
}

#[tokio::test]
async fn a_run_whose_replica_died_is_carried_on_without_repeating_its_change() {
    let Some(Pair {
        sim,
        http,
        mut a,
        b,
        _store: _kept,
    }) = Pair::start_with("takeover", Some(SLOW_AFTER_A_CHANGE), "").await
    else {
        return;
    };
    let first = fire(&http, &a).await;
    // A changed the HPA (allowed), then its model thinks: kill A there.
    changed_then_thinking(&http, &b, &first).await;
    assert_eq!(hpa_max(&sim), Some(json!(12)));
    a.child.start_kill().unwrap(); // SIGKILL: the lease is not released, it runs out
    a.child.wait().await.unwrap();

    // Within the lease (30 s) and a check (10 s), B carries the run on, and it finishes.
    let runs = runs_until(&http, &b, 150, |runs| {
        runs.iter()
            .any(|r| r["id"] != first.as_str() && r["status"] != "running")
    })
    .await;
    let next = runs.iter().find(|r| r["id"] != first.as_str()).unwrap();
    let next_id = next["id"].as_str().unwrap();
    assert_eq!(next["sop"], "pod-crashloop");
    let v = wait_for(
        &http,
        &format!("{}/api/runs/{first}", b.url),
        "the first run",
        |_| true,
    )
    .await;
    assert_eq!(v["run"]["status"], "interrupted", "{v:#}");
    assert!(
        v["run"]["reason"].as_str().unwrap().contains(next_id),
        "{v:#}"
    );

    // The continuation tried the same change; the gate refused it: executed once in all.
    let v = wait_for(
        &http,
        &format!("{}/api/runs/{next_id}", b.url),
        "the continuation",
        |_| true,
    )
    .await;
    let patches: Vec<&Value> = v["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tool"] == "kubectl.patch_hpa")
        .collect();
    assert_eq!(patches.len(), 1, "{v:#}");
    assert_eq!(
        patches[0]["rules"],
        json!(["builtin:already-executed"]),
        "{:#}",
        patches[0]
    );
    assert_eq!(patches[0]["executed"], false);
    assert_eq!(executed(&http, &b, next_id, "kubectl.patch_hpa").await, 0);
    assert_eq!(executed(&http, &b, &first, "kubectl.patch_hpa").await, 1);
    assert_eq!(hpa_max(&sim), Some(json!(12)));
}

/// Whether `server`'s log says it took `run_id` from the shared queue.
fn took(server: &Server, run_id: &str) -> bool {
    server
        .log
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("took a queued run") && l.contains(run_id))
}

/// Waits until run `run_id` (read through `server`) has events: it started somewhere.
async fn started(http: &reqwest::Client, server: &Server, run_id: &str) -> Value {
    wait_for(
        http,
        &format!("{}/api/runs/{run_id}", server.url),
        "the run's first events",
        |v| !v["events"].as_array().unwrap().is_empty(),
    )
    .await
}

#[tokio::test]
async fn an_alarm_a_busy_replica_accepts_is_run_by_an_idle_one() {
    let Some(Pair {
        http,
        a,
        b,
        _store: _kept,
        sim: _sim,
    }) = Pair::start_with(
        "handoff",
        Some(SLOW_AFTER_A_CHANGE),
        "  max_concurrent_runs: 1\n",
    )
    .await
    else {
        return;
    };
    // The first alert takes A's only slot: its model thinks for ten minutes.
    let first = fire(&http, &a).await;
    changed_then_thinking(&http, &b, &first).await;
    // A second one, sent to A too, waits in the shared queue; idle B takes it (B looks every
    // second) while A is still busy.
    let r = send(&http, &a, &alert_for("payment-service-7d8f9c6b5-q7w2z")).await;
    assert_eq!(r["status"], "started", "{r}");
    let second = r["run_id"].as_str().unwrap().to_owned();
    let v = started(&http, &a, &second).await;
    let b_pid = format!(":{}", b.child.id().unwrap());
    let holder = v["lease"]["replica"].as_str().unwrap_or_default();
    assert!(holder.ends_with(&b_pid), "B holds it: {v:#}");
    assert!(took(&b, &second), "B's log says it took it from the queue");
    assert!(!took(&a, &second));
    let v = wait_for(
        &http,
        &format!("{}/api/runs/{first}", b.url),
        "the first run",
        |_| true,
    )
    .await;
    let a_pid = format!(":{}", a.child.id().unwrap());
    let holder = v["lease"]["replica"].as_str().unwrap_or_default();
    assert!(holder.ends_with(&a_pid), "A still runs the first: {v:#}");
}

/// Each replica's run thinks for long (A's, pod x2k9p) or a moment (B's, pod q7w2z); a third
/// alert (pod m3n4b) finds no slot. Every run reads the namespace's events, which name the
/// simulator's crashlooping pod x2k9p: the long pause is kept from the others by `absent`.
const BUSY_EVERYWHERE: &str = r#"
turns:
  - when: {contains: ["Step 3: Restart", "q7w2z"]}
    pause_seconds: 15
    say: done thinking
  - when: {contains: ["Step 3: Restart", "x2k9p"], absent: ["carries on run", "q7w2z", "m3n4b"]}
    pause_seconds: 600
    say: still thinking
"#;

#[tokio::test]
async fn an_alarm_queued_while_every_replica_is_busy_outlives_the_replica_that_accepted_it() {
    let Some(Pair {
        http,
        mut a,
        b,
        _store: _kept,
        sim: _sim,
    }) = Pair::start_with(
        "queued",
        Some(BUSY_EVERYWHERE),
        "  max_concurrent_runs: 1\n",
    )
    .await
    else {
        return;
    };
    let first = fire(&http, &a).await;
    let second = send(&http, &b, &alert_for("payment-service-7d8f9c6b5-q7w2z")).await;
    let second = second["run_id"].as_str().unwrap().to_owned();
    started(&http, &b, &first).await;
    started(&http, &b, &second).await;
    // Both replicas are busy: the third alert, accepted by A, waits in the shared queue.
    let r = send(&http, &a, &alert_for("payment-service-7d8f9c6b5-m3n4b")).await;
    assert_eq!(r["status"], "started", "{r}");
    let third = r["run_id"].as_str().unwrap().to_owned();
    let v = wait_for(
        &http,
        &format!("{}/api/runs/{third}", b.url),
        "the queued run's record",
        |_| true,
    )
    .await;
    assert_eq!(v["run"]["status"], "running", "recorded at once: {v:#}");
    assert!(v["events"].as_array().unwrap().is_empty(), "queued: {v:#}");
    assert_eq!(v["lease"], Value::Null, "nobody's yet: {v:#}");

    a.child.start_kill().unwrap(); // SIGKILL
    a.child.wait().await.unwrap();

    // B's run ends, B takes the queued alarm and runs it to its end; A's own run is carried
    // on once its lease has run out. Nothing is lost.
    let runs = runs_until(&http, &b, 150, |runs| {
        let status = |id: &str| {
            runs.iter()
                .find(|r| r["id"] == id)
                .map(|r| r["status"].clone())
        };
        status(&third).is_some_and(|s| s != "running")
            && status(&first) == Some(json!("interrupted"))
    })
    .await;
    assert!(took(&b, &third), "B took the queued alarm from the queue");
    let row = |id: &str| runs.iter().find(|r| r["id"] == id).unwrap().clone();
    assert_ne!(row(&third)["status"], "interrupted", "{:#}", row(&third));
    let reason = row(&first)["reason"].as_str().unwrap().to_owned();
    assert!(
        runs.iter().any(|r| r["id"] != first.as_str()
            && r["id"] != second.as_str()
            && r["id"] != third.as_str()
            && reason.contains(r["id"].as_str().unwrap())),
        "A's run is carried on by a new run: {reason}"
    );
}
