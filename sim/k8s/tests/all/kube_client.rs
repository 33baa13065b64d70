//! kube-rs 5 against the simulator: what mcp-kubectl will do through the API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use common::*;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::events::v1::Event as NewEvent;
use kube::api::{Api, EvictParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use kube::{Client, Config};
use serde_json::json;

/// Every call in these tests is bounded by this.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

async fn client(sim: &sopilot_sim_k8s::RunningKube) -> Client {
    let kubeconfig = Kubeconfig::read_from(sim.kubeconfig()).unwrap();
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    config.read_timeout = Some(CALL_TIMEOUT);
    config.connect_timeout = Some(CALL_TIMEOUT);
    // kube 5 retries 429s itself by default, with backoff; a PDB refusal must reach the
    // caller at once.
    config.default_retry = false;
    Client::try_from(config).unwrap()
}

async fn bounded<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(CALL_TIMEOUT, future)
        .await
        .expect("the call finished in time")
}

fn api_error(result: Result<impl std::fmt::Debug, kube::Error>) -> Box<kube::core::Status> {
    match result {
        Err(kube::Error::Api(status)) => status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn list_and_get_with_selectors() {
    let sim = start_payment().await;
    let client = client(&sim).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "payment");
    let listed = bounded(
        pods.list(
            &ListParams::default()
                .labels("app=payment-service")
                .fields("spec.nodeName=ip-10-0-1-45"),
        ),
    )
    .await
    .unwrap();
    let mut names: Vec<String> = listed
        .items
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["payment-service-7d8f9c6b5-4mzvq", CRASH_POD]);
    let crash = bounded(pods.get(CRASH_POD)).await.unwrap();
    let status = crash.status.unwrap().container_statuses.unwrap().remove(0);
    assert_eq!(status.restart_count, 7);
    assert_eq!(
        status
            .last_state
            .unwrap()
            .terminated
            .unwrap()
            .reason
            .as_deref(),
        Some("OOMKilled")
    );

    let paged = bounded(pods.list(&ListParams::default().limit(4)))
        .await
        .unwrap();
    assert_eq!(paged.items.len(), 4);
    let token = paged.metadata.continue_.clone().expect("more pages");
    let rest = bounded(pods.list(&ListParams::default().limit(100).continue_token(&token)))
        .await
        .unwrap();
    assert_eq!(
        paged.items.len() + rest.items.len(),
        pod_names(&sim, "payment").len()
    );

    let bad = bounded(pods.list(&ListParams::default().fields("spec.image=x"))).await;
    let status = api_error(bad);
    assert_eq!((status.code, status.reason.as_str()), (400, "BadRequest"));
    let missing = api_error(bounded(pods.get("nope")).await);
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));

    let nodes: Api<Node> = Api::all(client.clone());
    let pressured = bounded(nodes.get("ip-10-0-1-45")).await.unwrap();
    let conditions = pressured.status.unwrap().conditions.unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c.type_ == "MemoryPressure" && c.status == "True")
    );

    let events: Api<NewEvent> = Api::namespaced(client, "payment");
    let about = bounded(events.list(&ListParams::default().fields(&format!(
        "regarding.kind=Pod,regarding.name={CRASH_POD},reason=BackOff"
    ))))
    .await
    .unwrap();
    assert_eq!(about.items.len(), 1);
    assert_eq!(about.items[0].deprecated_count, Some(31));
}

#[tokio::test]
async fn merge_strategic_and_json_patches() {
    let sim = start_payment().await;
    let client = client(&sim).await;
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), "payment");
    let merged = bounded(hpas.patch(
        "payment-service-hpa",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"maxReplicas": 14}})),
    ))
    .await
    .unwrap();
    assert_eq!(merged.spec.unwrap().max_replicas, 14);
    let ops: json_patch::Patch =
        serde_json::from_value(json!([{"op": "replace", "path": "/spec/minReplicas", "value": 3}]))
            .unwrap();
    let patched = bounded(hpas.patch(
        "payment-service-hpa",
        &PatchParams::default(),
        &Patch::Json::<()>(ops),
    ))
    .await
    .unwrap();
    assert_eq!(patched.spec.unwrap().min_replicas, Some(3));

    let deploys: Api<Deployment> = Api::namespaced(client, "payment");
    let restart = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}}}}});
    let restarted = bounded(deploys.patch(
        "payment-service",
        &PatchParams::default(),
        &Patch::Strategic(restart),
    ))
    .await
    .unwrap();
    // The answer is what was written; the controller's revision bump follows it.
    assert_eq!(
        restarted.metadata.annotations.unwrap()["deployment.kubernetes.io/revision"],
        "15"
    );
    let after = bounded(deploys.get("payment-service")).await.unwrap();
    assert_eq!(
        after.metadata.annotations.unwrap()["deployment.kubernetes.io/revision"],
        "16"
    );
    assert_eq!(after.status.unwrap().updated_replicas, Some(5));
    let dry = PatchParams {
        dry_run: true,
        ..PatchParams::default()
    };
    let scale = bounded(deploys.patch_scale(
        "payment-service",
        &dry,
        &Patch::Merge(json!({"spec": {"replicas": 2}})),
    ))
    .await
    .unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(2));
    assert_eq!(
        bounded(deploys.get_scale("payment-service"))
            .await
            .unwrap()
            .spec
            .unwrap()
            .replicas,
        Some(5)
    );
    let unsupported = api_error(
        bounded(deploys.patch(
            "payment-service",
            &PatchParams::apply("test"),
            &Patch::Apply(json!({})),
        ))
        .await,
    );
    assert_eq!(unsupported.code, 415);
}

#[tokio::test]
async fn stale_resource_versions_conflict() {
    let sim = start_payment().await;
    let client = client(&sim).await;
    let deploys: Api<Deployment> = Api::namespaced(client, "payment");
    let original = bounded(deploys.get("order-service")).await.unwrap();
    let mut first = original.clone();
    first
        .metadata
        .labels
        .get_or_insert_default()
        .insert("owner".into(), "orders".into());
    bounded(deploys.replace("order-service", &PostParams::default(), &first))
        .await
        .unwrap();
    let status = api_error(
        bounded(deploys.replace("order-service", &PostParams::default(), &original)).await,
    );
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    let stale_rv = original.metadata.resource_version.clone().unwrap();
    let patch = json!({"metadata": {"resourceVersion": stale_rv, "labels": {"x": "y"}}});
    let status = api_error(
        bounded(deploys.patch(
            "order-service",
            &PatchParams::default(),
            &Patch::Merge(patch),
        ))
        .await,
    );
    assert_eq!(status.code, 409);
    let mut again = original.clone();
    again.metadata.resource_version = None;
    let created = api_error(bounded(deploys.create(&PostParams::default(), &again)).await);
    assert_eq!(
        (created.code, created.reason.as_str()),
        (409, "AlreadyExists")
    );
}

#[tokio::test]
async fn eviction_respects_the_pdb() {
    let sim = start_payment().await;
    let client = client(&sim).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "payment");
    let config = watcher::Config::default().fields("metadata.name=payment-service-7d8f9c6b5-q9lkc");
    let mut stream = watcher(pods.clone(), config).boxed();
    while !matches!(
        bounded(stream.try_next()).await.unwrap(),
        Some(watcher::Event::InitDone)
    ) {}
    // With one disruption allowed the first ready pod goes and comes back elsewhere...
    let evicted = bounded(pods.evict("payment-service-7d8f9c6b5-q9lkc", &EvictParams::default()))
        .await
        .unwrap();
    assert_eq!(evicted.code, 201);
    assert!(
        sim.get("pod", Some("payment"), "payment-service-7d8f9c6b5-q9lkc")
            .is_none()
    );
    // ...marked first with why it goes, as the API does.
    loop {
        if let Some(watcher::Event::Apply(pod)) = bounded(stream.try_next()).await.unwrap() {
            let conditions = pod.status.unwrap().conditions.unwrap();
            let target = conditions
                .iter()
                .find(|c| c.type_ == "DisruptionTarget")
                .expect("a DisruptionTarget condition");
            assert_eq!(target.reason.as_deref(), Some("EvictionByEvictionAPI"));
            break;
        }
    }
    // ...at three replicas against minAvailable 3, nothing may go.
    let deploys: Api<Deployment> = Api::namespaced(client, "payment");
    bounded(deploys.patch_scale(
        "payment-service",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 3}})),
    ))
    .await
    .unwrap();
    let victim = pod_names(&sim, "payment")
        .into_iter()
        .find(|n| n.starts_with("payment-service-"))
        .unwrap();
    let status = api_error(bounded(pods.evict(&victim, &EvictParams::default())).await);
    assert_eq!(
        (status.code, status.reason.as_str()),
        (429, "TooManyRequests")
    );
    assert!(
        status.message.contains("disruption budget"),
        "{}",
        status.message
    );
    assert!(sim.get("pod", Some("payment"), &victim).is_some());
}

#[tokio::test]
async fn logs_with_options_and_container_choice() {
    let sim = start_payment().await;
    let client = client(&sim).await;
    let pods: Api<Pod> = Api::namespaced(client, "payment");
    let previous = bounded(pods.logs(
        CRASH_POD,
        &LogParams {
            previous: true,
            tail_lines: Some(3),
            ..LogParams::default()
        },
    ))
    .await
    .unwrap();
    assert_eq!(previous.lines().count(), 3);
    assert!(previous.contains("OutOfMemoryError"));
    let two: Pod = serde_json::from_value(json!({
        "metadata": {"name": "two-containers"},
        "spec": {"containers": [{"name": "app", "image": "a:1"}, {"name": "proxy", "image": "p:1"}]}
    }))
    .unwrap();
    bounded(pods.create(&PostParams::default(), &two))
        .await
        .unwrap();
    let status = api_error(bounded(pods.logs("two-containers", &LogParams::default())).await);
    assert_eq!(status.code, 400);
    assert_eq!(
        status.message,
        "a container name must be specified for pod two-containers, choose one of: [app proxy]"
    );
    let chosen = bounded(pods.logs(
        "two-containers",
        &LogParams {
            container: Some("proxy".into()),
            ..LogParams::default()
        },
    ))
    .await
    .unwrap();
    assert_eq!(chosen, "");
}

#[tokio::test]
async fn a_watcher_sees_a_pod_deleted_and_replaced() {
    let sim = start_payment().await;
    let client = client(&sim).await;
    let pods: Api<Pod> = Api::namespaced(client, "payment");
    let mut stream = watcher(
        pods.clone(),
        watcher::Config::default()
            .labels("app=payment-service")
            .timeout(30),
    )
    .boxed();
    // Wait for the initial list to finish.
    loop {
        match bounded(stream.try_next()).await.unwrap() {
            Some(watcher::Event::InitDone) => break,
            Some(_) => continue,
            None => panic!("the watch ended before its initial list"),
        }
    }
    bounded(pods.delete(CRASH_POD, &Default::default()))
        .await
        .unwrap();
    let mut deleted = false;
    let mut added = None;
    while !(deleted && added.is_some()) {
        match bounded(stream.try_next()).await.unwrap() {
            Some(watcher::Event::Delete(pod)) => {
                deleted |= pod.metadata.name.as_deref() == Some(CRASH_POD)
            }
            Some(watcher::Event::Apply(pod)) => {
                let name = pod.metadata.name.clone().unwrap();
                if name != CRASH_POD
                    && pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
                {
                    added = Some(name);
                }
            }
            Some(_) => {}
            None => panic!("the watch ended early"),
        }
    }
    let added = added.unwrap();
    assert!(added.starts_with("payment-service-7d8f9c6b5-"));
    assert!(sim.get("pod", Some("payment"), &added).is_some());
}

#[tokio::test]
async fn a_stale_watch_gets_410_and_a_streaming_watch_gets_its_bookmark() {
    let sim = start_payment().await;
    let url = format!(
        "{}/api/v1/namespaces/payment/pods?watch=true&resourceVersion=1&timeoutSeconds=1",
        sim.kubernetes_url()
    );
    let body = raw_get(&url).await;
    let first: serde_json::Value = serde_json::from_str(body.lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "ERROR");
    assert_eq!(first["object"]["code"], 410);

    let url = format!(
        "{}/api/v1/namespaces/payment/pods?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1&labelSelector=app%3Dorder-service",
        sim.kubernetes_url()
    );
    let body = raw_get(&url).await;
    let lines: Vec<serde_json::Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{body}");
    assert!(lines[..2].iter().all(|l| l["type"] == "ADDED"));
    assert_eq!(lines[2]["type"], "BOOKMARK");
    assert_eq!(
        lines[2]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
}

/// A plain HTTP GET over a TCP socket (the watch ends by its timeoutSeconds).
async fn raw_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = bounded(tokio::net::TcpStream::connect(host)).await.unwrap();
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    bounded(stream.read_to_end(&mut raw)).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (_, body) = text.split_once("\r\n\r\n").unwrap();
    // Chunked encoding: keep only the JSON lines.
    body.lines()
        .filter(|l| l.starts_with('{'))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn scale_replace_and_log_windows() {
    let sim = start_payment().await;
    let client = client(&sim).await;
    let sets: Api<k8s_openapi::api::apps::v1::StatefulSet> =
        Api::namespaced(client.clone(), "payment");
    let mut scale = bounded(sets.get_scale("postgres")).await.unwrap();
    assert_eq!(
        scale.status.as_ref().unwrap().selector.as_deref(),
        Some("app=database")
    );
    scale.spec.as_mut().unwrap().replicas = Some(4);
    let replaced = bounded(sets.replace_scale("postgres", &PostParams::default(), &scale))
        .await
        .unwrap();
    assert_eq!(replaced.spec.unwrap().replicas, Some(4));
    assert!(sim.get("pod", Some("payment"), "postgres-3").is_some());
    // The same (now stale) Scale again: a conflict.
    let stale = bounded(sets.replace_scale("postgres", &PostParams::default(), &scale)).await;
    assert_eq!(api_error(stale).code, 409);

    let pods: Api<Pod> = Api::namespaced(client, "payment");
    // The previous run ended 4 minutes ago: a 60-second window holds none of its lines.
    let recent = bounded(pods.logs(
        CRASH_POD,
        &LogParams {
            previous: true,
            since_seconds: Some(60),
            ..LogParams::default()
        },
    ))
    .await
    .unwrap();
    assert_eq!(recent, "");
    let limited = bounded(pods.logs(
        CRASH_POD,
        &LogParams {
            previous: true,
            limit_bytes: Some(10),
            ..LogParams::default()
        },
    ))
    .await
    .unwrap();
    assert_eq!(limited.len(), 10);
}

#[tokio::test]
async fn node_and_event_watches_see_a_cordon() {
    let sim = start_payment().await;
    let client = client(&sim).await;
    let nodes: Api<Node> = Api::all(client.clone());
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client, "default");
    let mut node_stream = watcher(
        nodes.clone(),
        watcher::Config::default().fields("metadata.name=ip-10-0-1-45"),
    )
    .boxed();
    let mut event_stream = watcher(
        events,
        watcher::Config::default().fields("reason=NodeNotSchedulable"),
    )
    .boxed();
    while !matches!(
        bounded(node_stream.try_next()).await.unwrap(),
        Some(watcher::Event::InitDone)
    ) {}
    while !matches!(
        bounded(event_stream.try_next()).await.unwrap(),
        Some(watcher::Event::InitDone)
    ) {}
    bounded(nodes.cordon("ip-10-0-1-45")).await.unwrap();
    loop {
        if let Some(watcher::Event::Apply(node)) = bounded(node_stream.try_next()).await.unwrap()
            && node.spec.and_then(|s| s.unschedulable) == Some(true)
        {
            break;
        }
    }
    loop {
        if let Some(watcher::Event::Apply(event)) = bounded(event_stream.try_next()).await.unwrap()
        {
            assert_eq!(event.involved_object.name.as_deref(), Some("ip-10-0-1-45"));
            break;
        }
    }
}
