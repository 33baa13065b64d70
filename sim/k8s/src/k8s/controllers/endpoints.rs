//! The endpoints controllers: each Service with a selector gets an Endpoints object and
//! an EndpointSlice listing its pods' addresses (ready and not ready), as `kubectl
//! describe service` and "service has no endpoints" diagnoses read them.

use serde_json::{Value, json};

use super::super::obj;
use super::super::pods;
use super::super::selectors::LabelSelector;
use super::super::store::Store;

pub fn reconcile(store: &mut Store) {
    for service in store.list_owned("services", None) {
        let Some(selector) = service
            .pointer("/spec/selector")
            .and_then(Value::as_object)
            .filter(|s| !s.is_empty())
        else {
            continue;
        };
        if obj::str_at(&service, "/spec/type") == Some("ExternalName") {
            continue;
        }
        let selector =
            LabelSelector::from_object(&json!({"matchLabels": selector})).unwrap_or_default();
        let namespace = obj::namespace(&service).to_owned();
        let name = obj::name(&service).to_owned();
        let members: Vec<Value> = store
            .list("pods", Some(&namespace))
            .filter(|p| {
                pods::is_active(p)
                    && selector.matches_object(p)
                    && obj::str_at(p, "/status/podIP").is_some()
            })
            .cloned()
            .collect();
        let address = |p: &Value| {
            json!({
                "ip": obj::str_at(p, "/status/podIP").unwrap_or(""),
                "nodeName": obj::str_at(p, "/spec/nodeName").unwrap_or(""),
                "targetRef": {"kind": "Pod", "namespace": namespace, "name": obj::name(p), "uid": obj::uid(p)},
            })
        };
        let ready: Vec<Value> = members
            .iter()
            .filter(|p| pods::is_ready(p))
            .map(address)
            .collect();
        let not_ready: Vec<Value> = members
            .iter()
            .filter(|p| !pods::is_ready(p))
            .map(address)
            .collect();
        let ports: Vec<Value> = service
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .map(|ports| {
                ports
                    .iter()
                    .map(|p| endpoint_port(p, members.first()))
                    .collect()
            })
            .unwrap_or_default();
        let mut subset = json!({"ports": ports});
        if !ready.is_empty() {
            subset["addresses"] = json!(ready);
        }
        if !not_ready.is_empty() {
            subset["notReadyAddresses"] = json!(not_ready);
        }
        let subsets = if members.is_empty() {
            json!([])
        } else {
            json!([subset])
        };
        let born = creation_time(store, &service);
        write_slice(store, &service, &members, &ports, born.as_deref());
        match store.get("endpoints", &namespace, &name).cloned() {
            Some(existing) => {
                if existing.get("subsets") != Some(&subsets) {
                    let mut updated = existing;
                    obj::set(&mut updated, &["subsets"], subsets);
                    store.replace("endpoints", updated);
                }
            }
            None => {
                let labels = service
                    .pointer("/metadata/labels")
                    .cloned()
                    .unwrap_or(json!({}));
                let mut endpoints = json!({"apiVersion": "v1", "kind": "Endpoints",
                       "metadata": {"name": name, "namespace": namespace, "labels": labels},
                       "subsets": subsets});
                if let Some(born) = &born {
                    obj::set(
                        &mut endpoints,
                        &["metadata", "creationTimestamp"],
                        json!(born),
                    );
                }
                store.insert_new("endpoints", endpoints);
            }
        }
    }
}

/// While a scenario loads, derived objects are as old as their Service.
fn creation_time(store: &Store, service: &Value) -> Option<String> {
    (!store.recording)
        .then(|| obj::str_at(service, "/metadata/creationTimestamp").map(str::to_owned))
        .flatten()
}

const SERVICE_NAME: &str = "kubernetes.io/service-name";

/// The Service's EndpointSlice (one per Service: the simulator never needs more).
fn write_slice(
    store: &mut Store,
    service: &Value,
    members: &[Value],
    ports: &[Value],
    born: Option<&str>,
) {
    let namespace = obj::namespace(service).to_owned();
    let name = obj::name(service).to_owned();
    let endpoints: Vec<Value> = members
        .iter()
        .map(|p| {
            let ready = pods::is_ready(p);
            json!({
                "addresses": [obj::str_at(p, "/status/podIP").unwrap_or("")],
                "conditions": {"ready": ready, "serving": ready, "terminating": false},
                "nodeName": obj::str_at(p, "/spec/nodeName").unwrap_or(""),
                "targetRef": {"kind": "Pod", "namespace": namespace, "name": obj::name(p), "uid": obj::uid(p)},
            })
        })
        .collect();
    let existing = store
        .list("endpointslices", Some(&namespace))
        .find(|s| obj::labels(s).get(SERVICE_NAME).and_then(Value::as_str) == Some(name.as_str()))
        .cloned();
    match existing {
        Some(slice) => {
            if slice.get("endpoints") != Some(&json!(endpoints))
                || slice.get("ports") != Some(&json!(ports))
            {
                let mut updated = slice;
                obj::set(&mut updated, &["endpoints"], json!(endpoints));
                obj::set(&mut updated, &["ports"], json!(ports));
                store.replace("endpointslices", updated);
            }
        }
        None => {
            let slice_name = format!("{name}-{}", store.suffix(5));
            let mut slice = json!({
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": slice_name,
                    "namespace": namespace,
                    "generateName": format!("{name}-"),
                    "labels": {SERVICE_NAME: name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                    "ownerReferences": [obj::controller_ref(service)],
                },
                "addressType": "IPv4",
                "endpoints": endpoints,
                "ports": ports,
            });
            if let Some(born) = born {
                obj::set(&mut slice, &["metadata", "creationTimestamp"], json!(born));
            }
            store.insert_new("endpointslices", slice);
        }
    }
}

/// A Service port as an endpoint port: its targetPort, resolved by name against the
/// container ports of a member pod when it is a name.
fn endpoint_port(port: &Value, member: Option<&Value>) -> Value {
    let target = match port.get("targetPort") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(name)) => member.and_then(|pod| {
            pod.pointer("/spec/containers")?
                .as_array()?
                .iter()
                .filter_map(|c| c.get("ports").and_then(Value::as_array))
                .flatten()
                .find(|p| obj::str_at(p, "/name") == Some(name.as_str()))
                .and_then(|p| obj::i64_at(p, "/containerPort"))
        }),
        _ => None,
    }
    .or_else(|| obj::i64_at(port, "/port"))
    .unwrap_or(0);
    let mut out =
        json!({"port": target, "protocol": obj::str_at(port, "/protocol").unwrap_or("TCP")});
    if let Some(name) = obj::str_at(port, "/name") {
        out["name"] = json!(name);
    }
    out
}
