//! `metrics.k8s.io/v1beta1`: pod and node usage from the scenario's `metrics` section.
//! Only pods and nodes the scenario gives numbers for are listed, as metrics-server lists
//! only what it has scraped.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::obj;
use super::store::Store;
use crate::scenario::glob_match;
use crate::time;

/// PodMetrics for the running pods in `namespace` (or all) that have scenario numbers.
pub fn pod_metrics(store: &Store, namespace: Option<&str>, now: DateTime<Utc>) -> Vec<Value> {
    let metrics = store.metrics.clone();
    store
        .list("pods", namespace)
        .filter(|p| obj::str_at(p, "/status/phase") == Some("Running"))
        .filter_map(|pod| {
            let source = metrics
                .pods
                .iter()
                .filter(|m| m.namespace == obj::namespace(pod) && glob_match(&m.pod, obj::name(pod)))
                .max_by_key(|m| (!m.pod.contains('*'), m.pod.len()))?;
            let containers: Vec<Value> = source
                .containers
                .iter()
                .map(|(name, usage)| json!({"name": name, "usage": {"cpu": usage.cpu, "memory": usage.memory}}))
                .collect();
            Some(json!({
                "kind": "PodMetrics",
                "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": {
                    "name": obj::name(pod),
                    "namespace": obj::namespace(pod),
                    "creationTimestamp": time::rfc3339(now),
                    "labels": pod.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
                },
                "timestamp": time::rfc3339(now),
                "window": "30s",
                "containers": containers,
            }))
        })
        .collect()
}

/// NodeMetrics for the nodes that have scenario numbers.
pub fn node_metrics(store: &Store, now: DateTime<Utc>) -> Vec<Value> {
    store
        .list("nodes", None)
        .filter_map(|node| {
            let (_, usage) = store
                .metrics
                .nodes
                .iter()
                .find(|(n, _)| n == obj::name(node))?;
            Some(json!({
                "kind": "NodeMetrics",
                "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": {
                    "name": obj::name(node),
                    "creationTimestamp": time::rfc3339(now),
                    "labels": node.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
                },
                "timestamp": time::rfc3339(now),
                "window": "20s",
                "usage": {"cpu": usage.cpu, "memory": usage.memory},
            }))
        })
        .collect()
}
