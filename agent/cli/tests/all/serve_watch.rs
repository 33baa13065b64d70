//! The Kubernetes event trigger of `sopilot serve` against the simulator's watch: a recent
//! BackOff Event starts pod-crashloop (its escalation approved through the API executes),
//! more events for the same pod and reason start nothing more, and the watcher resumes
//! after the API goes away.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use sopilot_sim_env::{RunningSim, Scenario, SimOptions};
use support::{decide, http, pending_approval, repo, start_server, wait_for};

const POD: &str = "payment-service-7d8f9c6b5-x2k9p";

async fn sim_at(options: SimOptions) -> RunningSim {
    let scenario =
        Scenario::from_file(repo().join("tests/scenarios/payment-incident.yaml")).unwrap();
    sopilot_sim_env::start(scenario, options).await.unwrap()
}

fn backoff(name: &str, pod: &str, count: u32) -> Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": "payment"},
        "involvedObject": {"kind": "Pod", "namespace": "payment", "name": pod},
        "reason": "BackOff", "type": "Warning", "count": count,
        "message": "Back-off restarting failed container payment in pod",
        "firstTimestamp": now, "lastTimestamp": now,
        "source": {"component": "kubelet"}})
}

async fn wait_watching(sim: &RunningSim) {
    for _ in 0..300 {
        if sim.kube().open_watches() > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the watcher never opened a watch");
}

async fn runs(http: &reqwest::Client, url: &str) -> Vec<Value> {
    let v = wait_for(http, &format!("{url}/api/runs"), "runs", |_| true).await;
    v["runs"].as_array().unwrap().clone()
}

#[tokio::test]
async fn warning_events_start_runs_once_and_the_watch_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let options = SimOptions {
        kubeconfig_path: Some(dir.path().join("kubeconfig")),
        ..SimOptions::default()
    };
    let sim = sim_at(options.clone()).await;
    let server = start_server(
        &sim,
        dir.path(),
        // The reasons this test is about: the scenario's FailedScheduling event would start
        // the pod-pending SOP besides.
        "  kubernetes_events: {namespaces: [payment], reasons: [BackOff, OOMKilled], dedup_window: 10m}\n",
    )
    .await;
    let http = http();
    wait_watching(&sim).await;
    // The scenario's kubelet BackOff event for the crash-looping pod is recent: the initial
    // list starts pod-crashloop for it.
    let started = wait_for(&http, &format!("{}/api/runs", server.url), "a run", |v| {
        !v["runs"].as_array().unwrap().is_empty()
    })
    .await;
    let run = &started["runs"][0];
    assert_eq!(run["sop"], "pod-crashloop", "{run}");
    let run_id = run["id"].as_str().unwrap().to_owned();

    // More BackOff events for the same pod start nothing more.
    sim.kube().apply(backoff("crash.1", POD, 6)).unwrap();
    sim.kube().apply(backoff("crash.2", POD, 7)).unwrap();

    // The escalation is approved through the API and executes.
    let pending = pending_approval(&http, &server.url).await;
    let id = pending["id"].as_str().unwrap();
    assert_eq!(
        decide(&http, &server.url, id, "approve", "alice").await.0,
        200
    );
    wait_for(
        &http,
        &format!("{}/api/runs/{run_id}", server.url),
        "the run to finish",
        |v| v["run"]["status"] != "running",
    )
    .await;
    assert_eq!(
        sim.get(
            "HorizontalPodAutoscaler",
            Some("payment"),
            "payment-service-hpa"
        )
        .unwrap()
        .pointer("/spec/maxReplicas"),
        Some(&json!(20))
    );
    assert_eq!(runs(&http, &server.url).await.len(), 1);

    // The API goes away and comes back at the same address: the watcher resumes, its
    // re-list of the same BackOff event starts nothing, a new OOMKilled event does.
    let addr = sim.kubernetes_addr();
    sim.shutdown().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sim = sim_at(SimOptions {
        kubernetes_addr: addr,
        ..options
    })
    .await;
    wait_watching(&sim).await;
    let mut oom = backoff("oom.1", "payment-service-7d8f9c6b5-4mzvq", 1);
    oom["reason"] = json!("OOMKilled");
    sim.kube().apply(oom).unwrap();
    let after = wait_for(
        &http,
        &format!("{}/api/runs", server.url),
        "a second run",
        |v| v["runs"].as_array().unwrap().len() == 2,
    )
    .await;
    assert!(
        after["runs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["sop"] == "oom-killed"),
        "{after}"
    );
    drop(server);
}
