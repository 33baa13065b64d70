//! kube-state-metrics and cAdvisor series from the simulated cluster: its objects as they
//! stand (each pod from its creation), and the usage the scenario's `kubernetes.metrics`
//! gives, as constant rates and levels.

use serde_json::Value;

use super::{Families, Kind, Window, labels};
use crate::RunningSim;

const PHASES: [&str; 5] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Epoch seconds of the object's creation (0 when absent).
fn created(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s(v, "/metadata/creationTimestamp"))
        .map_or(0, |t| t.timestamp())
}

/// A constant over the window, from `since`.
fn constant(w: Window, since: i64, v: f64) -> Vec<(i64, f64)> {
    w.ticks(since).map(|t| (t, v)).collect()
}

fn gauge(f: &mut Families, name: &str, help: &str, l: &str, points: &[(i64, f64)]) {
    f.add(name, Kind::Gauge, help, name, l, points);
}

/// kube-state-metrics: pods, their containers, deployments and nodes.
pub fn kube_state(sim: &RunningSim, w: Window, f: &mut Families) {
    for pod in sim.kube().list("Pod", None) {
        pod_series(&pod, w, f);
    }
    for d in sim.kube().list("Deployment", None) {
        let l = labels([
            ("namespace", s(&d, "/metadata/namespace")),
            ("deployment", s(&d, "/metadata/name")),
        ]);
        let since = created(&d);
        let n = |p: &str| d.pointer(p).and_then(Value::as_f64).unwrap_or(0.0);
        gauge(
            f,
            "kube_deployment_spec_replicas",
            "Desired replicas of a deployment.",
            &l,
            &constant(w, since, n("/spec/replicas")),
        );
        gauge(
            f,
            "kube_deployment_status_replicas_available",
            "Available replicas of a deployment.",
            &l,
            &constant(w, since, n("/status/availableReplicas")),
        );
        gauge(
            f,
            "kube_deployment_status_replicas_unavailable",
            "Unavailable replicas of a deployment.",
            &l,
            &constant(w, since, n("/status/unavailableReplicas")),
        );
    }
    for node in sim.kube().list("Node", None) {
        node_series(&node, w, f);
    }
}

fn pod_series(pod: &Value, w: Window, f: &mut Families) {
    let (ns, name) = (s(pod, "/metadata/namespace"), s(pod, "/metadata/name"));
    let since = created(pod);
    let node = s(pod, "/spec/nodeName");
    let owner = pod
        .pointer("/metadata/ownerReferences/0")
        .cloned()
        .unwrap_or(Value::Null);
    let info = labels([
        ("namespace", ns),
        ("pod", name),
        ("node", node),
        ("created_by_kind", s(&owner, "/kind")),
        ("created_by_name", s(&owner, "/name")),
    ]);
    gauge(
        f,
        "kube_pod_info",
        "Information about a pod.",
        &info,
        &constant(w, since, 1.0),
    );
    let phase = s(pod, "/status/phase");
    for p in PHASES {
        let l = labels([("namespace", ns), ("pod", name), ("phase", p)]);
        gauge(
            f,
            "kube_pod_status_phase",
            "The pod's current phase.",
            &l,
            &constant(w, since, f64::from(u8::from(p == phase))),
        );
    }
    let ready = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    let l = labels([
        ("namespace", ns),
        ("pod", name),
        ("condition", if ready { "true" } else { "false" }),
    ]);
    gauge(
        f,
        "kube_pod_status_ready",
        "Whether the pod is ready to serve requests.",
        &l,
        &constant(w, since, 1.0),
    );
    for c in pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        container_status(ns, name, c, since, w, f);
    }
    for c in pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        resources(ns, name, node, c, since, w, f);
    }
}

fn container_status(ns: &str, pod: &str, c: &Value, since: i64, w: Window, f: &mut Families) {
    let container = s(c, "/name");
    let l = labels([("namespace", ns), ("pod", pod), ("container", container)]);
    let restarts = c["restartCount"].as_f64().unwrap_or(0.0);
    // Restarts spread evenly from the pod's start to now: increase(...[1h]) shows a crash loop.
    let start = since.max(w.from.timestamp());
    let span = (w.to.timestamp() - start).max(1);
    #[allow(clippy::cast_precision_loss)]
    let ramp: Vec<(i64, f64)> = w
        .ticks(since)
        .map(|t| (t, (restarts * (t - start) as f64 / span as f64).floor()))
        .collect();
    f.add(
        "kube_pod_container_status_restarts",
        Kind::Counter,
        "The number of container restarts per container.",
        "kube_pod_container_status_restarts_total",
        &l,
        &ramp,
    );
    let flag = |b: bool| constant(w, since, f64::from(u8::from(b)));
    gauge(
        f,
        "kube_pod_container_status_ready",
        "Whether the container's readiness check succeeded.",
        &l,
        &flag(c["ready"] == true),
    );
    gauge(
        f,
        "kube_pod_container_status_running",
        "Whether the container is running.",
        &l,
        &flag(c.pointer("/state/running").is_some()),
    );
    if let Some(reason) = c.pointer("/state/waiting/reason").and_then(Value::as_str) {
        let l = labels([
            ("namespace", ns),
            ("pod", pod),
            ("container", container),
            ("reason", reason),
        ]);
        gauge(
            f,
            "kube_pod_container_status_waiting_reason",
            "Why the container is waiting.",
            &l,
            &flag(true),
        );
    }
    if let Some(reason) = c
        .pointer("/lastState/terminated/reason")
        .and_then(Value::as_str)
    {
        let l = labels([
            ("namespace", ns),
            ("pod", pod),
            ("container", container),
            ("reason", reason),
        ]);
        gauge(
            f,
            "kube_pod_container_status_last_terminated_reason",
            "Why the container last terminated.",
            &l,
            &flag(true),
        );
    }
}

fn resources(ns: &str, pod: &str, node: &str, c: &Value, since: i64, w: Window, f: &mut Families) {
    let container = s(c, "/name");
    for (kind, family) in [
        ("limits", "kube_pod_container_resource_limits"),
        ("requests", "kube_pod_container_resource_requests"),
    ] {
        for (resource, unit) in [("cpu", "core"), ("memory", "byte")] {
            let Some(q) = c
                .pointer(&format!("/resources/{kind}/{resource}"))
                .and_then(Value::as_str)
                .and_then(quantity)
            else {
                continue;
            };
            let l = labels([
                ("namespace", ns),
                ("pod", pod),
                ("container", container),
                ("node", node),
                ("resource", resource),
                ("unit", unit),
            ]);
            gauge(
                f,
                family,
                "The container's resource limit or request.",
                &l,
                &constant(w, since, q),
            );
        }
    }
}

fn node_series(node: &Value, w: Window, f: &mut Families) {
    let name = s(node, "/metadata/name");
    let since = created(node);
    for c in node
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let status = c["status"].as_str().unwrap_or("Unknown");
        for st in ["true", "false", "unknown"] {
            let l = labels([
                ("node", name),
                ("condition", c["type"].as_str().unwrap_or("")),
                ("status", st),
            ]);
            let on = status.eq_ignore_ascii_case(st);
            gauge(
                f,
                "kube_node_status_condition",
                "The condition of a cluster node.",
                &l,
                &constant(w, since, f64::from(u8::from(on))),
            );
        }
    }
    let l = labels([("node", name)]);
    let unschedulable = node.pointer("/spec/unschedulable") == Some(&Value::Bool(true));
    gauge(
        f,
        "kube_node_spec_unschedulable",
        "Whether a node can schedule new pods.",
        &l,
        &constant(w, since, f64::from(u8::from(unschedulable))),
    );
    for (resource, unit) in [("cpu", "core"), ("memory", "byte")] {
        if let Some(q) = node
            .pointer(&format!("/status/allocatable/{resource}"))
            .and_then(Value::as_str)
            .and_then(quantity)
        {
            let l = labels([("node", name), ("resource", resource), ("unit", unit)]);
            gauge(
                f,
                "kube_node_status_allocatable",
                "The allocatable resources of a node.",
                &l,
                &constant(w, since, q),
            );
        }
    }
}

/// cAdvisor's container CPU (a counter at the scenario's usage) and working set, and the
/// kubelet's node usage, for what `kubernetes.metrics` gives numbers for.
pub fn cadvisor(sim: &RunningSim, w: Window, f: &mut Families) {
    let metrics = &sim.scenario().kubernetes.metrics;
    for pod in sim.kube().list("Pod", None) {
        if s(&pod, "/status/phase") != "Running" {
            continue;
        }
        let (ns, name) = (s(&pod, "/metadata/namespace"), s(&pod, "/metadata/name"));
        let Some(source) = metrics
            .pods
            .iter()
            .filter(|m| m.namespace == ns && glob(&m.pod, name))
            .max_by_key(|m| (!m.pod.contains('*'), m.pod.len()))
        else {
            continue;
        };
        let since = created(&pod);
        let start = since.max(w.from.timestamp());
        for (container, usage) in &source.containers {
            let l = labels([
                ("namespace", ns),
                ("pod", name),
                ("container", container),
                ("node", s(&pod, "/spec/nodeName")),
            ]);
            if let Some(cores) = quantity(&usage.cpu) {
                #[allow(clippy::cast_precision_loss)]
                let pts: Vec<(i64, f64)> = w
                    .ticks(since)
                    .map(|t| (t, cores * (t - start) as f64))
                    .collect();
                f.add(
                    "container_cpu_usage_seconds",
                    Kind::Counter,
                    "Cumulative CPU time consumed, in seconds.",
                    "container_cpu_usage_seconds_total",
                    &l,
                    &pts,
                );
            }
            if let Some(bytes) = quantity(&usage.memory) {
                gauge(
                    f,
                    "container_memory_working_set_bytes",
                    "Current working set, in bytes.",
                    &l,
                    &constant(w, since, bytes),
                );
            }
        }
    }
    for (node, usage) in &metrics.nodes {
        let l = labels([("node", node.as_str())]);
        let start = w.from.timestamp();
        if let Some(cores) = quantity(&usage.cpu) {
            #[allow(clippy::cast_precision_loss)]
            let pts: Vec<(i64, f64)> = w
                .ticks(0)
                .map(|t| (t, cores * (t - start) as f64))
                .collect();
            f.add(
                "node_cpu_usage_seconds",
                Kind::Counter,
                "Cumulative CPU time of the node, in seconds.",
                "node_cpu_usage_seconds_total",
                &l,
                &pts,
            );
        }
        if let Some(bytes) = quantity(&usage.memory) {
            gauge(
                f,
                "node_memory_working_set_bytes",
                "Current working set of the node, in bytes.",
                &l,
                &constant(w, 0, bytes),
            );
        }
    }
}

/// `*` matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(tail) = text.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|i| tail.is_char_boundary(*i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}

/// A Kubernetes quantity (`250m`, `1.5`, `512Mi`, `4Gi`) as a number.
fn quantity(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let base: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        _ => return None,
    };
    Some(base * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_globs() {
        assert_eq!(quantity("250m"), Some(0.25));
        assert_eq!(quantity("512Mi"), Some(536_870_912.0));
        assert_eq!(quantity("2"), Some(2.0));
        assert_eq!(quantity("lots"), None);
        assert!(glob("payment-*", "payment-service-7d8f9c6b5-x2k9p"));
        assert!(glob("*-x2k9p", "payment-service-7d8f9c6b5-x2k9p"));
        assert!(!glob("payment-*", "checkout-1"));
        assert!(glob("p", "p") && !glob("p", "pp"));
    }
}
