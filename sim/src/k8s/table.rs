//! Server-side printing: the `meta.k8s.io/v1` Table kubectl asks for, with the columns
//! `kubectl get` shows for each kind (wide columns have priority 1).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::events;
use super::obj;
use super::resources::{ResourceType, Storage};
use crate::time;

/// What each row carries besides its cells (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(text: Option<&str>) -> Self {
        match text {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

struct Column {
    name: &'static str,
    kind: &'static str,
    priority: u8,
}

const fn col(name: &'static str, kind: &'static str, priority: u8) -> Column {
    Column {
        name,
        kind,
        priority,
    }
}

fn columns(rt: &ResourceType) -> Vec<Column> {
    let name = col("Name", "string", 0);
    let age = col("Age", "string", 0);
    let containers = col("Containers", "string", 1);
    let images = col("Images", "string", 1);
    let selector = col("Selector", "string", 1);
    match (rt.storage, rt.kind) {
        (Storage::CoreEvents, _) | (_, "Event") => vec![
            col("Last Seen", "string", 0),
            col("Type", "string", 0),
            col("Reason", "string", 0),
            col("Object", "string", 0),
            col("Message", "string", 0),
            col("Subobject", "string", 1),
            col("Source", "string", 1),
            col("First Seen", "string", 1),
            col("Count", "integer", 1),
            col("Name", "string", 1),
        ],
        (_, "Pod") => vec![
            name,
            col("Ready", "string", 0),
            col("Status", "string", 0),
            col("Restarts", "string", 0),
            age,
            col("IP", "string", 1),
            col("Node", "string", 1),
            col("Nominated Node", "string", 1),
            col("Readiness Gates", "string", 1),
        ],
        (_, "Deployment") => vec![
            name,
            col("Ready", "string", 0),
            col("Up-to-date", "integer", 0),
            col("Available", "integer", 0),
            age,
            containers,
            images,
            selector,
        ],
        (_, "ReplicaSet") => vec![
            name,
            col("Desired", "integer", 0),
            col("Current", "integer", 0),
            col("Ready", "integer", 0),
            age,
            containers,
            images,
            selector,
        ],
        (_, "StatefulSet") => vec![name, col("Ready", "string", 0), age, containers, images],
        (_, "DaemonSet") => vec![
            name,
            col("Desired", "integer", 0),
            col("Current", "integer", 0),
            col("Ready", "integer", 0),
            col("Up-to-date", "integer", 0),
            col("Available", "integer", 0),
            col("Node Selector", "string", 0),
            age,
            containers,
            images,
            selector,
        ],
        (_, "Node") => vec![
            name,
            col("Status", "string", 0),
            col("Roles", "string", 0),
            age,
            col("Version", "string", 0),
            col("Internal-IP", "string", 1),
            col("External-IP", "string", 1),
            col("OS-Image", "string", 1),
            col("Kernel-Version", "string", 1),
            col("Container-Runtime", "string", 1),
        ],
        (_, "Namespace") => vec![name, col("Status", "string", 0), age],
        (_, "Service") => vec![
            name,
            col("Type", "string", 0),
            col("Cluster-IP", "string", 0),
            col("External-IP", "string", 0),
            col("Port(s)", "string", 0),
            age,
            selector,
        ],
        (_, "Endpoints") => vec![name, col("Endpoints", "string", 0), age],
        (_, "ConfigMap") => vec![name, col("Data", "integer", 0), age],
        (_, "Secret") => vec![
            name,
            col("Type", "string", 0),
            col("Data", "integer", 0),
            age,
        ],
        (_, "ServiceAccount") => vec![name, col("Secrets", "integer", 0), age],
        (_, "PersistentVolumeClaim") => vec![
            name,
            col("Status", "string", 0),
            col("Volume", "string", 0),
            col("Capacity", "string", 0),
            col("Access Modes", "string", 0),
            col("StorageClass", "string", 0),
            col("VolumeAttributesClass", "string", 0),
            age,
            col("VolumeMode", "string", 1),
        ],
        (_, "PodDisruptionBudget") => vec![
            name,
            col("Min Available", "string", 0),
            col("Max Unavailable", "string", 0),
            col("Allowed Disruptions", "integer", 0),
            age,
        ],
        (_, "HorizontalPodAutoscaler") => vec![
            name,
            col("Reference", "string", 0),
            col("Targets", "string", 0),
            col("MinPods", "string", 0),
            col("MaxPods", "integer", 0),
            col("Replicas", "integer", 0),
            age,
        ],
        (_, "NetworkPolicy") => vec![name, col("Pod-Selector", "string", 0), age],
        (_, "ControllerRevision") => vec![
            name,
            col("Controller", "string", 0),
            col("Revision", "integer", 0),
            age,
        ],
        _ => vec![name, age],
    }
}

/// The Table for `objects` (stored shape) of resource type `rt`.
pub fn table(
    rt: &ResourceType,
    objects: &[Value],
    resource_version: &str,
    include: IncludeObject,
    now: DateTime<Utc>,
) -> Value {
    let definitions: Vec<Value> = columns(rt)
        .iter()
        .map(|c| {
            json!({"name": c.name, "type": c.kind, "format": if c.name == "Name" { "name" } else { "" },
                   "description": c.name, "priority": c.priority})
        })
        .collect();
    let rows: Vec<Value> = objects.iter().map(|o| row(rt, o, include, now)).collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

fn row(rt: &ResourceType, object: &Value, include: IncludeObject, now: DateTime<Utc>) -> Value {
    let mut row = json!({"cells": cells(rt, object, now)});
    let shown = match rt.storage {
        Storage::CoreEvents => events::to_events_v1(object),
        Storage::Own(_) | Storage::Metrics => object.clone(),
    };
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => {
            row["object"] = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                   "metadata": shown.get("metadata").cloned().unwrap_or(json!({}))});
        }
        IncludeObject::Object => row["object"] = shown,
    }
    row
}

fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

fn none_if_empty(text: &str) -> Value {
    if text.is_empty() {
        s("<none>")
    } else {
        s(text)
    }
}

fn int(object: &Value, pointer: &str) -> Value {
    json!(obj::i64_at(object, pointer).unwrap_or(0))
}

fn cells(rt: &ResourceType, o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let name = s(obj::name(o));
    let age = s(time::age(
        obj::str_at(o, "/metadata/creationTimestamp"),
        now,
    ));
    match (rt.storage, rt.kind) {
        (Storage::CoreEvents, _) | (_, "Event") => event_cells(o, now),
        (_, "Pod") => pod_cells(o, now),
        (_, "Deployment") => {
            let [containers, images] = container_cells(o);
            vec![
                name,
                s(format!(
                    "{}/{}",
                    obj::i64_at(o, "/status/readyReplicas").unwrap_or(0),
                    obj::i64_at(o, "/spec/replicas").unwrap_or(1)
                )),
                int(o, "/status/updatedReplicas"),
                int(o, "/status/availableReplicas"),
                age,
                containers,
                images,
                s(obj::map_string(o.pointer("/spec/selector/matchLabels"))),
            ]
        }
        (_, "ReplicaSet") => {
            let [containers, images] = container_cells(o);
            vec![
                name,
                json!(obj::i64_at(o, "/spec/replicas").unwrap_or(1)),
                int(o, "/status/replicas"),
                int(o, "/status/readyReplicas"),
                age,
                containers,
                images,
                s(obj::map_string(o.pointer("/spec/selector/matchLabels"))),
            ]
        }
        (_, "StatefulSet") => {
            let [containers, images] = container_cells(o);
            vec![
                name,
                s(format!(
                    "{}/{}",
                    obj::i64_at(o, "/status/readyReplicas").unwrap_or(0),
                    obj::i64_at(o, "/spec/replicas").unwrap_or(1)
                )),
                age,
                containers,
                images,
            ]
        }
        (_, "DaemonSet") => {
            let [containers, images] = container_cells(o);
            vec![
                name,
                int(o, "/status/desiredNumberScheduled"),
                int(o, "/status/currentNumberScheduled"),
                int(o, "/status/numberReady"),
                int(o, "/status/updatedNumberScheduled"),
                int(o, "/status/numberAvailable"),
                none_if_empty(&obj::map_string(
                    o.pointer("/spec/template/spec/nodeSelector"),
                )),
                age,
                containers,
                images,
                s(obj::map_string(o.pointer("/spec/selector/matchLabels"))),
            ]
        }
        (_, "Node") => node_cells(o, name, age),
        (_, "Namespace") => vec![
            name,
            s(obj::str_at(o, "/status/phase").unwrap_or("Active")),
            age,
        ],
        (_, "Service") => service_cells(o, name, age),
        (_, "Endpoints") => {
            let mut addrs = Vec::new();
            for subset in o
                .get("subsets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let ports: Vec<i64> = subset
                    .get("ports")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| obj::i64_at(p, "/port"))
                    .collect();
                for a in subset
                    .get("addresses")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let ip = obj::str_at(a, "/ip").unwrap_or("");
                    if ports.is_empty() {
                        addrs.push(ip.to_owned());
                    }
                    addrs.extend(ports.iter().map(|p| format!("{ip}:{p}")));
                }
            }
            let shown = if addrs.len() > 3 {
                format!("{} + {} more...", addrs[..3].join(","), addrs.len() - 3)
            } else {
                addrs.join(",")
            };
            vec![name, none_if_empty(&shown), age]
        }
        (_, "ConfigMap") => vec![
            name,
            json!(count_keys(o, "data") + count_keys(o, "binaryData")),
            age,
        ],
        (_, "Secret") => vec![
            name,
            s(obj::str_at(o, "/type").unwrap_or("Opaque")),
            json!(count_keys(o, "data") + count_keys(o, "stringData")),
            age,
        ],
        (_, "ServiceAccount") => vec![
            name,
            json!(
                o.get("secrets")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
            ),
            age,
        ],
        (_, "PersistentVolumeClaim") => {
            let modes = o
                .pointer("/status/accessModes")
                .and_then(Value::as_array)
                .map(|m| {
                    m.iter()
                        .filter_map(Value::as_str)
                        .map(|m| match m {
                            "ReadWriteOnce" => "RWO",
                            "ReadOnlyMany" => "ROX",
                            "ReadWriteMany" => "RWX",
                            "ReadWriteOncePod" => "RWOP",
                            other => other,
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            vec![
                name,
                s(obj::str_at(o, "/status/phase").unwrap_or("Pending")),
                s(obj::str_at(o, "/spec/volumeName").unwrap_or("")),
                s(obj::str_at(o, "/status/capacity/storage").unwrap_or("")),
                s(modes),
                none_if_empty(obj::str_at(o, "/spec/storageClassName").unwrap_or("")),
                s("<unset>"),
                age,
                s(obj::str_at(o, "/spec/volumeMode").unwrap_or("Filesystem")),
            ]
        }
        (_, "PodDisruptionBudget") => {
            let field = |p: &str| match o.pointer(p) {
                Some(Value::String(v)) => s(v.clone()),
                Some(Value::Number(n)) => s(n.to_string()),
                _ => s("N/A"),
            };
            vec![
                name,
                field("/spec/minAvailable"),
                field("/spec/maxUnavailable"),
                int(o, "/status/disruptionsAllowed"),
                age,
            ]
        }
        (_, "HorizontalPodAutoscaler") => vec![
            name,
            s(format!(
                "{}/{}",
                obj::str_at(o, "/spec/scaleTargetRef/kind").unwrap_or(""),
                obj::str_at(o, "/spec/scaleTargetRef/name").unwrap_or("")
            )),
            s(hpa_targets(o)),
            s(obj::i64_at(o, "/spec/minReplicas").unwrap_or(1).to_string()),
            int(o, "/spec/maxReplicas"),
            int(o, "/status/currentReplicas"),
            age,
        ],
        (_, "NetworkPolicy") => vec![
            name,
            none_if_empty(&obj::map_string(o.pointer("/spec/podSelector/matchLabels"))),
            age,
        ],
        (_, "ControllerRevision") => {
            let controller = obj::controller_of(o)
                .map(|(k, n, _)| format!("{}/{n}", controller_kind_path(k)))
                .unwrap_or_else(|| "<none>".to_owned());
            vec![name, s(controller), int(o, "/revision"), age]
        }
        _ => vec![name, age],
    }
}

fn controller_kind_path(kind: &str) -> String {
    match kind {
        "StatefulSet" => "statefulset.apps".to_owned(),
        "DaemonSet" => "daemonset.apps".to_owned(),
        other => other.to_ascii_lowercase(),
    }
}

fn count_keys(o: &Value, field: &str) -> usize {
    o.get(field)
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
}

fn container_cells(o: &Value) -> [Value; 2] {
    let containers = o
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = containers
        .iter()
        .filter_map(|c| obj::str_at(c, "/name"))
        .collect();
    let images: Vec<&str> = containers
        .iter()
        .filter_map(|c| obj::str_at(c, "/image"))
        .collect();
    [s(names.join(",")), s(images.join(","))]
}

/// The pod's STATUS column, following the kubelet's precedence: waiting reason, then
/// terminated reason, then the phase; Terminating wins when a deletion is pending.
pub fn pod_status_reason(pod: &Value) -> String {
    let mut reason = obj::str_at(pod, "/status/reason")
        .or_else(|| obj::str_at(pod, "/status/phase"))
        .unwrap_or("Unknown")
        .to_owned();
    let statuses = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut has_running = false;
    for c in statuses.iter().rev() {
        if let Some(r) = obj::str_at(c, "/state/waiting/reason").filter(|r| !r.is_empty()) {
            reason = r.to_owned();
        } else if let Some(t) = c.pointer("/state/terminated") {
            reason = match obj::str_at(t, "/reason").filter(|r| !r.is_empty()) {
                Some(r) => r.to_owned(),
                None => match obj::i64_at(t, "/signal").filter(|s| *s != 0) {
                    Some(sig) => format!("Signal:{sig}"),
                    None => format!("ExitCode:{}", obj::i64_at(t, "/exitCode").unwrap_or(0)),
                },
            };
        } else if c.get("ready").and_then(Value::as_bool) == Some(true)
            && c.pointer("/state/running").is_some()
        {
            has_running = true;
        }
    }
    if reason == "Completed" && has_running {
        reason = if super::pods::is_ready(pod) {
            "Running".to_owned()
        } else {
            "NotReady".to_owned()
        };
    }
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        reason = "Terminating".to_owned();
    }
    reason
}

fn pod_cells(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let statuses = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let total = o
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let ready = statuses
        .iter()
        .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
        .count();
    let restarts: i64 = statuses
        .iter()
        .filter_map(|c| obj::i64_at(c, "/restartCount"))
        .sum();
    let last_restart = statuses
        .iter()
        .filter_map(|c| obj::str_at(c, "/lastState/terminated/finishedAt").and_then(time::parse))
        .max();
    let restarts_cell = match last_restart {
        Some(t) if restarts > 0 => format!("{restarts} ({} ago)", time::human_duration(now - t)),
        _ => restarts.to_string(),
    };
    let gates = o
        .pointer("/spec/readinessGates")
        .and_then(Value::as_array)
        .map(|gs| {
            let passed = gs
                .iter()
                .filter(|g| {
                    obj::str_at(g, "/conditionType")
                        .is_some_and(|t| super::pods::condition_true(o, t))
                })
                .count();
            format!("{passed}/{}", gs.len())
        });
    vec![
        s(obj::name(o)),
        s(format!("{ready}/{total}")),
        s(pod_status_reason(o)),
        s(restarts_cell),
        s(time::age(
            obj::str_at(o, "/metadata/creationTimestamp"),
            now,
        )),
        none_if_empty(obj::str_at(o, "/status/podIP").unwrap_or("")),
        none_if_empty(obj::str_at(o, "/spec/nodeName").unwrap_or("")),
        none_if_empty(obj::str_at(o, "/status/nominatedNodeName").unwrap_or("")),
        none_if_empty(&gates.unwrap_or_default()),
    ]
}

fn node_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let ready = o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| obj::str_at(c, "/type") == Some("Ready")))
        .and_then(|c| obj::str_at(c, "/status"));
    let mut status = match ready {
        Some("True") => "Ready".to_owned(),
        Some("False") => "NotReady".to_owned(),
        _ => "Unknown".to_owned(),
    };
    if o.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    let labels = obj::labels(o);
    let mut roles: Vec<String> = labels
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("node-role.kubernetes.io/")
                .map(str::to_owned)
                .or_else(|| {
                    (k == "kubernetes.io/role").then(|| v.as_str().unwrap_or("").to_owned())
                })
        })
        .filter(|r| !r.is_empty())
        .collect();
    roles.sort();
    let address = |kind: &str| {
        o.pointer("/status/addresses")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|x| obj::str_at(x, "/type") == Some(kind)))
            .and_then(|x| obj::str_at(x, "/address"))
            .unwrap_or("")
            .to_owned()
    };
    let info = |field: &str| {
        obj::str_at(o, &format!("/status/nodeInfo/{field}"))
            .unwrap_or("")
            .to_owned()
    };
    vec![
        name,
        s(status),
        none_if_empty(&roles.join(",")),
        age,
        s(info("kubeletVersion")),
        none_if_empty(&address("InternalIP")),
        none_if_empty(&address("ExternalIP")),
        none_if_empty(&info("osImage")),
        none_if_empty(&info("kernelVersion")),
        none_if_empty(&info("containerRuntimeVersion")),
    ]
}

fn service_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let kind = obj::str_at(o, "/spec/type").unwrap_or("ClusterIP");
    let external = match kind {
        "LoadBalancer" => {
            let ingress: Vec<String> = o
                .pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|i| {
                    obj::str_at(i, "/ip")
                        .or_else(|| obj::str_at(i, "/hostname"))
                        .map(str::to_owned)
                })
                .collect();
            if ingress.is_empty() {
                "<pending>".to_owned()
            } else {
                ingress.join(",")
            }
        }
        "ExternalName" => obj::str_at(o, "/spec/externalName")
            .unwrap_or("")
            .to_owned(),
        _ => String::new(),
    };
    let ports: Vec<String> = o
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let port = obj::i64_at(p, "/port").unwrap_or(0);
            let proto = obj::str_at(p, "/protocol").unwrap_or("TCP");
            match obj::i64_at(p, "/nodePort") {
                Some(node) => format!("{port}:{node}/{proto}"),
                None => format!("{port}/{proto}"),
            }
        })
        .collect();
    vec![
        name,
        s(kind),
        none_if_empty(obj::str_at(o, "/spec/clusterIP").unwrap_or("")),
        none_if_empty(&external),
        none_if_empty(&ports.join(",")),
        age,
        none_if_empty(&obj::map_string(o.pointer("/spec/selector"))),
    ]
}

fn hpa_targets(o: &Value) -> String {
    let specs = o
        .pointer("/spec/metrics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if specs.is_empty() {
        return "<none>".to_owned();
    }
    let current = o
        .pointer("/status/currentMetrics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let parts: Vec<String> = specs
        .iter()
        .map(|m| {
            let resource = obj::str_at(m, "/resource/name").unwrap_or("metric");
            let target = obj::i64_at(m, "/resource/target/averageUtilization")
                .map(|u| format!("{u}%"))
                .or_else(|| obj::str_at(m, "/resource/target/averageValue").map(str::to_owned))
                .unwrap_or_else(|| "<unknown>".to_owned());
            let now = current
                .iter()
                .find(|c| obj::str_at(c, "/resource/name") == Some(resource))
                .and_then(|c| {
                    obj::i64_at(c, "/resource/current/averageUtilization")
                        .map(|u| format!("{u}%"))
                        .or_else(|| {
                            obj::str_at(c, "/resource/current/averageValue").map(str::to_owned)
                        })
                })
                .unwrap_or_else(|| "<unknown>".to_owned());
            format!("{resource}: {now}/{target}")
        })
        .collect();
    parts.join(", ")
}

fn event_cells(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let last = obj::str_at(o, "/lastTimestamp")
        .or_else(|| obj::str_at(o, "/eventTime"))
        .or_else(|| obj::str_at(o, "/metadata/creationTimestamp"));
    let first = obj::str_at(o, "/firstTimestamp")
        .or_else(|| obj::str_at(o, "/eventTime"))
        .or_else(|| obj::str_at(o, "/metadata/creationTimestamp"));
    let object = format!(
        "{}/{}",
        obj::str_at(o, "/involvedObject/kind")
            .unwrap_or("")
            .to_ascii_lowercase(),
        obj::str_at(o, "/involvedObject/name").unwrap_or("")
    );
    let source = match (
        obj::str_at(o, "/source/component"),
        obj::str_at(o, "/source/host"),
    ) {
        (Some(c), Some(h)) if !h.is_empty() => format!("{c}, {h}"),
        (Some(c), _) => c.to_owned(),
        (None, _) => obj::str_at(o, "/reportingComponent")
            .unwrap_or("")
            .to_owned(),
    };
    vec![
        s(time::age(last, now)),
        s(obj::str_at(o, "/type").unwrap_or("")),
        s(obj::str_at(o, "/reason").unwrap_or("")),
        s(object),
        s(obj::str_at(o, "/message").unwrap_or("").trim()),
        s(obj::str_at(o, "/involvedObject/fieldPath").unwrap_or("")),
        s(source),
        s(time::age(first, now)),
        json!(obj::i64_at(o, "/count").unwrap_or(1)),
        s(obj::name(o)),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::resources::find;
    use super::*;

    fn now() -> DateTime<Utc> {
        time::parse("2026-01-01T12:00:00Z").unwrap()
    }

    #[test]
    fn pods_print_like_kubectl() {
        let rt = find("", "v1", "pods").unwrap();
        let pod = json!({"metadata": {"name": "web-1", "creationTimestamp": "2026-01-01T11:00:00Z"},
            "spec": {"containers": [{"name": "app"}], "nodeName": "n1"},
            "status": {"phase": "Running", "podIP": "10.0.1.5", "containerStatuses": [{
                "name": "app", "ready": false, "restartCount": 7,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"reason": "OOMKilled", "finishedAt": "2026-01-01T11:58:00Z"}}}]}});
        let t = table(rt, &[pod], "5", IncludeObject::Metadata, now());
        assert_eq!(
            t["rows"][0]["cells"],
            json!([
                "web-1",
                "0/1",
                "CrashLoopBackOff",
                "7 (2m ago)",
                "60m",
                "10.0.1.5",
                "n1",
                "<none>",
                "<none>"
            ])
        );
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["columnDefinitions"][5]["priority"], 1);
        let terminating = json!({"metadata": {"name": "p", "deletionTimestamp": "2026-01-01T11:00:00Z"}, "status": {"phase": "Running"}});
        assert_eq!(pod_status_reason(&terminating), "Terminating");
    }

    #[test]
    fn nodes_deployments_events_and_fallback() {
        let node = json!({"metadata": {"name": "n1", "creationTimestamp": "2025-12-01T12:00:00Z", "labels": {"node-role.kubernetes.io/worker": ""}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "v1.32.1"}}});
        let t = table(
            find("", "v1", "nodes").unwrap(),
            &[node],
            "1",
            IncludeObject::None,
            now(),
        );
        assert_eq!(t["rows"][0]["cells"][1], "Ready,SchedulingDisabled");
        assert_eq!(t["rows"][0]["cells"][2], "worker");
        assert_eq!(t["rows"][0]["cells"][3], "31d");
        assert!(t["rows"][0].get("object").is_none());

        let d = json!({"metadata": {"name": "web"}, "spec": {"replicas": 5, "selector": {"matchLabels": {"app": "web"}},
            "template": {"spec": {"containers": [{"name": "app", "image": "web:1"}]}}},
            "status": {"readyReplicas": 4, "updatedReplicas": 5, "availableReplicas": 4}});
        let t = table(
            find("apps", "v1", "deployments").unwrap(),
            &[d],
            "1",
            IncludeObject::Metadata,
            now(),
        );
        assert_eq!(
            t["rows"][0]["cells"],
            json!(["web", "4/5", 5, 4, "<unknown>", "app", "web:1", "app=web"])
        );

        let e = json!({"metadata": {"name": "e1"}, "involvedObject": {"kind": "Pod", "name": "web-1"}, "reason": "BackOff",
            "message": "Back-off", "type": "Warning", "lastTimestamp": "2026-01-01T11:59:00Z", "count": 3});
        let t = table(
            find("events.k8s.io", "v1", "events").unwrap(),
            &[e],
            "1",
            IncludeObject::Object,
            now(),
        );
        assert_eq!(
            t["rows"][0]["cells"].as_array().unwrap()[0..5],
            json!(["60s", "Warning", "BackOff", "pod/web-1", "Back-off"])
                .as_array()
                .unwrap()[..]
        );
        assert_eq!(t["rows"][0]["object"]["apiVersion"], "events.k8s.io/v1");

        let t = table(
            find("coordination.k8s.io", "v1", "leases").unwrap(),
            &[json!({"metadata": {"name": "l"}})],
            "1",
            IncludeObject::None,
            now(),
        );
        assert_eq!(t["columnDefinitions"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn hpa_and_pdb_cells() {
        let hpa = json!({"metadata": {"name": "h"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 10,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]},
            "status": {"currentReplicas": 5, "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 85}}}]}});
        let t = table(
            find("autoscaling", "v2", "horizontalpodautoscalers").unwrap(),
            &[hpa],
            "1",
            IncludeObject::None,
            now(),
        );
        assert_eq!(
            t["rows"][0]["cells"].as_array().unwrap()[1..6],
            json!(["Deployment/web", "cpu: 85%/70%", "2", 10, 5])
                .as_array()
                .unwrap()[..]
        );
        let pdb = json!({"metadata": {"name": "p"}, "spec": {"minAvailable": 3}, "status": {"disruptionsAllowed": 1}});
        let t = table(
            find("policy", "v1", "poddisruptionbudgets").unwrap(),
            &[pdb],
            "1",
            IncludeObject::None,
            now(),
        );
        assert_eq!(
            t["rows"][0]["cells"].as_array().unwrap()[1..4],
            json!(["3", "N/A", 1]).as_array().unwrap()[..]
        );
    }
}
