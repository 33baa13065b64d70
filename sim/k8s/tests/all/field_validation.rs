//! Field validation with the real kubectl: `apply --dry-run=server` (which sends
//! `fieldValidation=Strict`) of a manifest with a typo fails with the API server's message,
//! `--validate=warn` turns it into a warning and `--validate=false` into nothing; a value of
//! the wrong type fails whatever the mode; the ServiceMonitor custom resource is served and
//! checked too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: payment
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        resources: {limits: {cpu: 1, memory: 128Mi}}
";

fn manifest(sim: &sopilot_sim_k8s::RunningKube, name: &str, text: &str) -> String {
    let path = sim.kubeconfig().with_file_name(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn an_unknown_field_is_refused_by_strict_apply_and_warned_otherwise() {
    let sim = start_payment().await;
    let good = manifest(&sim, "good.yaml", DEPLOYMENT);
    let out = kubectl(&sim, &["apply", "--dry-run=server", "-f", &good]).await;
    assert_eq!(
        out.out().trim(),
        "deployment.apps/web created (server dry run)"
    );
    assert!(!out.stderr.contains("Warning"), "{}", out.stderr);

    let typo = DEPLOYMENT
        .replace("  replicas: 2", "  replicass: 2")
        .replace(
            "        image: nginx:1.27",
            "        image: nginx:1.27\n        imagePullPolicyy: Always",
        );
    let typo = manifest(&sim, "typo.yaml", &typo);
    let out = kubectl(&sim, &["apply", "--dry-run=server", "-f", &typo]).await;
    assert!(!out.ok, "{}", out.stdout);
    assert_eq!(
        out.stderr.trim(),
        format!(
            "Error from server (BadRequest): error when creating \"{typo}\": Deployment in version \"v1\" \
             cannot be handled as a Deployment: strict decoding error: unknown field \"spec.replicass\", \
             unknown field \"spec.template.spec.containers[0].imagePullPolicyy\""
        )
    );
    let out = kubectl(&sim, &["create", "-f", &typo]).await;
    assert!(
        out.stderr
            .contains("strict decoding error: unknown field \"spec.replicass\""),
        "{}",
        out.stderr
    );
    assert!(
        sim.kube()
            .list("deployments", Some("payment"))
            .iter()
            .all(|d| d["metadata"]["name"] != "web")
    );

    let out = kubectl(
        &sim,
        &["apply", "--dry-run=server", "--validate=warn", "-f", &typo],
    )
    .await;
    assert!(out.out().contains("created (server dry run)"));
    assert!(
        out.stderr
            .contains("Warning: unknown field \"spec.replicass\""),
        "{}",
        out.stderr
    );
    let out = kubectl(
        &sim,
        &["apply", "--dry-run=server", "--validate=false", "-f", &typo],
    )
    .await;
    assert!(out.out().contains("created (server dry run)"));
    assert!(!out.stderr.contains("Warning"), "{}", out.stderr);
}

#[tokio::test]
async fn a_typo_in_an_apply_to_an_existing_object_is_refused() {
    let sim = start_payment().await;
    let good = manifest(&sim, "good.yaml", DEPLOYMENT);
    kubectl(&sim, &["apply", "-f", &good]).await.out();
    let typo = DEPLOYMENT.replace(
        "      labels: {app: web}\n    spec:",
        "      labels: {app: web}\n    spec:\n      hostNetworkk: true",
    );
    let typo = manifest(&sim, "typo.yaml", &typo);
    let out = kubectl(&sim, &["apply", "--dry-run=server", "-f", &typo]).await;
    assert!(!out.ok, "{}", out.stdout);
    assert!(
        out.stderr.contains("error when patching")
            && out.stderr.contains(
                "strict decoding error: unknown field \"spec.template.spec.hostNetworkk\""
            ),
        "{}",
        out.stderr
    );
    // A patch that adds nothing unknown still applies.
    let more = manifest(
        &sim,
        "more.yaml",
        &DEPLOYMENT.replace("replicas: 2", "replicas: 3"),
    );
    let out = kubectl(&sim, &["apply", "--dry-run=server", "-f", &more]).await;
    assert_eq!(
        out.out().trim(),
        "deployment.apps/web configured (server dry run)"
    );
}

#[tokio::test]
async fn a_wrong_type_is_refused_in_every_mode() {
    let sim = start_payment().await;
    let wrong = manifest(
        &sim,
        "wrong.yaml",
        &DEPLOYMENT.replace("replicas: 2", "replicas: two"),
    );
    for validate in ["--validate=strict", "--validate=false"] {
        let out = kubectl(&sim, &["apply", "--dry-run=server", validate, "-f", &wrong]).await;
        assert!(!out.ok, "{validate}: {}", out.stdout);
        assert!(
            out.stderr.contains("Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field .spec.replicas of type int32"),
            "{validate}: {}",
            out.stderr
        );
    }
}

const SERVICE_MONITOR: &str = "apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: web
  namespace: payment
spec:
  selector:
    matchLabels: {app: web}
  endpoints:
  - port: http
    path: /metrics
    interval: 30s
";

#[tokio::test]
async fn service_monitors_are_served_and_checked() {
    let sim = start_payment().await;
    let good = manifest(&sim, "smon.yaml", SERVICE_MONITOR);
    let out = kubectl(&sim, &["apply", "-f", &good]).await;
    assert_eq!(
        out.out().trim(),
        "servicemonitor.monitoring.coreos.com/web created"
    );
    let got = kubectl(
        &sim,
        &["get", "servicemonitors", "-n", "payment", "-o", "json"],
    )
    .await
    .json();
    assert_eq!(got["items"][0]["spec"]["endpoints"][0]["port"], "http");

    let typo = manifest(
        &sim,
        "smon-typo.yaml",
        &SERVICE_MONITOR
            .replace("    interval: 30s", "    intervall: 30s")
            .replace("name: web", "name: web2"),
    );
    let out = kubectl(&sim, &["apply", "--dry-run=server", "-f", &typo]).await;
    assert!(
        out.stderr.contains("ServiceMonitor in version \"v1\" cannot be handled as a ServiceMonitor: strict decoding error: unknown field \"spec.endpoints[0].intervall\""),
        "{}",
        out.stderr
    );
    let text = SERVICE_MONITOR
        .split("  endpoints:")
        .next()
        .unwrap()
        .replace("name: web", "name: web3");
    let missing = manifest(&sim, "smon-missing.yaml", &text);
    let out = kubectl(&sim, &["apply", "--dry-run=server", "-f", &missing]).await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains("spec.endpoints: Required value"),
        "{}",
        out.stderr
    );
}
