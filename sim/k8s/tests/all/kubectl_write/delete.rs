//! `kubectl delete pod`: a Deployment's pod comes back under a new name, a StatefulSet's
//! under its own (with its claim); `kubectl get -w` prints the deletion and the replacement.

use serde_json::Value;

use super::payment_pods;
use crate::common::*;

#[tokio::test]
async fn a_deleted_pod_comes_back_under_a_new_name() {
    let sim = start_payment().await;
    let before = pod_names(&sim, "payment");
    let out = kubectl(&sim, &["delete", "pod", CRASH_POD, "-n", "payment"]).await;
    assert_eq!(out.out().trim(), format!("pod \"{CRASH_POD}\" deleted"));
    assert!(sim.get("pod", Some("payment"), CRASH_POD).is_none());
    let pods = payment_pods(&sim);
    assert_eq!(pods.len(), 5);
    let fresh: Vec<&Value> = pods
        .iter()
        .filter(|p| !before.contains(&p["metadata"]["name"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(fresh.len(), 1);
    let pod = fresh[0];
    assert!(
        pod["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("payment-service-7d8f9c6b5-")
    );
    assert_eq!(pod["status"]["phase"], "Running");
    assert_eq!(pod["status"]["containerStatuses"][0]["restartCount"], 0);
    assert_eq!(pod["status"]["containerStatuses"][0]["ready"], true);
    assert_ne!(
        pod["spec"]["nodeName"], "ip-10-0-1-45",
        "the memory-pressure taint keeps new pods away"
    );
    let deploy = sim
        .get("deploy", Some("payment"), "payment-service")
        .unwrap();
    assert_eq!(deploy["status"]["readyReplicas"], 5);
    let pdb = sim.get("pdb", Some("payment"), "payment-pdb").unwrap();
    assert_eq!(pdb["status"]["currentHealthy"], 5);
    assert_eq!(pdb["status"]["disruptionsAllowed"], 2);

    let events = kubectl(
        &sim,
        &[
            "get",
            "events",
            "-n",
            "payment",
            "--field-selector",
            "involvedObject.name=payment-service-7d8f9c6b5",
        ],
    )
    .await;
    let created = format!("Created pod: {}", pod["metadata"]["name"].as_str().unwrap());
    assert!(events.out().contains(&created), "{}", events.out());
    let killing = kubectl(
        &sim,
        &[
            "get",
            "events",
            "-n",
            "payment",
            "--field-selector",
            &format!("involvedObject.name={CRASH_POD},reason=Killing"),
        ],
    )
    .await;
    assert!(
        killing.out().contains("Stopping container payment"),
        "{}",
        killing.out()
    );
}

#[tokio::test]
async fn a_deleted_statefulset_pod_comes_back_under_its_name() {
    let sim = start_payment().await;
    let old_uid = sim.get("pod", Some("payment"), "postgres-1").unwrap()["metadata"]["uid"].clone();
    kubectl(&sim, &["delete", "pod", "postgres-1", "-n", "payment"])
        .await
        .out();
    let pod = sim
        .get("pod", Some("payment"), "postgres-1")
        .expect("postgres-1 is back");
    assert_ne!(pod["metadata"]["uid"], old_uid);
    assert_eq!(
        pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "data-postgres-1"
    );
    assert!(sim.get("pvc", Some("payment"), "data-postgres-1").is_some());
}

#[tokio::test]
async fn get_watch_prints_the_deletion_and_the_replacement() {
    let sim = start_payment().await;
    let kube = sim.kube().clone();
    let deleter = tokio::spawn(async move {
        // Act once kubectl's watch is open, however slowly it started.
        tokio::time::timeout(std::time::Duration::from_secs(20), async {
            while kube.open_watches() == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("kubectl opened its watch");
        kube.delete("pod", Some("payment"), CRASH_POD)
            .unwrap()
            .expect("the pod existed");
    });
    let out = kubectl(
        &sim,
        &[
            "get",
            "pods",
            "-n",
            "payment",
            "-l",
            "app=payment-service",
            "-w",
            "--request-timeout=5s",
        ],
    )
    .await;
    deleter.await.unwrap();
    let lines: Vec<Vec<String>> = rows(&out.stdout);
    assert!(
        lines
            .iter()
            .any(|r| r[0] == CRASH_POD && r[2] == "Terminating"),
        "{}",
        out.stdout
    );
    let replacement: Vec<&String> = lines
        .iter()
        .map(|r| &r[0])
        .filter(|n| {
            n.starts_with("payment-service-7d8f9c6b5-")
                && !pod_names_at_start().contains(&n.as_str())
        })
        .collect();
    assert!(!replacement.is_empty(), "{}", out.stdout);
}

fn pod_names_at_start() -> [&'static str; 6] {
    [
        "NAME",
        CRASH_POD,
        "payment-service-7d8f9c6b5-4mzvq",
        "payment-service-7d8f9c6b5-b8r2n",
        "payment-service-7d8f9c6b5-h6t4w",
        "payment-service-7d8f9c6b5-q9lkc",
    ]
}
