//! RBAC for ServiceAccounts, checked with the real kubectl over HTTPS (kubectl sends no
//! bearer token over plain HTTP): `kubectl create token` issues a token, `kubectl auth
//! can-i` asks the SelfSubjectAccessReview API, and a request the account's roles do not
//! allow fails with the API server's own Forbidden line. The simulator's kubeconfig token
//! stays cluster-admin.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use sopilot_sim_k8s::{KubeOptions, RunningKube};

const USER: &str = "system:serviceaccount:sopilot:sopilot";

/// A ServiceAccount `sopilot/sopilot` that may read pods and namespaces everywhere, and
/// read pod logs in `payment` only (a RoleBinding to a ClusterRole).
const MANIFESTS: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: sopilot, namespace: sopilot}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pod-reader}
rules:
- apiGroups: [""]
  resources: [pods, namespaces]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: sopilot-pod-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}
subjects:
- {kind: ServiceAccount, name: sopilot, namespace: sopilot}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: log-reader}
rules:
- apiGroups: [""]
  resources: [pods/log]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: sopilot-logs, namespace: payment}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: log-reader}
subjects:
- {kind: ServiceAccount, name: sopilot, namespace: sopilot}
"#;

/// The simulator with the manifests applied, and a token for `sopilot/sopilot`.
async fn with_account() -> (RunningKube, String) {
    let sim = sopilot_sim_k8s::start_tls(&payment_scenario(), KubeOptions::default())
        .await
        .expect("the simulator starts");
    assert!(sim.kubernetes_url().starts_with("https://"));
    kubectl(&sim, &["create", "namespace", "sopilot"])
        .await
        .out();
    let file = sim.kubeconfig().with_file_name("rbac.yaml");
    std::fs::write(&file, MANIFESTS).unwrap();
    kubectl(&sim, &["apply", "-f", file.to_str().unwrap()])
        .await
        .out();
    let token = kubectl(&sim, &["create", "token", "sopilot", "-n", "sopilot"]).await;
    let token = token.out().trim().to_owned();
    assert!(token.split('.').count() == 3, "a JWT-shaped token: {token}");
    (sim, token)
}

async fn as_account(sim: &RunningKube, token: &str, args: &[&str]) -> Run {
    let mut all = vec!["--token", token];
    all.extend_from_slice(args);
    kubectl(sim, &all).await
}

#[tokio::test]
async fn can_i_answers_from_roles_and_bindings() {
    let (sim, token) = with_account().await;
    for (args, want) in [
        (&["list", "pods", "-n", "payment"][..], "yes"),
        (
            &["get", "pods", "--subresource=log", "-n", "payment"],
            "yes",
        ),
        (&["get", "pods", "--subresource=log", "-n", "default"], "no"),
        (&["delete", "pods", "-n", "payment"], "no"),
        (&["list", "deployments.apps", "-n", "payment"], "no"),
        (&["list", "secrets", "-n", "payment"], "no"),
        (&["get", "namespaces"], "yes"),
    ] {
        let run = as_account(&sim, &token, &[&["auth", "can-i"][..], args].concat()).await;
        assert_eq!(run.stdout.trim(), want, "can-i {args:?}: {run:?}");
        assert_eq!(run.ok, want == "yes", "exit code of can-i {args:?}");
    }
    // The admin (the simulator's kubeconfig token) may do anything.
    let run = kubectl(&sim, &["auth", "can-i", "delete", "nodes"]).await;
    assert_eq!(run.out().trim(), "yes");
}

#[tokio::test]
async fn a_forbidden_request_prints_the_api_servers_line() {
    let (sim, token) = with_account().await;
    let pods = as_account(&sim, &token, &["get", "pods", "-n", "payment"]).await;
    assert!(pods.out().contains(CRASH_POD), "{pods:?}");
    let logs = as_account(&sim, &token, &["logs", CRASH_POD, "-n", "payment"]).await;
    assert!(
        logs.ok,
        "the RoleBinding in payment grants pods/log: {logs:?}"
    );

    let deploy = as_account(&sim, &token, &["get", "deployments", "-n", "payment"]).await;
    assert!(!deploy.ok);
    assert_eq!(
        deploy.stderr.trim(),
        format!(
            "Error from server (Forbidden): deployments.apps is forbidden: User \"{USER}\" cannot list resource \"deployments\" in API group \"apps\" in the namespace \"payment\""
        )
    );
    // pods/log is granted in payment only.
    sim.kube()
        .apply(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": "web", "image": "nginx"}]}}))
        .unwrap();
    let logs = as_account(&sim, &token, &["logs", "web", "-n", "default"]).await;
    assert_eq!(
        logs.stderr.trim(),
        format!(
            "Error from server (Forbidden): pods \"web\" is forbidden: User \"{USER}\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"default\""
        )
    );
    let nodes = as_account(&sim, &token, &["delete", "node", "ip-10-0-1-45"]).await;
    assert!(
        nodes.stderr.contains(&format!(
            "nodes \"ip-10-0-1-45\" is forbidden: User \"{USER}\" cannot delete resource \"nodes\" in API group \"\" at the cluster scope"
        )),
        "{nodes:?}"
    );
    assert!(sim.get("Node", None, "ip-10-0-1-45").is_some());
}

#[tokio::test]
async fn a_binding_to_a_missing_role_says_so() {
    let (sim, token) = with_account().await;
    kubectl(
        &sim,
        &[
            "create",
            "rolebinding",
            "gone",
            "--clusterrole=deleted-role",
            "--serviceaccount=sopilot:sopilot",
            "-n",
            "payment",
        ],
    )
    .await
    .out();
    let run = as_account(&sim, &token, &["get", "services", "-n", "payment"]).await;
    assert!(
        run.stderr.trim().ends_with(
            "cannot list resource \"services\" in API group \"\" in the namespace \"payment\": RBAC: clusterrole.rbac.authorization.k8s.io \"deleted-role\" not found"
        ),
        "{run:?}"
    );
}

#[tokio::test]
async fn unknown_and_revoked_tokens_are_unauthorized() {
    let (sim, token) = with_account().await;
    let run = as_account(&sim, "not-a-token", &["get", "pods", "-n", "payment"]).await;
    assert!(!run.ok);
    assert!(
        run.stderr
            .contains("error: You must be logged in to the server (Unauthorized)"),
        "{run:?}"
    );
    // A token dies with its ServiceAccount.
    kubectl(
        &sim,
        &["delete", "serviceaccount", "sopilot", "-n", "sopilot"],
    )
    .await
    .out();
    let run = as_account(&sim, &token, &["get", "pods", "-n", "payment"]).await;
    assert!(run.stderr.contains("(Unauthorized)"), "{run:?}");
    // No ServiceAccount, no token.
    let run = kubectl(&sim, &["create", "token", "nobody", "-n", "sopilot"]).await;
    assert!(
        run.stderr.contains("serviceaccounts \"nobody\" not found"),
        "{run:?}"
    );
}
