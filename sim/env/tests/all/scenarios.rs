//! Loading scenarios and changing the world in process: what a scenario may leave out,
//! crash modes, scheduling, and the errors `start` gives for a bad scenario.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use serde_json::json;
use sopilot_sim_env::{Scenario, SimError, SimOptions};

const SMALL: &str = r#"
kubernetes:
  objects:
    - apiVersion: v1
      kind: Node
      metadata: {name: n1, creationTimestamp: -2d}
      status:
        conditions: [{type: Ready, status: "True"}]
        addresses: [{type: InternalIP, address: 10.1.0.5}]
    - apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web, namespace: shop, creationTimestamp: -1h}
      spec:
        replicas: 2
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec: {containers: [{name: web, image: "web:1"}]}
"#;

#[tokio::test]
async fn a_minimal_scenario_is_completed() {
    let sim = start_yaml(SMALL).await;
    assert!(
        sim.get("ns", None, "shop").is_some(),
        "namespaces are created"
    );
    let rs = sim.kube().list("rs", Some("shop"));
    assert_eq!(rs.len(), 1, "the deployment got its ReplicaSet");
    assert_eq!(
        rs[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let pods = sim.kube().list("pods", Some("shop"));
    assert_eq!(pods.len(), 2);
    let deploy = sim.get("deploy", Some("shop"), "web").unwrap();
    for pod in &pods {
        assert_eq!(pod["spec"]["nodeName"], "n1");
        assert!(
            pod["status"]["podIP"]
                .as_str()
                .unwrap()
                .starts_with("10.1.0.")
        );
        // Pods made while loading are as old as their owner's ReplicaSet, not brand new.
        assert_eq!(
            pod["metadata"]["creationTimestamp"],
            rs[0]["metadata"]["creationTimestamp"]
        );
    }
    assert_eq!(deploy["status"]["readyReplicas"], 2);
    let created = chrono::DateTime::parse_from_rfc3339(
        deploy["metadata"]["creationTimestamp"].as_str().unwrap(),
    )
    .unwrap();
    let age = sim.kube().started_at() - created.with_timezone(&chrono::Utc);
    assert_eq!(age.num_minutes(), 60, "-1h is relative to the start");
    // Loading records no events: a scenario is a steady state.
    assert!(sim.kube().list("events", None).is_empty());
}

#[tokio::test]
async fn crash_modes_from_the_template() {
    let sim = start_yaml(SMALL).await;
    for (mode, waiting, last, phase) in [
        (
            "OOMKilled",
            "CrashLoopBackOff",
            Some("OOMKilled"),
            "Running",
        ),
        (
            "CrashLoopBackOff",
            "CrashLoopBackOff",
            Some("Error"),
            "Running",
        ),
        ("ImagePullBackOff", "ImagePullBackOff", None, "Pending"),
    ] {
        let mut deploy = sim.get("deploy", Some("shop"), "web").unwrap();
        deploy["spec"]["template"]["metadata"]["annotations"] =
            json!({"sim.sopilot.dev/crash": mode});
        deploy.as_object_mut().unwrap().remove("status");
        sim.kube().apply(deploy).unwrap();
        let pods = sim.kube().list("pods", Some("shop"));
        assert_eq!(pods.len(), 2, "{mode}");
        for pod in pods {
            let status = &pod["status"]["containerStatuses"][0];
            assert_eq!(status["state"]["waiting"]["reason"], waiting, "{mode}");
            assert_eq!(
                status["lastState"]["terminated"]["reason"].as_str(),
                last,
                "{mode}"
            );
            assert_eq!(pod["status"]["phase"], phase, "{mode}");
            assert_eq!(status["ready"], false);
        }
        let deploy = sim.get("deploy", Some("shop"), "web").unwrap();
        assert!(
            deploy["status"].get("availableReplicas").is_none(),
            "{mode}"
        );
    }
    let backoffs = sim
        .kube()
        .list("events", Some("shop"))
        .into_iter()
        .filter(|e| e["reason"] == "BackOff")
        .count();
    assert!(backoffs >= 4);
}

#[tokio::test]
async fn pods_wait_for_a_node_and_get_one_after_an_uncordon() {
    let sim = start_yaml(SMALL).await;
    let mut node = sim.get("node", None, "n1").unwrap();
    node["spec"] = json!({"unschedulable": true});
    sim.kube().apply(node).unwrap();
    let mut deploy = sim.get("deploy", Some("shop"), "web").unwrap();
    deploy["spec"]["replicas"] = json!(3);
    sim.kube().apply(deploy).unwrap();
    let pending: Vec<_> = sim
        .kube()
        .list("pods", Some("shop"))
        .into_iter()
        .filter(|p| p["status"]["phase"] == "Pending")
        .collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0]["status"]["conditions"][0]["reason"],
        "Unschedulable"
    );
    let failed = sim
        .kube()
        .list("events", Some("shop"))
        .into_iter()
        .find(|e| e["reason"] == "FailedScheduling")
        .unwrap();
    assert_eq!(
        failed["message"],
        "0/1 nodes are available: 1 node(s) were unschedulable."
    );
    let mut node = sim.get("node", None, "n1").unwrap();
    node["spec"] = json!({"unschedulable": false});
    sim.kube().apply(node).unwrap();
    let name = pending[0]["metadata"]["name"].as_str().unwrap();
    let placed = sim.get("pod", Some("shop"), name).unwrap();
    assert_eq!(placed["spec"]["nodeName"], "n1");
    assert_eq!(placed["status"]["phase"], "Running");
}

#[tokio::test]
async fn the_payment_scenario_tells_its_story() {
    let sim = start_payment().await;
    let crash = sim.get("pod", Some("payment"), CRASH_POD).unwrap();
    assert_eq!(crash["status"]["containerStatuses"][0]["restartCount"], 7);
    assert_eq!(
        crash["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap()["status"],
        "False"
    );
    let pdb = sim.get("pdb", Some("payment"), "payment-pdb").unwrap();
    assert_eq!(
        (
            pdb["status"]["currentHealthy"].as_i64(),
            pdb["status"]["disruptionsAllowed"].as_i64()
        ),
        (Some(4), Some(1))
    );
    let revisions: Vec<String> = sim
        .kube()
        .list("rs", Some("payment"))
        .iter()
        .filter(|rs| {
            rs["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("payment-service-")
        })
        .map(|rs| {
            rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(revisions.len(), 3);
    let postgres_nodes: Vec<String> = (0..3)
        .map(|i| {
            sim.get("pod", Some("payment"), &format!("postgres-{i}"))
                .unwrap()["spec"]["nodeName"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        !postgres_nodes.contains(&"ip-10-0-1-45".to_owned()),
        "the pressured node's taint keeps the database off it"
    );
    assert!(sim.get("pvc", Some("payment"), "data-postgres-2").is_some());
    let pending = sim
        .get("pod", Some("payment"), "fraud-detector-5c7b9d6f8-vq7zl")
        .unwrap();
    assert_eq!(
        pending["status"]["phase"], "Pending",
        "a scenario's Pending pod stays Pending"
    );
    assert_eq!(
        sim.kube().list("pods", Some("kube-system")).len(),
        3,
        "one aws-node pod per node"
    );
    let netpol = sim
        .get("netpol", Some("payment"), "database-access-policy")
        .unwrap();
    assert_eq!(
        netpol["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["app"],
        "order-service"
    );
    assert!(sim.scenario().description.is_some());
}

#[tokio::test]
async fn start_refuses_a_scenario_with_a_missing_owner_and_names_the_line() {
    let yaml = "kubernetes:\n  objects:\n    - apiVersion: v1\n      kind: Pod\n      metadata:\n        name: p\n        ownerReferences: [{kind: ReplicaSet, name: ghost}]\n      spec: {containers: [{name: c, image: i}]}\n";
    let scenario = Scenario::from_yaml(yaml).unwrap();
    match sopilot_sim_env::start(scenario, SimOptions::default()).await {
        Err(SimError::Scenario { line, message }) => {
            assert_eq!(line, 3);
            assert!(message.contains("ghost"), "{message}");
        }
        other => panic!("expected a scenario error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_kubeconfig_goes_where_asked_and_shutdown_is_graceful() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    let options = SimOptions {
        kubeconfig_path: Some(path.clone()),
        ..SimOptions::default()
    };
    let sim = sopilot_sim_env::start(Scenario::default(), options)
        .await
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&format!("server: {}", sim.kubernetes_url())));
    let addr = sim.kubernetes_addr();
    // An open watch must not hold up the shutdown.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request =
        format!("GET /api/v1/namespaces/default/pods?watch=true HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_exact(&mut head),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    tokio::time::timeout(std::time::Duration::from_secs(10), sim.shutdown())
        .await
        .expect("shutdown finished");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}
