//! `kubectl rollout restart/undo/status/history`: new revisions, rollbacks reusing the old
//! ReplicaSet, a crashing template that never finishes, StatefulSet and DaemonSet rollouts.

use super::{payment_pods, replicasets_of, revision};
use crate::common::*;

#[tokio::test]
async fn rollout_restart_makes_a_new_revision_and_finishes() {
    let sim = start_payment().await;
    let out = kubectl(
        &sim,
        &[
            "rollout",
            "restart",
            "deployment/payment-service",
            "-n",
            "payment",
        ],
    )
    .await;
    assert_eq!(
        out.out().trim(),
        "deployment.apps/payment-service restarted"
    );
    let sets = replicasets_of(&sim, "payment-service-");
    assert_eq!(sets.len(), 4);
    let newest = sets.iter().max_by_key(|rs| revision(rs)).unwrap();
    assert_eq!(revision(newest), 16);
    assert_eq!(newest["spec"]["replicas"], 5);
    assert!(
        newest["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_string()
    );
    let hash = newest["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap();
    assert_eq!(
        newest["metadata"]["name"],
        format!("payment-service-{hash}")
    );
    let deploy = sim
        .get("deploy", Some("payment"), "payment-service")
        .unwrap();
    assert_eq!(
        newest["metadata"]["ownerReferences"][0]["uid"],
        deploy["metadata"]["uid"]
    );
    assert!(
        sets.iter()
            .filter(|rs| rs["metadata"]["name"] != newest["metadata"]["name"])
            .all(|rs| rs["spec"]["replicas"] == 0)
    );
    let pods = payment_pods(&sim);
    assert_eq!(pods.len(), 5);
    assert!(
        pods.iter()
            .all(|p| p["metadata"]["labels"]["pod-template-hash"] == hash)
    );
    assert_eq!(deploy["status"]["updatedReplicas"], 5);
    assert_eq!(deploy["status"]["availableReplicas"], 5);
    assert_eq!(
        deploy["status"]["observedGeneration"],
        deploy["metadata"]["generation"]
    );

    let status = kubectl(
        &sim,
        &[
            "rollout",
            "status",
            "deployment/payment-service",
            "-n",
            "payment",
            "--timeout=20s",
        ],
    )
    .await;
    assert_eq!(
        status.out().trim(),
        "deployment \"payment-service\" successfully rolled out"
    );
    let history = kubectl(
        &sim,
        &[
            "rollout",
            "history",
            "deployment/payment-service",
            "-n",
            "payment",
        ],
    )
    .await;
    let revisions: Vec<String> = rows(history.out())
        .into_iter()
        .skip(2)
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(revisions, ["13", "14", "15", "16"]);
    let events = kubectl(
        &sim,
        &[
            "events",
            "-n",
            "payment",
            "--for",
            "deployment/payment-service",
        ],
    )
    .await;
    assert!(
        events.out().contains(&format!(
            "Scaled up replica set payment-service-{hash} from 0 to 5"
        )),
        "{}",
        events.out()
    );
}

#[tokio::test]
async fn rollout_undo_reuses_the_old_replicaset_with_the_next_revision() {
    let sim = start_payment().await;
    let out = kubectl(
        &sim,
        &[
            "rollout",
            "undo",
            "deployment/payment-service",
            "-n",
            "payment",
        ],
    )
    .await;
    assert_eq!(
        out.out().trim(),
        "deployment.apps/payment-service rolled back"
    );
    let sets = replicasets_of(&sim, "payment-service-");
    assert_eq!(sets.len(), 3, "a rollback makes no new ReplicaSet");
    let v14 = sim
        .get("rs", Some("payment"), "payment-service-6c8f7d9b5")
        .unwrap();
    assert_eq!(revision(&v14), 16);
    assert_eq!(v14["spec"]["replicas"], 5);
    let deploy = sim
        .get("deploy", Some("payment"), "payment-service")
        .unwrap();
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/payment-service:v2.4.0"
    );
    assert_eq!(
        deploy["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "16"
    );
    assert!(
        payment_pods(&sim)
            .iter()
            .all(|p| p["metadata"]["labels"]["pod-template-hash"] == "6c8f7d9b5")
    );

    let out = kubectl(
        &sim,
        &[
            "rollout",
            "undo",
            "deployment/payment-service",
            "-n",
            "payment",
            "--to-revision=13",
        ],
    )
    .await;
    assert_eq!(
        out.out().trim(),
        "deployment.apps/payment-service rolled back"
    );
    let v13 = sim
        .get("rs", Some("payment"), "payment-service-5b7d9f8c4")
        .unwrap();
    assert_eq!(revision(&v13), 17);
    assert_eq!(v13["spec"]["replicas"], 5);
    let history = kubectl(
        &sim,
        &[
            "rollout",
            "history",
            "deployment/payment-service",
            "-n",
            "payment",
        ],
    )
    .await;
    let revisions: Vec<String> = rows(history.out())
        .into_iter()
        .skip(2)
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(revisions, ["15", "16", "17"]);
    let missing = kubectl(
        &sim,
        &[
            "rollout",
            "undo",
            "deployment/payment-service",
            "-n",
            "payment",
            "--to-revision=14",
        ],
    )
    .await;
    assert!(!missing.ok);
    assert!(
        missing
            .stderr
            .contains("unable to find specified revision 14"),
        "{}",
        missing.stderr
    );
    let status = kubectl(
        &sim,
        &[
            "rollout",
            "status",
            "deployment/payment-service",
            "-n",
            "payment",
            "--timeout=20s",
        ],
    )
    .await;
    assert!(status.out().contains("successfully rolled out"));
}

#[tokio::test]
async fn a_crashing_template_never_finishes_rolling_out() {
    let sim = start_payment().await;
    let patch = r#"{"spec":{"template":{"metadata":{"annotations":{"sim.sopilot.dev/crash":"OOMKilled"}}}}}"#;
    kubectl(
        &sim,
        &[
            "patch",
            "deployment",
            "payment-service",
            "-n",
            "payment",
            "--type=merge",
            "-p",
            patch,
        ],
    )
    .await
    .out();
    let pods = payment_pods(&sim);
    assert_eq!(pods.len(), 5);
    for pod in &pods {
        let status = &pod["status"]["containerStatuses"][0];
        assert_eq!(status["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert_eq!(status["lastState"]["terminated"]["reason"], "OOMKilled");
        assert_eq!(status["ready"], false);
    }
    let status = kubectl(
        &sim,
        &[
            "rollout",
            "status",
            "deployment/payment-service",
            "-n",
            "payment",
            "--timeout=2s",
        ],
    )
    .await;
    assert!(!status.ok);
    assert!(
        status
            .stdout
            .contains("0 of 5 updated replicas are available"),
        "{}",
        status.stdout
    );
    let get = kubectl(
        &sim,
        &["get", "pods", "-n", "payment", "-l", "app=payment-service"],
    )
    .await;
    assert!(
        rows(get.out())
            .iter()
            .skip(1)
            .all(|r| r[2] == "CrashLoopBackOff")
    );
    // Rolling back to the healthy template fixes it.
    kubectl(
        &sim,
        &[
            "rollout",
            "undo",
            "deployment/payment-service",
            "-n",
            "payment",
        ],
    )
    .await
    .out();
    let status = kubectl(
        &sim,
        &[
            "rollout",
            "status",
            "deployment/payment-service",
            "-n",
            "payment",
            "--timeout=20s",
        ],
    )
    .await;
    assert!(status.out().contains("successfully rolled out"));
}

#[tokio::test]
async fn statefulset_and_daemonset_rollouts() {
    let sim = start_payment().await;
    let uid = sim.get("pod", Some("payment"), "postgres-0").unwrap()["metadata"]["uid"].clone();
    kubectl(
        &sim,
        &[
            "rollout",
            "restart",
            "statefulset/postgres",
            "-n",
            "payment",
        ],
    )
    .await
    .out();
    let status = kubectl(
        &sim,
        &[
            "rollout",
            "status",
            "statefulset/postgres",
            "-n",
            "payment",
            "--timeout=10s",
        ],
    )
    .await;
    assert!(
        status
            .out()
            .contains("roll out complete: 3 new pods have been updated"),
        "{}",
        status.out()
    );
    let pod = sim.get("pod", Some("payment"), "postgres-0").unwrap();
    assert_ne!(
        pod["metadata"]["uid"], uid,
        "the pod was replaced under its name"
    );
    let sts = sim.get("sts", Some("payment"), "postgres").unwrap();
    assert_eq!(
        pod["metadata"]["labels"]["controller-revision-hash"],
        sts["status"]["updateRevision"]
    );

    kubectl(
        &sim,
        &[
            "rollout",
            "restart",
            "daemonset/aws-node",
            "-n",
            "kube-system",
        ],
    )
    .await
    .out();
    let status = kubectl(
        &sim,
        &[
            "rollout",
            "status",
            "daemonset/aws-node",
            "-n",
            "kube-system",
            "--timeout=10s",
        ],
    )
    .await;
    assert_eq!(
        status.out().trim(),
        "daemon set \"aws-node\" successfully rolled out"
    );
    assert_eq!(sim.kube().list("pods", Some("kube-system")).len(), 3);
}
