//! What the server offers and refuses: the tool list (a snapshot: it is prompt text),
//! read-only gating, Secrets, bad arguments, and the HTTP transport.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};

async fn tool_list(h: &Harness) -> Vec<Value> {
    let tools = h.client.list_all_tools().await.unwrap();
    let mut v: Vec<Value> = tools
        .into_iter()
        .map(|t| serde_json::to_value(t).unwrap())
        .collect();
    v.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    v
}

#[tokio::test]
async fn tools_list_is_snapshotted_and_annotated() {
    let h = Harness::start(true).await;
    let tools = tool_list(&h).await;
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for required in [
        "list_pods",
        "describe_pod",
        "pod_logs",
        "list_events",
        "get_deployment",
        "rollout_history",
        "list_nodes",
        "describe_node",
        "top_pods",
        "top_nodes",
        "get_resource",
        "resolve_resource",
        "check_network_policy",
        "oom_killed_pods",
        "delete_pod",
        "rollout_restart",
        "rollout_undo",
        "scale",
        "patch_hpa",
        "cordon",
        "uncordon",
        "drain",
    ] {
        assert!(names.contains(&required), "missing {required}: {names:?}");
    }
    for t in &tools {
        let a = &t["annotations"];
        assert!(
            a["readOnlyHint"].is_boolean(),
            "{} has no readOnlyHint",
            t["name"]
        );
        let mutating = a["readOnlyHint"] == false;
        let has_dry_run = t["inputSchema"]["properties"].get("dry_run").is_some();
        assert_eq!(
            mutating, has_dry_run,
            "{}: every mutating tool takes dry_run",
            t["name"]
        );
    }
    insta::assert_json_snapshot!("tools-list", tools);
}

#[tokio::test]
async fn read_only_unless_allow_write() {
    let h = Harness::start(false).await;
    let names: Vec<String> = tool_list(&h)
        .await
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    for mutating in [
        "delete_pod",
        "rollout_restart",
        "rollout_undo",
        "scale",
        "patch_hpa",
        "cordon",
        "uncordon",
        "drain",
    ] {
        assert!(
            !names.contains(&mutating.to_owned()),
            "{mutating} listed without --allow-write"
        );
    }
    let params = rmcp::model::CallToolRequestParams::new("delete_pod").with_arguments(
        json!({"namespace": "payment", "name": "postgres-0"})
            .as_object()
            .cloned()
            .unwrap(),
    );
    assert!(
        h.client.call_tool(params).await.is_err(),
        "an unlisted tool must not run"
    );
    assert!(h.sim.get("Pod", Some("payment"), "postgres-0").is_some());
}

#[tokio::test]
async fn secrets_are_never_returned() {
    let h = Harness::start(true).await;
    for kind in ["Secret", "secrets", "v1/Secret"] {
        let r = h
            .call(
                "get_resource",
                json!({"kind": kind, "namespace": "payment", "name": "payment-db-credentials"}),
            )
            .await;
        assert!(
            r.is_error && r.text.contains("never returns Secrets"),
            "{kind}: {}",
            r.text
        );
    }
    let all = h
        .ok(
            "get_resource",
            json!({"kind": "ConfigMap", "namespace": "payment"}),
        )
        .await;
    assert!(!all.text.contains("credentials"), "{}", all.text);
}

#[tokio::test]
async fn bad_arguments_are_tool_errors_that_say_what_to_do() {
    let h = Harness::start(true).await;
    let cases = [
        (
            "list_pods",
            json!({"namespace": "paymnt"}),
            "namespace \"paymnt\" not found; existing namespaces:",
        ),
        (
            "list_pods",
            json!({}),
            "give a namespace, or all_namespaces: true",
        ),
        (
            "describe_pod",
            json!({"namespace": "payment", "name": "payment-service-7d8f9c6b5-zzzzz"}),
            "pods with the same prefix: payment-service-7d8f9c6b5-",
        ),
        (
            "list_pods",
            json!({"namespace": "payment", "label_selector": "app in (("}),
            "400",
        ),
        (
            "pod_logs",
            json!({"namespace": "payment", "name": "payment-service-7d8f9c6b5-x2k9p", "container": "sidecar"}),
            "its containers: payment",
        ),
        (
            "pod_logs",
            json!({"namespace": "payment", "name": "payment-service-7d8f9c6b5-x2k9p", "grep": "(unclosed"}),
            "not a valid regular expression",
        ),
        (
            "get_resource",
            json!({"kind": "Widget"}),
            "kind \"Widget\" matches no resource the API server serves",
        ),
        (
            "get_resource",
            json!({"kind": "Service.v1/x"}),
            "Accepted forms",
        ),
        (
            "resolve_resource",
            json!({"kind": "deployments.v2.apps"}),
            "matches no resource",
        ),
        (
            "get_resource",
            json!({"kind": "Service", "name": "postgres"}),
            "namespaced: give the namespace",
        ),
        (
            "rollout_undo",
            json!({"namespace": "payment", "name": "nope"}),
            "deployment \"nope\" not found in namespace \"payment\"",
        ),
        (
            "cordon",
            json!({"node": "ip-10-9-9-9"}),
            "nodes: ip-10-0-1-45",
        ),
        (
            "patch_hpa",
            json!({"namespace": "payment", "name": "payment-service-hpa"}),
            "give min_replicas, max_replicas or both",
        ),
        (
            "check_network_policy",
            json!({"source_namespace": "payment", "source_pod": "payment-service-7d8f9c6b5-x2k9p"}),
            "give destination_service or destination_pod",
        ),
    ];
    for (tool, args, needle) in cases {
        let r = h.call(tool, args.clone()).await;
        assert!(r.is_error, "{tool} {args} should fail: {}", r.text);
        assert!(
            r.text.contains(needle),
            "{tool} {args}: expected {needle:?} in {:?}",
            r.text
        );
    }
}

#[tokio::test]
async fn serves_streamable_http() {
    let sim = common::sim().await;
    let http = common::server(&sim, false).http().await;
    let url = http.url.clone();
    let client = ().serve(StreamableHttpClientTransport::from_uri(url.clone())).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "list_pods"), "{url}");
    let r = client
        .call_tool(
            rmcp::model::CallToolRequestParams::new("top_nodes").with_arguments(
                json!({"cpu_threshold_percent": 85})
                    .as_object()
                    .cloned()
                    .unwrap(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        r.structured_content.unwrap()["nodes"][0]["name"],
        "ip-10-0-1-45"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn resolve_resource_answers_with_the_qualified_resource() {
    let h = Harness::start(false).await;
    let tools = tool_list(&h).await;
    let t = tools
        .iter()
        .find(|t| t["name"] == "resolve_resource")
        .unwrap();
    assert_eq!(t["annotations"]["readOnlyHint"], true);
    assert_eq!(t["annotations"]["idempotentHint"], true);
    let cases = [
        ("deploy", "deployments.v1.apps (Deployment, namespaced)"),
        (
            "apps/v1/Deployment",
            "deployments.v1.apps (Deployment, namespaced)",
        ),
        ("no", "nodes.v1 (Node, cluster-scoped)"),
        ("v1/Pod", "pods.v1 (Pod, namespaced)"),
        (
            "hpa",
            "horizontalpodautoscalers.v2.autoscaling (HorizontalPodAutoscaler, namespaced)",
        ),
        (
            "hpa.v1.autoscaling",
            "horizontalpodautoscalers.v1.autoscaling (HorizontalPodAutoscaler, namespaced)",
        ),
        (
            "leases",
            "leases.v1.coordination.k8s.io (Lease, namespaced)",
        ),
        (
            "events.events.k8s.io",
            "events.v1.events.k8s.io (Event, namespaced)",
        ),
        (
            "EndpointSlice",
            "endpointslices.v1.discovery.k8s.io (EndpointSlice, namespaced)",
        ),
        (
            "pods.metrics.k8s.io",
            "pods.v1beta1.metrics.k8s.io (PodMetrics, namespaced)",
        ),
        ("Secret", "secrets.v1 (Secret, namespaced)"),
    ];
    for (spelling, want) in cases {
        let r = h.ok("resolve_resource", json!({"kind": spelling})).await;
        assert_eq!(r.text, want, "{spelling:?}");
        let qualified = want.split(' ').next().unwrap();
        let again = h.ok("resolve_resource", json!({"kind": qualified})).await;
        assert_eq!(
            again.structured, r.structured,
            "{qualified} must resolve to exactly what {spelling:?} did"
        );
    }
    let r = h.ok("resolve_resource", json!({"kind": "leases"})).await;
    assert_eq!(
        r.structured,
        json!({"resource": {"group": "coordination.k8s.io", "version": "v1", "kind": "Lease", "plural": "leases", "namespaced": true}})
    );
    for bad in ["Secret.v1/x", "deploy/", "déploiement", "a.b/c"] {
        let r = h.call("resolve_resource", json!({"kind": bad})).await;
        assert!(
            r.is_error
                && r.text.contains("Accepted forms")
                && r.text.contains("apps/v1/Deployment"),
            "{bad:?}: {}",
            r.text
        );
    }
}
