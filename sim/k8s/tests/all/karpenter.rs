//! The simulated Karpenter (scenarios/karpenter-peak.yaml, with a 2-second node startup (timestamps
//! have whole seconds, so a node may turn Ready a second sooner) and
//! consolidation after 1 second): placeholders that fit no node become a NodeClaim on the
//! cheapest instance type that holds them, whose node turns Ready after the startup time; real
//! pods preempt placeholders; NodePool limits keep pods Pending with an event naming the limit;
//! empty nodes are consolidated. Driven with the real kubectl.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use sopilot_sim_k8s::RunningKube;

use crate::common::{kubectl, kubernetes, start};

async fn start_peak() -> RunningKube {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/karpenter-peak.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("node_startup: 10s") && text.contains("consolidateAfter: 5m"));
    let text = text
        .replace("node_startup: 10s", "node_startup: 2s")
        .replace("consolidateAfter: 5m", "consolidateAfter: 1s");
    start(kubernetes(&text)).await
}

async fn scale(sim: &RunningKube, namespace: &str, deployment: &str, replicas: u32) {
    kubectl(
        sim,
        &[
            "scale",
            "deployment",
            deployment,
            "-n",
            namespace,
            &format!("--replicas={replicas}"),
        ],
    )
    .await
    .out();
}

/// Waits past the node startup and lets the controllers run.
async fn after_startup(sim: &RunningKube) {
    tokio::time::sleep(Duration::from_millis(2100)).await;
    sim.kube().tick();
}

fn pods(sim: &RunningKube, namespace: &str, app: &str) -> Vec<Value> {
    sim.kube()
        .list("pods", Some(namespace))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == app)
        .collect()
}

fn phases(pods: &[Value]) -> Vec<&str> {
    pods.iter()
        .map(|p| p["status"]["phase"].as_str().unwrap_or(""))
        .collect()
}

fn condition<'a>(object: &'a Value, kind: &str) -> &'a str {
    object["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
        .and_then(|c| c["status"].as_str())
        .unwrap_or("")
}

fn events(sim: &RunningKube, namespace: &str, reason: &str) -> Vec<String> {
    sim.kube()
        .list("events", Some(namespace))
        .iter()
        .filter(|e| e["reason"] == reason)
        .filter_map(|e| e["message"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn placeholders_become_a_nodeclaim_whose_node_turns_ready_after_startup() {
    let sim = start_peak().await;
    scale(&sim, "scaling", "capacity-reservation", 7).await;
    let placeholders = pods(&sim, "scaling", "capacity-reservation");
    assert_eq!(
        phases(&placeholders),
        ["Pending"; 7],
        "the managed nodes have 900m left each"
    );
    let claims = sim.kube().list("nodeclaims", None);
    assert_eq!(claims.len(), 1, "{claims:#?}");
    let claim = &claims[0];
    assert_eq!(
        claim["metadata"]["labels"]["node.kubernetes.io/instance-type"], "c7i.2xlarge",
        "the cheapest type that holds 7 vCPU"
    );
    assert_eq!(
        claim["metadata"]["labels"]["karpenter.sh/nodepool"],
        "default"
    );
    assert_eq!(claim["spec"]["resources"]["requests"]["cpu"], "7");
    assert_eq!(condition(claim, "Launched"), "True");
    assert_eq!(condition(claim, "Ready"), "Unknown");
    assert!(claim["status"].get("nodeName").is_none());
    assert_eq!(events(&sim, "scaling", "Nominated").len(), 7);

    let table = kubectl(
        &sim,
        &["get", "nodepools,nodeclaims,ec2nodeclasses,priorityclasses"],
    )
    .await;
    for name in [
        "nodepool.karpenter.sh/default",
        "ec2nodeclass.karpenter.k8s.aws/default",
        "priorityclass.scheduling.k8s.io/capacity-reservation",
    ] {
        assert!(table.out().contains(name), "{}", table.out());
    }
    let pool = kubectl(&sim, &["get", "nodepool", "default", "-o", "json"])
        .await
        .json();
    assert_eq!(pool["status"]["resources"]["cpu"], "8");
    assert_eq!(pool["status"]["resources"]["nodes"], "1");

    after_startup(&sim).await;
    let claim = sim
        .kube()
        .get(
            "nodeclaims",
            None,
            claim["metadata"]["name"].as_str().unwrap(),
        )
        .unwrap();
    assert_eq!(condition(&claim, "Ready"), "True", "{claim:#}");
    let node_name = claim["status"]["nodeName"].as_str().unwrap();
    let node = sim.kube().get("nodes", None, node_name).unwrap();
    assert_eq!(condition(&node, "Ready"), "True");
    assert_eq!(
        node["metadata"]["labels"]["karpenter.sh/nodepool"],
        "default"
    );
    let placeholders = pods(&sim, "scaling", "capacity-reservation");
    assert_eq!(phases(&placeholders), ["Running"; 7]);
    assert!(
        placeholders
            .iter()
            .all(|p| p["spec"]["nodeName"] == node_name)
    );
    let claims = kubectl(&sim, &["get", "nodeclaims"]).await;
    let rows = crate::common::rows(claims.out());
    assert_eq!(
        rows[0],
        ["NAME", "TYPE", "CAPACITY", "ZONE", "NODE", "READY", "AGE"]
    );
    assert_eq!(
        rows[1][1..6],
        ["c7i.2xlarge", "on-demand", "us-east-1a", node_name, "True"]
    );
    let pools = kubectl(&sim, &["get", "nodepools", "-o", "wide"]).await;
    let rows = crate::common::rows(pools.out());
    assert_eq!(
        rows[0],
        [
            "NAME",
            "NODECLASS",
            "NODES",
            "READY",
            "AGE",
            "WEIGHT",
            "CPU",
            "MEMORY"
        ]
    );
    assert_eq!(rows[1][..4], ["default", "default", "1", "True"]);
    let classes = kubectl(&sim, &["get", "priorityclass", "capacity-reservation"]).await;
    assert_eq!(
        crate::common::rows(classes.out())[1][1..3],
        ["-10", "false"]
    );
}

#[tokio::test]
async fn real_pods_preempt_placeholders_which_get_a_new_nodeclaim() {
    let sim = start_peak().await;
    scale(&sim, "scaling", "capacity-reservation", 7).await;
    after_startup(&sim).await;
    scale(&sim, "shop", "checkout", 9).await;
    let checkout = pods(&sim, "shop", "checkout");
    assert_eq!(
        phases(&checkout),
        ["Running"; 9],
        "the reserved node takes checkout at once"
    );
    let preempted = events(&sim, "scaling", "Preempted");
    assert_eq!(
        preempted.len(),
        4,
        "one placeholder made room for each new checkout pod: {preempted:?}"
    );
    let placeholders = pods(&sim, "scaling", "capacity-reservation");
    assert_eq!(
        placeholders.len(),
        7,
        "the Deployment replaced the preempted placeholders"
    );
    assert_eq!(
        phases(&placeholders)
            .iter()
            .filter(|p| **p == "Pending")
            .count(),
        4
    );
    assert!(
        preempted.iter().all(|m| m.starts_with("Preempted by pod ")),
        "{preempted:?}"
    );
    assert_eq!(
        sim.kube().list("nodeclaims", None).len(),
        2,
        "a second NodeClaim for the displaced placeholders"
    );
}

#[tokio::test]
async fn nodepool_limits_keep_pods_pending_with_an_event_naming_the_limit() {
    let sim = start_peak().await;
    scale(&sim, "scaling", "capacity-reservation", 27).await;
    let claims = sim.kube().list("nodeclaims", None);
    let cpu: i64 = claims
        .iter()
        .map(|c| {
            c["status"]["capacity"]["cpu"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(
        cpu, 24,
        "three 8-vCPU nodes fill the NodePool's 24 vCPU: {claims:#?}"
    );
    let limited = events(&sim, "scaling", "FailedScheduling");
    let by_karpenter: Vec<&String> = limited
        .iter()
        .filter(|m| m.contains("exceed limits"))
        .collect();
    assert_eq!(by_karpenter.len(), 27 - 21, "{limited:#?}");
    assert!(
        by_karpenter[0].contains(r#"nodepool: "default""#)
            && by_karpenter[0].contains("limits cpu 24, memory 96Gi"),
        "{}",
        by_karpenter[0]
    );
    after_startup(&sim).await;
    let placeholders = pods(&sim, "scaling", "capacity-reservation");
    assert_eq!(
        phases(&placeholders)
            .iter()
            .filter(|p| **p == "Running")
            .count(),
        21
    );
}

#[tokio::test]
async fn empty_nodes_are_consolidated_after_consolidate_after() {
    let sim = start_peak().await;
    scale(&sim, "scaling", "capacity-reservation", 7).await;
    after_startup(&sim).await;
    assert_eq!(sim.kube().list("nodes", None).len(), 3);
    scale(&sim, "scaling", "capacity-reservation", 0).await;
    let claim = &sim.kube().list("nodeclaims", None)[0];
    assert_eq!(condition(claim, "Consolidatable"), "True");
    after_startup(&sim).await;
    assert!(
        sim.kube().list("nodeclaims", None).is_empty(),
        "{:#}",
        sim.kube().list("nodeclaims", None)[0]
    );
    assert_eq!(
        sim.kube().list("nodes", None).len(),
        2,
        "only the managed nodes are left"
    );
    let disrupted: Vec<Value> = sim
        .kube()
        .list("events", Some("default"))
        .into_iter()
        .filter(|e| e["reason"] == "DisruptionTerminating")
        .collect();
    assert_eq!(disrupted.len(), 1, "{disrupted:#?}");
}
