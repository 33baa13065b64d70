//! Server-side printing: the `meta.k8s.io/v1` Table kubectl asks for, with the columns
//! `kubectl get` shows for each kind (wide columns have priority 1).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::printers;
use super::resources::ResourceType;

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
        (_, "Event") => vec![
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
        (_, "EndpointSlice") => vec![
            name,
            col("AddressType", "string", 0),
            col("Ports", "string", 0),
            col("Endpoints", "string", 0),
            age,
        ],
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
        (_, kind) => match super::controllers::karpenter::printers::columns(kind) {
            Some(cs) => cs.into_iter().map(|(n, k, p)| col(n, k, p)).collect(),
            None => vec![name, age],
        },
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
    let mut row = json!({"cells": printers::cells(rt, object, now)});
    let shown = super::write::to_api(rt, object.clone());
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

#[cfg(test)]
mod tests {
    use super::super::resources::find;
    use super::*;
    use crate::time;

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
        assert_eq!(printers::pod_status_reason(&terminating), "Terminating");
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
