//! The real kubectl changing the simulated cluster, and the controller effects that
//! follow: pod deletion and re-creation, scaling, rollouts and rollbacks, cordon and
//! drain with PodDisruptionBudgets, and server-side dry runs that change nothing. One
//! module per verb; the helpers they share are here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

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

mod create;
mod delete;
mod drain;
mod dry_run;
mod history;
mod patch;
mod rollout;
mod scale;
