//! `kubectl cordon/uncordon/drain`: evictions that respect PodDisruptionBudgets (a blocked
//! drain times out), and drains without eviction (protobuf delete options).

use serde_json::Value;

use super::payment_pods;
use crate::common::*;

#[tokio::test]
async fn cordon_and_uncordon() {
    let sim = start_payment().await;
    assert_eq!(
        kubectl(&sim, &["cordon", "ip-10-0-3-12"])
            .await
            .out()
            .trim(),
        "node/ip-10-0-3-12 cordoned"
    );
    assert_eq!(
        sim.get("node", None, "ip-10-0-3-12").unwrap()["spec"]["unschedulable"],
        true
    );
    let nodes = kubectl(&sim, &["get", "nodes"]).await;
    let row = rows(nodes.out())
        .into_iter()
        .find(|r| r[0] == "ip-10-0-3-12")
        .unwrap();
    assert_eq!(row[1], "Ready,SchedulingDisabled");
    let events = kubectl(
        &sim,
        &["events", "--for", "node/ip-10-0-3-12", "-n", "default"],
    )
    .await;
    assert!(
        events.out().contains("NodeNotSchedulable"),
        "{}",
        events.out()
    );
    assert_eq!(
        kubectl(&sim, &["uncordon", "ip-10-0-3-12"])
            .await
            .out()
            .trim(),
        "node/ip-10-0-3-12 uncordoned"
    );
    assert_ne!(
        sim.get("node", None, "ip-10-0-3-12").unwrap()["spec"]["unschedulable"],
        true
    );
}

#[tokio::test]
async fn drain_evicts_and_the_pods_come_back_elsewhere() {
    let sim = start_payment().await;
    let out = kubectl(
        &sim,
        &[
            "drain",
            "ip-10-0-1-45",
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            "--timeout=60s",
        ],
    )
    .await;
    let text = out.out();
    assert!(text.contains(&format!("pod/{CRASH_POD} evicted")), "{text}");
    assert!(
        text.contains("pod/payment-service-7d8f9c6b5-4mzvq evicted"),
        "{text}"
    );
    assert!(text.contains("node/ip-10-0-1-45 drained"), "{text}");
    let left: Vec<Value> = sim
        .kube()
        .list("pods", None)
        .into_iter()
        .filter(|p| p["spec"]["nodeName"] == "ip-10-0-1-45")
        .collect();
    assert_eq!(left.len(), 1);
    assert!(
        left[0]["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("aws-node-"),
        "daemon pods stay"
    );
    let pods = payment_pods(&sim);
    assert_eq!(pods.len(), 5);
    assert!(
        pods.iter()
            .all(|p| p["status"]["phase"] == "Running" && p["spec"]["nodeName"] != "ip-10-0-1-45")
    );
    assert_eq!(
        sim.get("node", None, "ip-10-0-1-45").unwrap()["spec"]["unschedulable"],
        true
    );
}

#[tokio::test]
async fn drain_blocked_by_a_pdb_fails_after_its_timeout() {
    let sim = start_payment().await;
    // Three replicas against minAvailable 3: no disruption is allowed.
    kubectl(
        &sim,
        &[
            "scale",
            "deployment",
            "payment-service",
            "-n",
            "payment",
            "--replicas=3",
        ],
    )
    .await
    .out();
    assert_eq!(
        sim.get("pdb", Some("payment"), "payment-pdb").unwrap()["status"]["disruptionsAllowed"],
        0
    );
    let victim = payment_pods(&sim)
        .into_iter()
        .find(|p| p["spec"]["nodeName"] == "ip-10-0-2-78")
        .expect("a payment pod on ip-10-0-2-78");
    let name = victim["metadata"]["name"].as_str().unwrap().to_owned();
    let out = kubectl(
        &sim,
        &[
            "drain",
            "ip-10-0-2-78",
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            "--timeout=3s",
        ],
    )
    .await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains(&format!(
            "error when evicting pods/\"{name}\" -n \"payment\""
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("Cannot evict pod as it would violate the pod's disruption budget"),
        "{}",
        out.stderr
    );
    let still = sim
        .get("pod", Some("payment"), &name)
        .expect("the protected pod is still there");
    assert_eq!(still["metadata"]["uid"], victim["metadata"]["uid"]);
    assert_eq!(
        sim.get("node", None, "ip-10-0-2-78").unwrap()["spec"]["unschedulable"],
        true
    );
}

#[tokio::test]
async fn drain_without_eviction_deletes_with_protobuf_options() {
    let sim = start_payment().await;
    let out = kubectl(
        &sim,
        &[
            "drain",
            "ip-10-0-3-12",
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            "--disable-eviction",
            "--timeout=30s",
        ],
    )
    .await;
    assert!(
        out.out().contains("node/ip-10-0-3-12 drained"),
        "{}",
        out.stdout
    );
    let left: Vec<String> = sim
        .kube()
        .list("pods", None)
        .into_iter()
        .filter(|p| p["spec"]["nodeName"] == "ip-10-0-3-12")
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with("aws-node-"));
}
