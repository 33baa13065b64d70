//! Loading a scenario's `kubernetes` section into a store: relative times resolved,
//! owners resolved by name, what a person should not have to write filled in, and the
//! controllers run once (quietly) so the world starts settled.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::controllers;
use super::logs::LogBook;
use super::obj;
use super::pods;
use super::resources::{self, ResourceType};
use super::store::Store;
use crate::scenario::KubernetesScenario;
use crate::{K8sSimError, time};

/// The store a scenario describes, as of `now`.
pub fn load(
    scenario: &KubernetesScenario,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<Store, K8sSimError> {
    let mut store = Store::new(
        seed,
        LogBook::new(scenario.logs.clone()),
        scenario.metrics.clone(),
    );
    store.recording = false;
    store.karpenter = scenario.karpenter;
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        ensure_namespace(&mut store, ns);
    }
    // Owners first, so that owner references by name resolve whatever the file order.
    let mut objects: Vec<(usize, Value, &'static ResourceType)> = Vec::new();
    for item in &scenario.objects {
        let api_version = obj::str_at(&item.object, "/apiVersion").unwrap_or("");
        let Some(rt) = resources::by_kind(api_version, obj::kind(&item.object)) else {
            return Err(K8sSimError::scenario(item.line, "unknown kind"));
        };
        let mut object = item.object.clone();
        time::resolve_relative(&mut object, now);
        if let Some(created) = object
            .pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            && time::parse(created).is_none()
        {
            return Err(K8sSimError::scenario(
                item.line,
                format!("creationTimestamp {created:?} is not an RFC 3339 time"),
            ));
        }
        objects.push((item.line, object, rt));
    }
    objects.sort_by_key(|(_, o, _)| load_rank(obj::kind(o)));
    for (line, object, rt) in objects {
        load_object(&mut store, line, object, rt)?;
    }
    controllers::reconcile(&mut store);
    store.take_changes();
    store.recording = true;
    Ok(store)
}

/// The order objects load in: namespaces and nodes, then owners before what they own.
fn load_rank(kind: &str) -> u8 {
    match kind {
        "Namespace" => 0,
        "Node" | "PriorityClass" | "NodePool" | "EC2NodeClass" => 1,
        "Deployment" | "StatefulSet" | "DaemonSet" | "CronJob" => 2,
        "ReplicaSet" | "Job" => 3,
        "Pod" => 4,
        _ => 5,
    }
}

fn ensure_namespace(store: &mut Store, name: &str) {
    if store.get("namespaces", "", name).is_none() {
        store.insert_new(
            "namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
                   "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        );
    }
}

/// Stores one scenario object as written (status included), completing what a person
/// should not have to write: owner uids, pod defaults, namespaces.
fn load_object(
    store: &mut Store,
    line: usize,
    mut object: Value,
    rt: &'static ResourceType,
) -> Result<(), K8sSimError> {
    let Some(key) = rt.store_key() else {
        return Err(K8sSimError::scenario(
            line,
            format!("{} objects cannot be stored", rt.kind),
        ));
    };
    let namespace = obj::namespace(&object).to_owned();
    if rt.namespaced {
        ensure_namespace(store, &namespace);
    }
    if rt.kind == "Namespace" {
        if store.get("namespaces", "", obj::name(&object)).is_some() {
            store.remove("namespaces", "", obj::name(&object));
        }
        if object.pointer("/status/phase").is_none() {
            obj::set(&mut object, &["status", "phase"], json!("Active"));
        }
    }
    resolve_owners(store, line, &mut object, &namespace)?;
    super::defaults::apply(rt.kind, &mut object);
    if object.get("spec").is_some() && object.pointer("/metadata/generation").is_none() {
        obj::set(&mut object, &["metadata", "generation"], json!(1));
    }
    if rt.kind == "Pod" {
        let uid = store.uid();
        let meta = obj::object_mut(&mut object, &["metadata"]);
        if let Some(meta) = meta {
            meta.entry("uid").or_insert(json!(uid));
        }
        if object.pointer("/metadata/creationTimestamp").is_none() {
            let now = store.now_string();
            obj::set(&mut object, &["metadata", "creationTimestamp"], json!(now));
        }
        pods::admit(store, &mut object);
    }
    if rt.kind == "Event" {
        fill_event(store, &mut object);
    }
    store.insert_new(key, object);
    Ok(())
}

/// Owner references may name their owner without a uid (`{kind: ReplicaSet, name: x}`);
/// fill the uid, apiVersion and controller flag from the owner loaded earlier.
fn resolve_owners(
    store: &Store,
    line: usize,
    object: &mut Value,
    namespace: &str,
) -> Result<(), K8sSimError> {
    let Some(refs) = object
        .pointer_mut("/metadata/ownerReferences")
        .and_then(Value::as_array_mut)
    else {
        return Ok(());
    };
    let many = refs.len() > 1;
    for r in refs.iter_mut() {
        let kind = obj::str_at(r, "/kind").unwrap_or("").to_owned();
        let name = obj::str_at(r, "/name").unwrap_or("").to_owned();
        let owner_rt = resources::RESOURCES
            .iter()
            .find(|t| {
                t.kind == kind
                    && t.store_key().is_some()
                    && matches!(t.storage, resources::Storage::Own(_))
            })
            .ok_or_else(|| {
                K8sSimError::scenario(line, format!("owner kind {kind:?} is not served"))
            })?;
        let owner_ns = if owner_rt.namespaced { namespace } else { "" };
        let owner = owner_rt
            .store_key()
            .and_then(|k| store.get(k, owner_ns, &name))
            .ok_or_else(|| {
                K8sSimError::scenario(
                    line,
                    format!("owner {kind} {name:?} is not in the scenario"),
                )
            })?;
        if let Some(map) = r.as_object_mut() {
            map.insert("uid".into(), json!(obj::uid(owner)));
            map.entry("apiVersion")
                .or_insert(json!(owner_rt.api_version()));
            map.entry("controller").or_insert(json!(!many));
            map.entry("blockOwnerDeletion").or_insert(json!(true));
        }
    }
    Ok(())
}

/// Completes a scenario event: the involved object's uid and namespace, the count and
/// the timestamps, and a source.
fn fill_event(store: &Store, event: &mut Value) {
    let kind = obj::str_at(event, "/involvedObject/kind")
        .unwrap_or("")
        .to_owned();
    let name = obj::str_at(event, "/involvedObject/name")
        .unwrap_or("")
        .to_owned();
    let ns = obj::str_at(event, "/involvedObject/namespace")
        .map(str::to_owned)
        .unwrap_or_else(|| {
            if kind == "Node" {
                String::new()
            } else {
                obj::namespace(event).to_owned()
            }
        });
    if let Some(rt) = resources::lookup(&kind) {
        let ns_key = if rt.namespaced { ns.as_str() } else { "" };
        if let Some(target) = rt.store_key().and_then(|k| store.get(k, ns_key, &name)) {
            let uid = obj::uid(target).to_owned();
            if event.pointer("/involvedObject/uid").is_none() {
                obj::set(event, &["involvedObject", "uid"], json!(uid));
            }
            if event.pointer("/involvedObject/apiVersion").is_none() {
                obj::set(
                    event,
                    &["involvedObject", "apiVersion"],
                    json!(rt.api_version()),
                );
            }
        }
        if rt.namespaced && event.pointer("/involvedObject/namespace").is_none() {
            obj::set(event, &["involvedObject", "namespace"], json!(ns));
        }
    }
    let last = obj::str_at(event, "/lastTimestamp").map(str::to_owned);
    let first = obj::str_at(event, "/firstTimestamp")
        .map(str::to_owned)
        .or(last.clone());
    if let Some(first) = first {
        obj::set(event, &["firstTimestamp"], json!(first));
        if event.pointer("/metadata/creationTimestamp").is_none() {
            obj::set(event, &["metadata", "creationTimestamp"], json!(first));
        }
        if last.is_none() {
            obj::set(event, &["lastTimestamp"], json!(first));
        }
    }
    if event.get("count").is_none() {
        event["count"] = json!(1);
    }
    if event.get("type").is_none() {
        event["type"] = json!("Normal");
    }
}
