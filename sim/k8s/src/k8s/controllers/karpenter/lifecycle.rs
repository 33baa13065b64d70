//! A NodeClaim's life: launched at once (an instance with a provider id and capacity), its
//! node registered and Ready `node_startup` later on the simulator's clock, and the NodePool's
//! status (resources, node count, Ready).

use chrono::Duration;
use serde_json::{Map, Value, json};

use super::catalogue::{InstanceType, bytes_text, cpu_text};
use super::fit::Resources;
use super::limits::{capacity, claims_of};
use super::provision::requests_json;
use crate::k8s::controllers::{set_condition, write_status};
use crate::k8s::events::{self, EventType, Source};
use crate::k8s::obj;
use crate::k8s::store::Store;
use crate::time;

const KARPENTER: Source<'static> = Source::controller("karpenter");

/// A just-launched NodeClaim's status: the instance, its capacity, Launched and the rest
/// awaiting reconciliation.
fn launched_status(t: &InstanceType, zone: &str, instance: &str, now: &str) -> Value {
    let mut conditions = Vec::new();
    set_condition(&mut conditions, "Launched", "True", "Launched", "", now);
    for kind in ["Registered", "Initialized", "Ready"] {
        set_condition(
            &mut conditions,
            kind,
            "Unknown",
            "AwaitingReconciliation",
            "object is awaiting reconciliation",
            now,
        );
    }
    let (cpu, memory) = t.capacity();
    let (acpu, amemory) = t.allocatable();
    json!({
        "providerID": format!("aws:///{zone}/{instance}"),
        "imageID": "ami-0a1b2c3d4e5f60718",
        "capacity": {"cpu": cpu_text(cpu), "memory": bytes_text(memory), "pods": "58"},
        "allocatable": {"cpu": cpu_text(acpu), "memory": bytes_text(amemory), "pods": "58"},
        "conditions": conditions,
    })
}

/// Creates a launched NodeClaim of this type for the pods packed onto it.
pub fn launch(
    store: &mut Store,
    pool: &Value,
    t: &InstanceType,
    mut labels: Map<String, Value>,
    total: Resources,
    pods: &[Value],
) {
    let pool_name = obj::name(pool).to_owned();
    let name = format!("{pool_name}-{}", store.suffix(5));
    let zone = labels
        .get("topology.kubernetes.io/zone")
        .and_then(Value::as_str)
        .unwrap_or("us-east-1a")
        .to_owned();
    let instance = format!("i-0{:016x}", store.random());
    let now = store.now_string();
    let mut requirements = super::requirements::of_pool(pool);
    requirements.push(
        json!({"key": "node.kubernetes.io/instance-type", "operator": "In", "values": [t.name]}),
    );
    labels.retain(|k, _| {
        !k.starts_with("karpenter.k8s.aws/instance-")
            || k.ends_with("-category")
            || k.ends_with("-family")
    });
    let claim = json!({
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodeClaim",
        "metadata": {
            "name": name,
            "labels": labels,
            "ownerReferences": [{"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "name": pool_name,
                                  "uid": obj::uid(pool), "blockOwnerDeletion": true}],
        },
        "spec": {
            "requirements": requirements,
            "nodeClassRef": pool.pointer("/spec/template/spec/nodeClassRef").cloned().unwrap_or(json!({})),
            "resources": {"requests": requests_json(total)},
            "taints": pool.pointer("/spec/template/spec/taints").cloned().unwrap_or(json!([])),
            "expireAfter": pool.pointer("/spec/template/spec/expireAfter").cloned().unwrap_or(json!("720h")),
        },
        "status": launched_status(t, &zone, &instance, &now),
    });
    let claim = store.insert_new("nodeclaims", claim);
    let capacity_type = labels_capacity_type(&claim);
    let message = format!(
        "Launched nodeclaim {name}: {} {capacity_type} in {zone} (${:.4}/h) for {} pod(s)",
        t.name,
        t.hourly(&capacity_type),
        pods.len()
    );
    events::record(
        store,
        &claim,
        EventType::Normal,
        "Launched",
        &message,
        KARPENTER,
    );
    for pod in pods {
        let message = format!("Pod should schedule on: nodeclaim/{name}");
        super::record_once(store, pod, EventType::Normal, "Nominated", &message);
    }
}

fn labels_capacity_type(claim: &Value) -> String {
    obj::labels(claim)
        .get("karpenter.sh/capacity-type")
        .and_then(Value::as_str)
        .unwrap_or("on-demand")
        .to_owned()
}

/// Registers the node of every NodeClaim whose startup time has passed.
pub fn progress(store: &mut Store, startup: Duration) {
    let now = store.now();
    for claim in store.list_owned("nodeclaims", None) {
        if obj::str_at(&claim, "/status/nodeName").is_some_and(|n| !n.is_empty()) {
            continue;
        }
        let launched = obj::str_at(&claim, "/metadata/creationTimestamp").and_then(time::parse);
        if launched.is_some_and(|t| t + startup > now) {
            continue;
        }
        register(store, claim);
    }
}

/// The Node a NodeClaim's instance registers: the claim's labels, capacity and taints,
/// Ready, owned by the claim.
fn node_object(claim: &Value, node_name: &str, address: &str, now: &str) -> Value {
    let mut labels = obj::labels(claim);
    labels.insert("kubernetes.io/hostname".into(), json!(node_name));
    labels.insert("karpenter.sh/registered".into(), json!("true"));
    labels.insert("karpenter.sh/initialized".into(), json!("true"));
    let arch = labels
        .get("kubernetes.io/arch")
        .cloned()
        .unwrap_or(json!("amd64"));
    let status = claim.get("status").cloned().unwrap_or(json!({}));
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node_name,
            "labels": labels,
            "ownerReferences": [{"apiVersion": "karpenter.sh/v1", "kind": "NodeClaim", "name": obj::name(claim),
                                  "uid": obj::uid(claim), "blockOwnerDeletion": true}],
        },
        "spec": {
            "providerID": status.get("providerID").cloned().unwrap_or(json!("")),
            "taints": claim.pointer("/spec/taints").cloned().unwrap_or(json!([])),
        },
        "status": {
            "capacity": status.get("capacity").cloned().unwrap_or(json!({})),
            "allocatable": status.get("allocatable").cloned().unwrap_or(json!({})),
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now}],
            "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": node_name}],
            "nodeInfo": {"architecture": arch, "operatingSystem": "linux", "kubeletVersion": "v1.31.4-eks-aeac579",
                         "containerRuntimeVersion": "containerd://1.7.25", "osImage": "Amazon Linux 2023"},
        },
    })
}

/// Creates the Node of a NodeClaim and marks the claim Registered, Initialized and Ready.
fn register(store: &mut Store, claim: Value) {
    let n = store.next_counter();
    let address = format!("10.0.{}.{}", 100 + n / 250, n % 250 + 1);
    let node_name = format!("ip-{}.ec2.internal", address.replace('.', "-"));
    let now = store.now_string();
    let status = claim.get("status").cloned().unwrap_or(json!({}));
    let node = node_object(&claim, &node_name, &address, &now);
    let node = store.insert_new("nodes", node);
    let mut status = status;
    let mut conditions: Vec<Value> = status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for kind in ["Registered", "Initialized", "Ready"] {
        set_condition(&mut conditions, kind, "True", kind, "", &now);
    }
    status["conditions"] = json!(conditions);
    status["nodeName"] = json!(node_name);
    write_status(store, "nodeclaims", &claim, status);
    let message = format!(
        "Status condition transitioned, Type: Ready, Status: True, Reason: Ready; node {node_name}"
    );
    events::record(
        store,
        &claim,
        EventType::Normal,
        "Registered",
        &message,
        KARPENTER,
    );
    events::record(
        store,
        &node,
        EventType::Normal,
        "Ready",
        &format!("Node {node_name} status is now: NodeReady"),
        Source::controller("kubelet"),
    );
}

/// Writes each NodePool's status: the capacity of its NodeClaims and Ready.
pub fn pool_status(store: &mut Store) {
    let now = store.now_string();
    for pool in store.list_owned("nodepools", None) {
        let (total, nodes) = claims_of(store, obj::name(&pool))
            .fold((Resources::default(), 0), |(r, n), c| {
                (r.add(capacity(c)), n + 1)
            });
        let mut conditions: Vec<Value> = pool
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let class = obj::str_at(&pool, "/spec/template/spec/nodeClassRef/name").unwrap_or("");
        let (status, reason, message) = if store.get("ec2nodeclasses", "", class).is_some() {
            ("True", "Ready", String::new())
        } else {
            (
                "False",
                "NodeClassNotFound",
                format!("EC2NodeClass {class:?} not found"),
            )
        };
        set_condition(&mut conditions, "Ready", status, reason, &message, &now);
        let status = json!({
            "resources": {"cpu": cpu_text(total.cpu), "memory": bytes_text(total.memory), "nodes": nodes.to_string()},
            "conditions": conditions,
        });
        write_status(store, "nodepools", &pool, status);
    }
}
