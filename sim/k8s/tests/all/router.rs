//! The router driven directly (tower `oneshot`): refusals are Kubernetes `Status`
//! objects with the right codes, and no path, method, query or body makes it panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::Value;
use sopilot_sim_k8s::{KubeState, Limits, kube_router};
use tower::ServiceExt;

fn router_with(limits: Limits) -> Router {
    let kubernetes = common::payment_scenario();
    kube_router(KubeState::new(&kubernetes, 7, limits).unwrap())
}

async fn send(
    router: &Router,
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(ct) = content_type {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        router
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap()),
    )
    .await
    .expect("the router answered in time")
    .unwrap();
    let status = response.status();
    let bytes = tokio::time::timeout(Duration::from_secs(10), response.into_body().collect())
        .await
        .expect("the body arrived in time")
        .unwrap()
        .to_bytes();
    (status, bytes.to_vec())
}

fn status_of(body: &[u8]) -> Value {
    let status: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(status["kind"], "Status");
    status
}

#[tokio::test]
async fn refusals_are_statuses_with_the_right_codes() {
    let router = router_with(Limits {
        max_body_bytes: 1024,
        ..Limits::default()
    });
    let pod = "/api/v1/namespaces/payment/pods/payment-service-7d8f9c6b5-x2k9p";
    type Case<'a> = (&'a str, String, Option<&'a str>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "GET",
            "/api/v1/namespaces/payment/pods/nope".into(),
            None,
            vec![],
            404,
            "NotFound",
        ),
        (
            "GET",
            "/api/v1/gadgets".into(),
            None,
            vec![],
            404,
            "NotFound",
        ),
        (
            "PUT",
            "/api/v1/namespaces/payment/pods".into(),
            None,
            vec![],
            405,
            "MethodNotAllowed",
        ),
        (
            "DELETE",
            "/apis/metrics.k8s.io/v1beta1/nodes/ip-10-0-1-45".into(),
            None,
            vec![],
            405,
            "MethodNotAllowed",
        ),
        (
            "PATCH",
            pod.into(),
            Some("text/plain"),
            b"{}".to_vec(),
            415,
            "UnsupportedMediaType",
        ),
        (
            "PATCH",
            pod.into(),
            Some("application/apply-patch+yaml"),
            b"{}".to_vec(),
            415,
            "UnsupportedMediaType",
        ),
        (
            "POST",
            "/api/v1/namespaces/payment/configmaps".into(),
            Some("application/vnd.kubernetes.protobuf"),
            b"k8s\0".to_vec(),
            415,
            "UnsupportedMediaType",
        ),
        (
            "POST",
            "/api/v1/namespaces/payment/configmaps".into(),
            Some("application/json"),
            vec![b' '; 4096],
            413,
            "RequestEntityTooLarge",
        ),
        (
            "POST",
            "/api/v1/namespaces/payment/configmaps".into(),
            Some("application/json"),
            b"{not json".to_vec(),
            400,
            "BadRequest",
        ),
        (
            "GET",
            "/api/v1/pods?labelSelector=app%20in%20(x".into(),
            None,
            vec![],
            400,
            "BadRequest",
        ),
        (
            "GET",
            "/api/v1/pods?fieldSelector=spec.image%3Dx".into(),
            None,
            vec![],
            400,
            "BadRequest",
        ),
        (
            "GET",
            "/api/v1/namespaces/payment/events?fieldSelector=regarding.name%3Dx".into(),
            None,
            vec![],
            400,
            "BadRequest",
        ),
        (
            "PATCH",
            pod.into(),
            Some("application/merge-patch+json"),
            br#"{"spec":{"containers":[{"name":"x","image":"y"}]}}"#.to_vec(),
            422,
            "Invalid",
        ),
        (
            "PATCH",
            pod.into(),
            Some("application/json-patch+json"),
            br#"[{"op":"remove","path":"/nope"}]"#.to_vec(),
            422,
            "Invalid",
        ),
        (
            "PATCH",
            pod.into(),
            Some("application/merge-patch+json"),
            br#"{"metadata":{"resourceVersion":"1"}}"#.to_vec(),
            409,
            "Conflict",
        ),
        (
            "POST",
            format!("{pod}/eviction?dryRun=Bogus"),
            Some("application/json"),
            b"{}".to_vec(),
            400,
            "BadRequest",
        ),
        (
            "GET",
            format!("{pod}/log?tailLines=-1"),
            None,
            vec![],
            422,
            "Invalid",
        ),
        (
            "GET",
            format!("{pod}/log?tailLines=many"),
            None,
            vec![],
            400,
            "BadRequest",
        ),
        ("GET", format!("{pod}/exec"), None, vec![], 404, "NotFound"),
    ];
    // Runaway replica counts are refused.
    let scale = "/apis/apps/v1/namespaces/payment/deployments/payment-service/scale";
    let (status, _) = send(
        &router,
        "PATCH",
        scale,
        Some("application/merge-patch+json"),
        br#"{"spec":{"replicas":9223372036854775807}}"#.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Absurd log windows are clamped, not a panic.
    let huge = format!("{pod}/log?previous=true&sinceSeconds=9223372036854775807&timestamps=true");
    let (status, bytes) = send(&router, "GET", &huge, None, vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&bytes).contains("OutOfMemoryError"));
    for (method, uri, ct, body, code, reason) in cases {
        let (status, bytes) = send(&router, method, &uri, ct, body).await;
        assert_eq!(
            status.as_u16(),
            code,
            "{method} {uri}: {}",
            String::from_utf8_lossy(&bytes)
        );
        let s = status_of(&bytes);
        assert_eq!(
            (s["code"].as_u64(), s["reason"].as_str()),
            (Some(u64::from(code)), Some(reason)),
            "{method} {uri}"
        );
    }
}

#[tokio::test]
async fn discovery_and_dry_run_delete_by_body() {
    let router = router_with(Limits::default());
    let (status, bytes) = send(&router, "GET", "/apis/apps/v1", None, vec![]).await;
    assert_eq!(status, StatusCode::OK);
    let list: Value = serde_json::from_slice(&bytes).unwrap();
    let names: Vec<&str> = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for want in [
        "deployments",
        "deployments/scale",
        "deployments/status",
        "statefulsets/scale",
        "replicasets/scale",
        "daemonsets",
    ] {
        assert!(names.contains(&want), "{want}");
    }
    let pod = "/api/v1/namespaces/payment/pods/payment-service-7d8f9c6b5-x2k9p";
    let (status, bytes) = send(
        &router,
        "DELETE",
        pod,
        Some("application/json"),
        br#"{"propagationPolicy":"Background","dryRun":["All"]}"#.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let answer: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(answer["metadata"]["deletionTimestamp"].is_string());
    let (status, _) = send(&router, "GET", pod, None, vec![]).await;
    assert_eq!(status, StatusCode::OK, "a dry-run delete leaves the pod");
}

#[tokio::test]
async fn the_watch_cap_is_enforced() {
    let router = router_with(Limits {
        max_watches: 1,
        ..Limits::default()
    });
    let request = |uri: &str| Request::builder().uri(uri).body(Body::empty()).unwrap();
    let open = router
        .clone()
        .oneshot(request("/api/v1/pods?watch=true&timeoutSeconds=5"))
        .await
        .unwrap();
    assert_eq!(open.status(), StatusCode::OK);
    let refused = router
        .clone()
        .oneshot(request("/api/v1/pods?watch=true&timeoutSeconds=5"))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
    drop(open);
    let again = router
        .clone()
        .oneshot(request("/api/v1/pods?watch=true&timeoutSeconds=1"))
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "a closed watch frees its slot"
    );
}

const SEGMENTS: &[&str] = &[
    "api",
    "apis",
    "v1",
    "apps",
    "policy",
    "metrics.k8s.io",
    "v1beta1",
    "namespaces",
    "payment",
    "default",
    "pods",
    "nodes",
    "deployments",
    "replicasets",
    "statefulsets",
    "events",
    "poddisruptionbudgets",
    "payment-service",
    "payment-service-7d8f9c6b5-x2k9p",
    "postgres-0",
    "ip-10-0-1-45",
    "scale",
    "status",
    "log",
    "eviction",
    "openapi",
    "v3",
    "",
    "..",
    "%00",
    "%ff",
    "x",
];
const QUERIES: &[&str] = &[
    "labelSelector=app%3Dx",
    "labelSelector=%21%21",
    "labelSelector=a+in+(",
    "fieldSelector=spec.nodeName%3Dx",
    "fieldSelector=%3D%3D",
    "limit=2",
    "limit=-5",
    "continue=zz",
    "continue=99999999999999999999",
    "dryRun=All",
    "dryRun=",
    "tailLines=1",
    "sinceSeconds=0",
    "sinceSeconds=9223372036854775807",
    "sinceTime=0001-01-01T00:00:00Z",
    "limitBytes=3",
    "previous=true",
    "container=nope",
    "timestamps=true",
    "propagationPolicy=Orphan",
    "gracePeriodSeconds=x",
    "includeObject=Object",
    "%zz",
    "resourceVersion=abc",
];
const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/json-patch+json",
    "application/apply-patch+yaml",
    "text/plain",
    "application/vnd.kubernetes.protobuf",
];

fn json_body() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z$/{}.-]{0,12}".prop_map(Value::from),
    ];
    let keys = prop::sample::select(vec![
        "metadata",
        "name",
        "spec",
        "status",
        "replicas",
        "minReplicas",
        "maxReplicas",
        "containers",
        "kind",
        "apiVersion",
        "resourceVersion",
        "$patch",
        "$retainKeys",
        "op",
        "path",
        "value",
        "labels",
        "template",
        "selector",
        "matchLabels",
        "conditions",
        "type",
        "dryRun",
    ]);
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..5).prop_map(|entries| Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect()
            )),
        ]
    })
    .prop_map(|v| serde_json::to_vec(&v).unwrap())
}

fn request_parts() -> impl Strategy<Value = (String, String, Option<String>, Vec<u8>)> {
    let method = prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
    // Mostly well-formed API paths (so requests reach the verbs), sometimes noise.
    let resource = prop::sample::select(vec![
        ("/api/v1", "pods", true),
        ("/api/v1", "nodes", false),
        ("/api/v1", "events", true),
        ("/api/v1", "secrets", true),
        ("/api/v1", "configmaps", true),
        ("/api/v1", "services", true),
        ("/apis/apps/v1", "deployments", true),
        ("/apis/apps/v1", "replicasets", true),
        ("/apis/apps/v1", "statefulsets", true),
        ("/apis/apps/v1", "daemonsets", true),
        ("/apis/policy/v1", "poddisruptionbudgets", true),
        ("/apis/autoscaling/v2", "horizontalpodautoscalers", true),
        ("/apis/events.k8s.io/v1", "events", true),
        ("/apis/metrics.k8s.io/v1beta1", "pods", true),
        ("/apis/metrics.k8s.io/v1beta1", "nodes", false),
        ("/apis/networking.k8s.io/v1", "networkpolicies", true),
        ("/openapi/v3", "apis", false),
    ]);
    let namespace = prop_oneof![1 => Just("default"), 6 => Just("payment"), 1 => Just("nope")];
    let all_namespaces = prop::bool::weighted(0.15);
    let name = prop::option::of(prop::sample::select(vec![
        "payment-service",
        "payment-service-7d8f9c6b5-x2k9p",
        "payment-service-7d8f9c6b5-q9lkc",
        "postgres-0",
        "ip-10-0-1-45",
        "payment-pdb",
        "payment-service-hpa",
        "payment-db-credentials",
        "database-access-policy",
        "nope",
    ]));
    let sub = prop_oneof![4 => Just(None), 1 => prop::sample::select(vec!["scale", "status", "log", "eviction", "exec"]).prop_map(Some)];
    let noise = prop_oneof![8 => Just(Vec::new()), 1 => prop::collection::vec(prop::sample::select(SEGMENTS.to_vec()), 1..3)];
    let path = (resource, namespace, all_namespaces, name, sub, noise).prop_map(
        |((base, plural, namespaced), ns, all, name, sub, noise)| {
            let mut path = base.to_owned();
            if namespaced && !(all && name.is_none()) {
                path.push_str(&format!("/namespaces/{ns}"));
            }
            path.push_str(&format!("/{plural}"));
            if let Some(name) = name {
                path.push_str(&format!("/{name}"));
                if let Some(sub) = sub {
                    path.push_str(&format!("/{sub}"));
                }
            }
            for segment in noise {
                path.push_str(&format!("/{segment}"));
            }
            path
        },
    );
    let query = prop::collection::vec(prop::sample::select(QUERIES.to_vec()), 0..3)
        .prop_map(|q| q.join("&"));
    let content_type = prop_oneof![
        1 => Just(None),
        4 => Just(Some("application/json".to_owned())),
        4 => prop::sample::select(CONTENT_TYPES[1..4].to_vec()).prop_map(|c| Some(c.to_owned())),
        1 => prop::sample::select(CONTENT_TYPES[4..].to_vec()).prop_map(|c| Some(c.to_owned())),
    ];
    let body = prop_oneof![json_body(), prop::collection::vec(any::<u8>(), 0..64)];
    // Watches stream until their timeout; the watch test covers them.
    (method, path, query, content_type, body).prop_map(|(m, p, q, ct, b)| {
        let uri = if q.is_empty() { p } else { format!("{p}?{q}") };
        (m.to_owned(), uri, ct, b)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn handlers_never_panic((method, uri, content_type, body) in request_parts()) {
        // One world for all cases: writes accumulate, which explores more states.
        static WORLD: std::sync::OnceLock<(tokio::runtime::Runtime, Router)> = std::sync::OnceLock::new();
        let (runtime, router) = WORLD.get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            (runtime, router_with(Limits::default()))
        });
        let Ok(_) = Method::from_bytes(method.as_bytes()) else { return Ok(()) };
        let Ok(_) = uri.parse::<axum::http::Uri>() else { return Ok(()) };
        let (status, bytes) = runtime.block_on(send(router, &method, &uri, content_type.as_deref(), body));
        prop_assert!(status.as_u16() < 500 || status.as_u16() == 500 && String::from_utf8_lossy(&bytes).contains("PodDisruptionBudget"),
            "{} {} -> {}: {}", method, uri, status, String::from_utf8_lossy(&bytes));
        if status.is_client_error() && !bytes.is_empty() {
            let parsed: Result<Value, _> = serde_json::from_slice(&bytes);
            if let Ok(s) = parsed {
                prop_assert_eq!(&s["kind"], "Status");
                prop_assert_eq!(s["code"].as_u64(), Some(u64::from(status.as_u16())));
            }
        }
    }
}
