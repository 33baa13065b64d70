//! `recent_changes` against the simulator: the demo incident's env change, ConfigMap and HPA
//! changes read from managed fields, StatefulSet revisions, nodes, and the bounds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Harness, repo, sim_of};
use serde_json::{Value, json};

async fn demo() -> Harness {
    Harness::start_with(sim_of(&repo().join("scenarios/demo.yaml")).await, true).await
}

/// The timeline's lines about `object`.
fn lines_of<'a>(r: &'a Value, object: &str) -> Vec<&'a Value> {
    r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["object"] == object)
        .collect()
}

/// The DONE criterion of "what changed": on the demo incident the tool names the env var
/// whose change in the latest rollout caused it, and never its value.
#[tokio::test]
async fn the_demo_incident_is_explained_by_the_env_change_of_the_latest_rollout() {
    let h = demo().await;
    let r = h
        .ok("recent_changes", json!({"namespace": "payment"}))
        .await;
    println!("{}", r.text);
    let rollouts: Vec<&Value> = lines_of(&r.structured, "Deployment/payment-service")
        .into_iter()
        .filter(|c| c["kind"] == "rollout")
        .collect();
    assert_eq!(
        rollouts.len(),
        1,
        "only revision 15 is within 2 h: {}",
        r.text
    );
    let s = rollouts[0]["summary"].as_str().unwrap();
    assert!(s.starts_with("rollout: revision 14 -> 15"), "{s}");
    assert!(
        s.contains("container payment: env DB_POOL_MAX_SIZE changed"),
        "{s}"
    );
    assert!(s.contains("limits.memory 1Gi -> 512Mi"), "{s}");
    // Values never appear: neither the pool sizes' env values nor JAVA_OPTS'.
    assert!(
        !r.text.contains("-Xmx768m") && !r.text.contains("-Xmx480m"),
        "{}",
        r.text
    );
    assert!(!s.contains("\"50\"") && !s.contains("=50"), "{s}");
    // The text line carries the time and the object.
    let line = r
        .text
        .lines()
        .find(|l| l.contains("DB_POOL_MAX_SIZE changed"))
        .unwrap();
    assert!(
        line.contains("Deployment/payment-service") && line.contains("ago)"),
        "{line}"
    );
    // One timeline, oldest first: the node's memory-pressure taint (25 min ago), then the
    // rollout (10 min ago), then the newest warnings.
    let times: Vec<&str> = r.structured["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["time"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|p| p[0] <= p[1]), "{times:?}");
    let taint = lines_of(&r.structured, "Node/ip-10-0-1-45");
    assert!(
        taint.iter().any(|c| c["summary"]
            .as_str()
            .unwrap()
            .contains("taint node.kubernetes.io/memory-pressure:NoSchedule added")),
        "{}",
        r.text
    );
    assert!(taint[0]["time"].as_str().unwrap() < rollouts[0]["time"].as_str().unwrap());
    assert!(
        r.structured["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "warning" && c["object"] == "Pod/order-service-85d6c9f7b4-jx4wd"),
        "{}",
        r.text
    );
    assert!(r.text.len() < 8 * 1024, "{}", r.text.len());

    // Focused on the crashing pod's workload: the same rollout, nothing of order-service.
    let pod = h
        .ok(
            "recent_changes",
            json!({"namespace": "payment", "workload": "pod/payment-service-7d8f9c6b5-x2k9p"}),
        )
        .await;
    println!("{}", pod.text);
    assert!(
        pod.text.contains("env DB_POOL_MAX_SIZE changed"),
        "{}",
        pod.text
    );
    assert!(!pod.text.contains("order-service"), "{}", pod.text);
    assert_eq!(
        pod.structured["workloads"],
        json!(["Deployment/payment-service"])
    );
}

#[tokio::test]
async fn changes_made_through_the_api_appear_with_who_made_them() {
    let h = demo().await;
    h.ok(
        "patch_hpa",
        json!({"namespace": "payment", "name": "payment-service-hpa", "max_replicas": 12}),
    )
    .await;
    h.ok(
        "scale",
        json!({"kind": "Deployment", "namespace": "payment", "name": "order-service", "replicas": 3}),
    )
    .await;
    h.ok("cordon", json!({"node": "ip-10-0-3-12"})).await;
    let r = h
        .ok(
            "recent_changes",
            json!({"namespace": "payment", "since_minutes": 30}),
        )
        .await;
    println!("{}", r.text);
    let hpa = lines_of(&r.structured, "HorizontalPodAutoscaler/payment-service-hpa");
    assert!(
        hpa.iter().any(|c| {
            let s = c["summary"].as_str().unwrap();
            s.contains("maxReplicas written by") && s.contains("now min 2 max 12")
        }),
        "{}",
        r.text
    );
    let order = lines_of(&r.structured, "Deployment/order-service");
    assert!(
        order.iter().any(|c| c["summary"]
            .as_str()
            .unwrap()
            .starts_with("replicas written by")
            && c["summary"].as_str().unwrap().contains("(now 3)")),
        "{}",
        r.text
    );
    let node = lines_of(&r.structured, "Node/ip-10-0-3-12");
    assert!(
        node.iter()
            .any(|c| c["summary"].as_str().unwrap().starts_with("cordoned")),
        "{}",
        r.text
    );
    // Nothing of the 6-day-old revision 14 within 30 minutes, and the window is said.
    assert!(!r.text.contains("revision 13 -> 14"), "{}", r.text);
    assert!(r.text.contains("over the last 30m"), "{}", r.text);
}

#[tokio::test]
async fn config_maps_statefulsets_and_new_nodes_from_their_history() {
    let h = Harness::start_with(sim_of(&common::own_scenario("changes")).await, false).await;
    let r = h.ok("recent_changes", json!({"namespace": "shop"})).await;
    println!("{}", r.text);
    let cm = lines_of(&r.structured, "ConfigMap/cart-config");
    assert_eq!(cm.len(), 1, "{}", r.text);
    let s = cm[0]["summary"].as_str().unwrap();
    assert!(
        s.contains(
            "keys REDIS_POOL written by kubectl-edit (values not shown) (used by Deployment/cart)"
        ),
        "{s}"
    );
    assert!(!r.text.contains("s3cr3t-pool-value"), "{}", r.text);
    let sts = lines_of(&r.structured, "StatefulSet/redis");
    assert!(
        sts.iter().any(|c| {
            let s = c["summary"].as_str().unwrap();
            s.contains("revision 1 -> 2") && s.contains("image redis:7.2 -> redis:7.4")
        }),
        "{}",
        r.text
    );
    assert!(
        lines_of(&r.structured, "Node/ip-10-0-9-9")
            .iter()
            .any(|c| c["summary"]
                .as_str()
                .unwrap()
                .contains("node joined (zone us-east-1c")),
        "{}",
        r.text
    );
    assert!(
        lines_of(&r.structured, "Node/ip-10-0-9-8")
            .iter()
            .any(|c| c["summary"].as_str().unwrap().contains("RemovingNode")),
        "{}",
        r.text
    );
    // The unused ConfigMap is left out when focused on the workload.
    let focused = h
        .ok(
            "recent_changes",
            json!({"namespace": "shop", "workload": "deploy/cart"}),
        )
        .await;
    assert!(
        focused.text.contains("ConfigMap/cart-config"),
        "{}",
        focused.text
    );
    assert!(
        !focused.text.contains("ConfigMap/unused"),
        "{}",
        focused.text
    );
    assert!(r.text.contains("ConfigMap/unused"), "{}", r.text);
    // A pod no workload owns is its own scope: its warnings, and the nodes.
    let bare = h
        .ok(
            "recent_changes",
            json!({"namespace": "shop", "workload": "pod/debug-shell"}),
        )
        .await;
    println!("{}", bare.text);
    assert_eq!(bare.structured["workloads"], json!(["Pod/debug-shell"]));
    assert!(bare.text.contains("Warning BackOff x4"), "{}", bare.text);
    assert!(
        !bare.text.contains("ConfigMap/") && !bare.text.contains("StatefulSet/"),
        "{}",
        bare.text
    );
}

#[tokio::test]
async fn bad_arguments_say_how_to_fix_them() {
    let h = demo().await;
    let e = h
        .fails(
            "recent_changes",
            json!({"namespace": "payment", "since_minutes": 0}),
        )
        .await;
    assert!(e.contains("since_minutes 0") && e.contains("10080"), "{e}");
    let e = h
        .fails(
            "recent_changes",
            json!({"namespace": "payment", "workload": "nope"}),
        )
        .await;
    assert!(
        e.contains("\"nope\" not found") && e.contains("get_resource"),
        "{e}"
    );
    let e = h
        .fails("recent_changes", json!({"namespace": "paymnet"}))
        .await;
    assert!(e.contains("payment"), "existing namespaces listed: {e}");
    let e = h
        .fails(
            "recent_changes",
            json!({"namespace": "payment", "workload": "svc/payment-service"}),
        )
        .await;
    assert!(e.contains("not supported"), "{e}");
}
