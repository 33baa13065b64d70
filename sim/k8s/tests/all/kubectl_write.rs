//! The real kubectl changing the simulated cluster, and the controller effects that
//! follow: pod deletion and re-creation, scaling, rollouts and rollbacks, cordon and
//! drain with PodDisruptionBudgets, and server-side dry runs that change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::Value;

fn replicasets_of(sim: &sopilot_sim_k8s::RunningKube, prefix: &str) -> Vec<Value> {
    sim.kube()
        .list("replicasets", Some("payment"))
        .into_iter()
        .filter(|rs| {
            rs["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .starts_with(prefix)
        })
        .collect()
}

fn revision(rs: &Value) -> i64 {
    rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn payment_pods(sim: &sopilot_sim_k8s::RunningKube) -> Vec<Value> {
    sim.kube()
        .list("pods", Some("payment"))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "payment-service")
        .collect()
}

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
async fn scaling_a_deployment_and_a_statefulset() {
    let sim = start_payment().await;
    let out = kubectl(
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
    .await;
    assert_eq!(out.out().trim(), "deployment.apps/payment-service scaled");
    assert_eq!(
        sim.get("deploy", Some("payment"), "payment-service")
            .unwrap()["spec"]["replicas"],
        3
    );
    let current = sim
        .get("rs", Some("payment"), "payment-service-7d8f9c6b5")
        .unwrap();
    assert_eq!(current["spec"]["replicas"], 3);
    let pods = payment_pods(&sim);
    assert_eq!(pods.len(), 3);
    assert!(
        !pods.iter().any(|p| p["metadata"]["name"] == CRASH_POD),
        "an unready pod goes first"
    );
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
        events
            .out()
            .contains("Scaled down replica set payment-service-7d8f9c6b5 from 5 to 3"),
        "{}",
        events.out()
    );
    // Below the HPA's minimum the autoscaler scales back up.
    kubectl(
        &sim,
        &[
            "scale",
            "deployment",
            "payment-service",
            "-n",
            "payment",
            "--replicas=1",
        ],
    )
    .await
    .out();
    assert_eq!(
        sim.get("deploy", Some("payment"), "payment-service")
            .unwrap()["spec"]["replicas"],
        2
    );

    kubectl(
        &sim,
        &[
            "scale",
            "statefulset",
            "postgres",
            "-n",
            "payment",
            "--replicas=2",
        ],
    )
    .await
    .out();
    assert!(sim.get("pod", Some("payment"), "postgres-2").is_none());
    assert!(sim.get("pod", Some("payment"), "postgres-1").is_some());
    assert!(
        sim.get("pvc", Some("payment"), "data-postgres-2").is_some(),
        "claims outlive their pods"
    );
    let sts = kubectl(&sim, &["get", "sts", "postgres", "-n", "payment"]).await;
    assert_eq!(rows(sts.out())[1][1], "2/2");
}

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
async fn set_image_uses_a_strategic_merge_patch() {
    let sim = start_payment().await;
    let image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/payment-service:v2.4.2";
    kubectl(
        &sim,
        &[
            "set",
            "image",
            "deployment/payment-service",
            &format!("payment={image}"),
            "-n",
            "payment",
        ],
    )
    .await
    .out();
    let deploy = sim
        .get("deploy", Some("payment"), "payment-service")
        .unwrap();
    let container = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], image);
    assert_eq!(
        container["env"].as_array().unwrap().len(),
        2,
        "the merge kept the other fields"
    );
    assert_eq!(
        deploy["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "16"
    );
}

#[tokio::test]
async fn hpa_patches_move_the_target() {
    let sim = start_payment().await;
    kubectl(
        &sim,
        &[
            "patch",
            "hpa",
            "payment-service-hpa",
            "-n",
            "payment",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/minReplicas","value":7}]"#,
        ],
    )
    .await
    .out();
    assert_eq!(
        sim.get("hpa", Some("payment"), "payment-service-hpa")
            .unwrap()["spec"]["minReplicas"],
        7
    );
    assert_eq!(
        sim.get("deploy", Some("payment"), "payment-service")
            .unwrap()["spec"]["replicas"],
        7
    );
    assert_eq!(payment_pods(&sim).len(), 7);
    let bad = kubectl(
        &sim,
        &[
            "patch",
            "hpa",
            "payment-service-hpa",
            "-n",
            "payment",
            "--type=merge",
            "-p",
            r#"{"spec":{"maxReplicas":3}}"#,
        ],
    )
    .await;
    assert!(!bad.ok);
    assert!(bad.stderr.contains("is invalid"), "{}", bad.stderr);
}

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
async fn server_dry_runs_change_nothing() {
    let sim = start_payment().await;
    let manifests = write_manifests(&sim, "payment");
    let rv = sim.kube().resource_version();
    let pods = pod_names(&sim, "payment");
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "scale",
            "deployment",
            "payment-service",
            "-n",
            "payment",
            "--replicas=2",
            "--dry-run=server",
        ],
        vec![
            "patch",
            "deployment",
            "payment-service",
            "-n",
            "payment",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicas":1}}"#,
            "--dry-run=server",
        ],
        vec![
            "patch",
            "deployment",
            "payment-service",
            "-n",
            "payment",
            "--type=strategic",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"payment","image":"x:1"}]}}}}"#,
            "--dry-run=server",
        ],
        vec![
            "patch",
            "hpa",
            "payment-service-hpa",
            "-n",
            "payment",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/minReplicas","value":4}]"#,
            "--dry-run=server",
        ],
        vec![
            "delete",
            "pod",
            CRASH_POD,
            "-n",
            "payment",
            "--dry-run=server",
        ],
        vec![
            "delete",
            "deployment",
            "order-service",
            "-n",
            "payment",
            "--dry-run=server",
        ],
        vec!["cordon", "ip-10-0-1-45", "--dry-run=server"],
        vec![
            "drain",
            "ip-10-0-1-45",
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            "--dry-run=server",
        ],
        // `rollout restart` has no --dry-run flag; this is the patch it sends.
        vec![
            "patch",
            "deployment",
            "payment-service",
            "-n",
            "payment",
            "--type=strategic",
            "-p",
            r#"{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-01-01T00:00:00Z"}}}}}"#,
            "--dry-run=server",
        ],
        vec![
            "rollout",
            "undo",
            "deployment/payment-service",
            "-n",
            "payment",
            "--dry-run=server",
        ],
        vec!["create", "-f", &manifests, "--dry-run=server"],
        vec![
            "label",
            "pod",
            CRASH_POD,
            "-n",
            "payment",
            "triage=oom",
            "--dry-run=server",
        ],
    ];
    for args in cases {
        let out = kubectl(&sim, &args).await;
        assert!(out.ok, "{args:?} failed: {}", out.stderr);
        // kubectl's patch and rollout undo print no dry-run suffix; the rest do.
        if !matches!(args[0], "patch" | "rollout") {
            assert!(
                out.stdout.contains("(server dry run)"),
                "{args:?}: {}",
                out.stdout
            );
        }
        assert_eq!(
            sim.kube().resource_version(),
            rv,
            "{args:?} changed the store"
        );
    }
    assert_eq!(pod_names(&sim, "payment"), pods);
    assert_eq!(
        sim.get("deploy", Some("payment"), "payment-service")
            .unwrap()["spec"]["replicas"],
        5
    );
    assert!(sim.get("deploy", Some("payment"), "web").is_none());
    assert!(sim.get("ns", None, "scratch").is_none());
    assert_ne!(
        sim.get("node", None, "ip-10-0-1-45").unwrap()["spec"]["unschedulable"],
        true
    );
    // The dry run answers what would have happened.
    let answer = kubectl(
        &sim,
        &[
            "patch",
            "deployment",
            "payment-service",
            "-n",
            "payment",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicas":2}}"#,
            "--dry-run=server",
            "-o",
            "json",
        ],
    )
    .await
    .json();
    assert_eq!(answer["spec"]["replicas"], 2);
    assert_eq!(sim.kube().resource_version(), rv);
}

/// A namespace and a two-replica deployment in it, as a manifest file next to the
/// kubeconfig, for `kubectl create -f` (JSON bodies, after an OpenAPI check).
fn write_manifests(sim: &sopilot_sim_k8s::RunningKube, deploy_namespace: &str) -> String {
    let path = sim.kubeconfig().with_file_name("manifests.yaml");
    let text = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: scratch\n---\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {deploy_namespace}\n\
         spec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n\
         \x20   spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n"
    );
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn create_and_delete_a_workload() {
    let sim = start_payment().await;
    let manifests = write_manifests(&sim, "scratch");
    let out = kubectl(&sim, &["create", "-f", &manifests]).await;
    assert_eq!(
        out.out().trim(),
        "namespace/scratch created\ndeployment.apps/web created"
    );
    let pods = sim.kube().list("pods", Some("scratch"));
    assert_eq!(pods.len(), 2);
    assert!(pods.iter().all(|p| p["status"]["phase"] == "Running"));
    let status = kubectl(
        &sim,
        &[
            "rollout",
            "status",
            "deployment/web",
            "-n",
            "scratch",
            "--timeout=20s",
        ],
    )
    .await;
    assert!(status.out().contains("successfully rolled out"));
    let again = kubectl(&sim, &["create", "-f", &manifests]).await;
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    kubectl(&sim, &["delete", "deployment", "web", "-n", "scratch"])
        .await
        .out();
    assert!(
        sim.kube().list("pods", Some("scratch")).is_empty(),
        "owned objects are collected"
    );
    assert!(sim.kube().list("rs", Some("scratch")).is_empty());
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

#[tokio::test]
async fn generator_commands_send_protobuf_and_work() {
    let sim = start_payment().await;
    let out = kubectl(&sim, &["create", "namespace", "scratch"]).await;
    assert_eq!(out.out().trim(), "namespace/scratch created");
    let out = kubectl(
        &sim,
        &[
            "create",
            "deployment",
            "web",
            "--image=nginx:1.27",
            "--replicas=3",
            "--port=80",
            "-n",
            "scratch",
        ],
    )
    .await;
    assert_eq!(out.out().trim(), "deployment.apps/web created");
    let deploy = sim.get("deploy", Some("scratch"), "web").unwrap();
    assert_eq!(deploy["spec"]["replicas"], 3);
    assert_eq!(deploy["spec"]["selector"]["matchLabels"]["app"], "web");
    let container = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "nginx:1.27");
    assert_eq!(container["ports"][0]["containerPort"], 80);
    assert!(
        deploy["spec"]["template"]["metadata"]
            .get("creationTimestamp")
            .is_none(),
        "Go's zero values do not leak in"
    );
    assert_eq!(deploy["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(sim.kube().list("pods", Some("scratch")).len(), 3);

    kubectl(
        &sim,
        &[
            "create",
            "configmap",
            "settings",
            "--from-literal=mode=fast",
            "-n",
            "scratch",
        ],
    )
    .await
    .out();
    assert_eq!(
        sim.get("cm", Some("scratch"), "settings").unwrap()["data"]["mode"],
        "fast"
    );
    kubectl(
        &sim,
        &[
            "create",
            "secret",
            "generic",
            "token",
            "--from-literal=value=s3cret",
            "-n",
            "scratch",
        ],
    )
    .await
    .out();
    assert_eq!(
        sim.get("secret", Some("scratch"), "token").unwrap()["data"]["value"],
        "czNjcmV0"
    );
    kubectl(
        &sim,
        &[
            "create",
            "service",
            "clusterip",
            "web",
            "--tcp=80:8080",
            "-n",
            "scratch",
        ],
    )
    .await
    .out();
    let service = kubectl(&sim, &["get", "service", "web", "-n", "scratch"]).await;
    let row = &rows(service.out())[1];
    assert_eq!((row[1].as_str(), row[4].as_str()), ("ClusterIP", "80/TCP"));
    assert!(row[2].starts_with("172.20."), "{row:?}");
    kubectl(
        &sim,
        &[
            "autoscale",
            "deployment",
            "web",
            "--min=2",
            "--max=6",
            "-n",
            "scratch",
        ],
    )
    .await
    .out();
    let hpa = sim.get("hpa", Some("scratch"), "web").unwrap();
    assert_eq!(
        (
            hpa["spec"]["minReplicas"].as_i64(),
            hpa["spec"]["maxReplicas"].as_i64()
        ),
        (Some(2), Some(6))
    );
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        80
    );

    let dry = kubectl(
        &sim,
        &[
            "create",
            "deployment",
            "other",
            "--image=nginx",
            "-n",
            "scratch",
            "--dry-run=server",
        ],
    )
    .await;
    assert_eq!(
        dry.out().trim(),
        "deployment.apps/other created (server dry run)"
    );
    assert!(sim.get("deploy", Some("scratch"), "other").is_none());
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
