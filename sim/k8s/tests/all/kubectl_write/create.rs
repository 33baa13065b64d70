//! `kubectl create -f`, `kubectl delete`, and the generator commands (`create namespace/
//! deployment/configmap/secret/service`, `autoscale`), which send protobuf.

use super::write_manifests;
use crate::common::*;

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
