//! The cells of each kind's Table row: what `kubectl get` prints, computed the way the
//! API server's printers compute it (pod status reasons, node roles, HPA targets...).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::obj;
use super::resources::ResourceType;
use crate::time;

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

pub fn cells(rt: &ResourceType, o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let name = s(obj::name(o));
    let age = s(time::age(
        obj::str_at(o, "/metadata/creationTimestamp"),
        now,
    ));
    match (rt.storage, rt.kind) {
        (_, "Event") => event_cells(o, now),
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
        (_, "EndpointSlice") => {
            let ports: Vec<String> = o
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| obj::i64_at(p, "/port").map(|n| n.to_string()))
                .collect();
            let addresses: Vec<String> = o
                .get("endpoints")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| {
                    e.pointer("/addresses/0")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect();
            let shown = if addresses.len() > 3 {
                format!(
                    "{} + {} more...",
                    addresses[..3].join(","),
                    addresses.len() - 3
                )
            } else {
                addresses.join(",")
            };
            vec![
                name,
                s(obj::str_at(o, "/addressType").unwrap_or("IPv4")),
                none_if_empty(&ports.join(",")),
                none_if_empty(&shown),
                age,
            ]
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
        (_, kind) => {
            super::controllers::karpenter::printers::cells(kind, o, name.clone(), age.clone())
                .unwrap_or_else(|| vec![name, age])
        }
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
