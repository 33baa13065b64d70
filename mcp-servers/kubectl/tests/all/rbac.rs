//! The least-privilege role works: the ClusterRole `mcp_kubectl::rbac` computes for every
//! tool (what `sopilot rbac` prints) is applied to the simulated cluster, which enforces
//! RBAC; a token is issued for its ServiceAccount (TokenRequest) and `mcp-kubectl` runs with
//! it. Every tool succeeds (reads, dry runs, a few real writes); with one rule gone
//! (`pods/log`), the tool needing it fails with a Forbidden error that names the permission
//! and the fix, and the others still work.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use sopilot_sim_env::RunningSim;

const CRASHING: &str = "payment-service-7d8f9c6b5-x2k9p";
const SA: &str = "system:serviceaccount:sopilot:sopilot";

/// The ClusterRole's rules for every tool, or for every tool minus one resource.
fn rules(without: Option<&str>) -> Vec<PolicyRule> {
    mcp_kubectl::rbac::rules_for(mcp_kubectl::rbac::tool_names(true))
        .unwrap()
        .into_iter()
        .filter_map(|r| {
            let resources: Vec<String> = r
                .resources
                .into_iter()
                .filter(|res| Some(res.as_str()) != without)
                .collect();
            (!resources.is_empty()).then(|| PolicyRule {
                api_groups: Some(vec![r.api_group]),
                resources: Some(resources),
                verbs: r.verbs,
                ..PolicyRule::default()
            })
        })
        .collect()
}

fn role(rules: Vec<PolicyRule>) -> ClusterRole {
    serde_json::from_value(json!({"metadata": {"name": "sopilot"}, "rules": rules})).unwrap()
}

/// Applies the ServiceAccount, ClusterRole and binding as the admin (through the API) and
/// issues a token for the account; answers a kubeconfig with that token.
async fn apply_role(sim: &RunningSim) -> std::path::PathBuf {
    let admin = mcp_kubectl::connect(Some(sim.kubeconfig().to_owned()), None)
        .await
        .unwrap();
    let pp = PostParams::default();
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "sopilot"}})).unwrap();
    Api::<Namespace>::all(admin.clone())
        .create(&pp, &ns)
        .await
        .unwrap();
    let sa: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "sopilot", "namespace": "sopilot"}}))
            .unwrap();
    let accounts = Api::<ServiceAccount>::namespaced(admin.clone(), "sopilot");
    accounts.create(&pp, &sa).await.unwrap();
    Api::<ClusterRole>::all(admin.clone())
        .create(&pp, &role(rules(None)))
        .await
        .unwrap();
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "sopilot"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "sopilot"},
        "subjects": [{"kind": "ServiceAccount", "name": "sopilot", "namespace": "sopilot"}]}))
    .unwrap();
    Api::<ClusterRoleBinding>::all(admin.clone())
        .create(&pp, &binding)
        .await
        .unwrap();
    let answer: Value = accounts
        .create_subresource(
            "token",
            "sopilot",
            &pp,
            &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}),
        )
        .await
        .unwrap();
    let token = answer["status"]["token"].as_str().unwrap();
    let admin_config = std::fs::read_to_string(sim.kubeconfig()).unwrap();
    assert!(admin_config.contains("token: sopilot-sim-token"));
    let path = sim.kubeconfig().with_file_name("sopilot-sa.kubeconfig");
    std::fs::write(
        &path,
        admin_config.replace("token: sopilot-sim-token", &format!("token: {token}")),
    )
    .unwrap();
    path
}

/// A client of `mcp-kubectl --allow-write` running as the ServiceAccount.
async fn as_account(sim: RunningSim) -> Harness {
    let kubeconfig = apply_role(&sim).await;
    let client = sopilot_test_support::Server::new(env!("CARGO_BIN_EXE_mcp-kubectl"))
        .args([
            "--kubeconfig".to_owned(),
            kubeconfig.display().to_string(),
            "--allow-write".to_owned(),
        ])
        .env("RUST_LOG", "warn")
        .stdio()
        .await;
    Harness { sim, client }
}

/// Every tool, with arguments that succeed on the payment scenario: reads, dry runs.
fn calls() -> Vec<(&'static str, Value)> {
    let pod = json!({"namespace": "payment", "name": CRASHING});
    let deploy = json!({"namespace": "payment", "name": "payment-service"});
    vec![
        ("list_pods", json!({"namespace": "payment"})),
        ("list_pods", json!({"all_namespaces": true})),
        ("describe_pod", pod.clone()),
        (
            "pod_logs",
            json!({"namespace": "payment", "name": CRASHING, "previous": true}),
        ),
        ("list_events", json!({"namespace": "payment"})),
        ("get_deployment", deploy.clone()),
        ("rollout_history", deploy.clone()),
        (
            "recent_changes",
            json!({"namespace": "payment", "since_minutes": 10080}),
        ),
        ("list_nodes", json!({})),
        ("describe_node", json!({"node": "ip-10-0-1-45"})),
        ("top_pods", json!({"namespace": "payment"})),
        ("top_nodes", json!({})),
        ("oom_killed_pods", json!({})),
        ("resolve_resource", json!({"kind": "deploy"})),
        (
            "get_resource",
            json!({"kind": "Service", "namespace": "payment"}),
        ),
        (
            "get_resource",
            json!({"kind": "pdb", "namespace": "payment", "name": "payment-pdb"}),
        ),
        (
            "get_resource",
            json!({"kind": "hpa", "namespace": "payment"}),
        ),
        (
            "get_resource",
            json!({"kind": "netpol", "namespace": "payment"}),
        ),
        (
            "check_network_policy",
            json!({"source_namespace": "payment", "source_pod": CRASHING,
            "destination_service": "postgres", "port": "5432"}),
        ),
        (
            "delete_pod",
            json!({"namespace": "payment", "name": CRASHING, "dry_run": true}),
        ),
        (
            "rollout_restart",
            json!({"namespace": "payment", "name": "payment-service", "dry_run": true}),
        ),
        (
            "rollout_undo",
            json!({"namespace": "payment", "name": "payment-service", "dry_run": true}),
        ),
        (
            "scale",
            json!({"kind": "Deployment", "namespace": "payment", "name": "payment-service", "replicas": 6, "dry_run": true}),
        ),
        (
            "patch_hpa",
            json!({"namespace": "payment", "name": "payment-service-hpa", "max_replicas": 14, "dry_run": true}),
        ),
        ("cordon", json!({"node": "ip-10-0-1-45", "dry_run": true})),
        ("uncordon", json!({"node": "ip-10-0-1-45", "dry_run": true})),
        ("drain", json!({"node": "ip-10-0-3-12", "dry_run": true})),
        ("karpenter_nodepools", json!({})),
        ("karpenter_nodeclaims", json!({})),
        (
            "scale_placeholder_capacity",
            json!({"namespace": "payment", "name": "capacity-reservation", "replicas": 2, "dry_run": true}),
        ),
    ]
}

/// The document's placeholder (a PriorityClass below 0 and a Deployment of pause pods), added
/// to the payment scenario for `scale_placeholder_capacity`.
fn add_placeholder(sim: &RunningSim) {
    sim.kube()
        .apply(
            json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": "capacity-reservation"}, "value": -10}),
        )
        .unwrap();
    sim.kube()
        .apply(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "capacity-reservation", "namespace": "payment"},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "capacity-reservation"}},
                "template": {"metadata": {"labels": {"app": "capacity-reservation"}},
                    "spec": {"priorityClassName": "capacity-reservation", "containers": [{"name": "pause",
                        "image": "registry.k8s.io/pause:3.9", "resources": {"requests": {"cpu": "1", "memory": "2Gi"}}}]}}}}))
        .unwrap();
}

#[tokio::test]
async fn every_tool_works_under_the_generated_role() {
    let sim = common::sim().await;
    add_placeholder(&sim);
    let h = as_account(sim).await;
    let called: std::collections::BTreeSet<&str> = calls().iter().map(|(t, _)| *t).collect();
    let all: std::collections::BTreeSet<&str> =
        mcp_kubectl::rbac::tool_names(true).into_iter().collect();
    let missing: Vec<_> = all.difference(&called).collect();
    assert!(
        missing.is_empty(),
        "tools this test does not call: {missing:?}"
    );
    // (A call of a tool this build does not have yet is skipped.)
    for (tool, args) in calls().into_iter().filter(|(t, _)| all.contains(t)) {
        let reply = h.call(tool, args.clone()).await;
        assert!(
            !reply.is_error,
            "{tool} {args} failed under the generated role: {}",
            reply.text
        );
    }
    // Real writes: evictions (pods/eviction) with the cordon first, while the node has pods.
    let drained = h
        .ok(
            "drain",
            json!({"node": "ip-10-0-1-45", "timeout_seconds": 20}),
        )
        .await;
    assert!(
        drained.structured["impact"]["pods"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
            && !drained.text.contains(" 0 pod(s) evicted"),
        "{}",
        drained.text
    );
    h.ok("uncordon", json!({"node": "ip-10-0-1-45"})).await;
    let pods = h.ok("list_pods", json!({"namespace": "payment"})).await;
    let victim = pods.structured["pods"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = h
        .ok(
            "delete_pod",
            json!({"namespace": "payment", "name": victim}),
        )
        .await;
    assert_eq!(deleted.structured["executed"], true, "{}", deleted.text);
    h.ok(
        "scale",
        json!({"kind": "Deployment", "namespace": "payment", "name": "payment-service", "replicas": 6}),
    )
    .await;
    h.ok(
        "rollout_restart",
        json!({"namespace": "payment", "name": "payment-service"}),
    )
    .await;
    h.ok("cordon", json!({"node": "ip-10-0-1-45"})).await;
    h.ok("uncordon", json!({"node": "ip-10-0-1-45"})).await;
    h.ok(
        "patch_hpa",
        json!({"namespace": "payment", "name": "payment-service-hpa", "max_replicas": 14}),
    )
    .await;
    let hpa = h
        .sim
        .get(
            "HorizontalPodAutoscaler",
            Some("payment"),
            "payment-service-hpa",
        )
        .unwrap();
    assert_eq!(hpa["spec"]["maxReplicas"], 14);
    // Secrets stay out of reach: refused by the tool, and not granted either.
    let refused = h
        .fails(
            "get_resource",
            json!({"kind": "Secret", "namespace": "payment"}),
        )
        .await;
    assert!(refused.contains("never returns Secrets"), "{refused}");
}

#[tokio::test]
async fn a_missing_rule_fails_its_tool_clearly_and_only_it() {
    let sim = common::sim().await;
    add_placeholder(&sim);
    let h = as_account(sim).await;
    let admin = mcp_kubectl::connect(Some(h.sim.kubeconfig().to_owned()), None)
        .await
        .unwrap();
    let roles = Api::<ClusterRole>::all(admin);
    let mut narrower = role(rules(Some("pods/log")));
    narrower.metadata.resource_version = roles
        .get("sopilot")
        .await
        .unwrap()
        .metadata
        .resource_version;
    roles
        .replace("sopilot", &PostParams::default(), &narrower)
        .await
        .unwrap();
    let text = h
        .fails(
            "pod_logs",
            json!({"namespace": "payment", "name": CRASHING, "previous": true}),
        )
        .await;
    assert!(
        text.starts_with(&format!(
            "forbidden: Kubernetes RBAC does not let {SA} get pods/log (core API group) in namespace payment."
        )),
        "{text}"
    );
    assert!(text.contains("regenerate it with `sopilot rbac`"), "{text}");
    assert!(
        text.contains(&format!(
            "pods \"{CRASHING}\" is forbidden: User \"{SA}\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"payment\""
        )),
        "the API server's own words: {text}"
    );
    for (tool, args) in calls()
        .into_iter()
        .filter(|(t, _)| *t != "pod_logs" && mcp_kubectl::rbac::access_of(t).is_some())
    {
        let reply = h.call(tool, args.clone()).await;
        assert!(
            !reply.is_error,
            "{tool} {args} failed without pods/log: {}",
            reply.text
        );
    }
}
