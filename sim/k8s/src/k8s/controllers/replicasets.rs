//! The ReplicaSet controller: keeps `spec.replicas` pods, replacing deleted ones.

use std::cmp::Reverse;

use serde_json::{Value, json};

use super::super::events::{self, EventType, Source};
use super::super::obj;
use super::super::pods;
use super::super::store::Store;
use super::{create_pod, desired_replicas, write_status};

const CONTROLLER: Source<'static> = Source::controller("replicaset-controller");

pub fn reconcile(store: &mut Store) {
    for rs in store.list_owned("replicasets", None) {
        sync(store, &rs);
    }
}

fn owned_pods(store: &Store, rs: &Value) -> Vec<Value> {
    let uid = obj::uid(rs);
    store
        .list("pods", Some(obj::namespace(rs)))
        .filter(|p| obj::controlled_by(p, uid) && pods::is_active(p))
        .cloned()
        .collect()
}

fn sync(store: &mut Store, rs: &Value) {
    let desired = usize::try_from(desired_replicas(rs)).unwrap_or(0);
    let mut owned = owned_pods(store, rs);
    if owned.len() < desired {
        let template = rs
            .pointer("/spec/template")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let prefix = format!("{}-", obj::name(rs));
        for _ in owned.len()..desired {
            let mut name = format!("{prefix}{}", store.suffix(5));
            while store.get("pods", obj::namespace(rs), &name).is_some() {
                name = format!("{prefix}{}", store.suffix(5));
            }
            let pod = pods::from_template(&template, rs, &name, Some(&prefix));
            create_pod(store, pod);
            events::record(
                store,
                rs,
                EventType::Normal,
                "SuccessfulCreate",
                &format!("Created pod: {name}"),
                CONTROLLER,
            );
        }
    } else if owned.len() > desired {
        // Like the real controller: unscheduled, then unready, then newest pods go first.
        owned.sort_by_key(|p| {
            (
                obj::str_at(p, "/spec/nodeName").is_some_and(|n| !n.is_empty()),
                pods::is_ready(p),
                Reverse(
                    obj::str_at(p, "/metadata/creationTimestamp")
                        .unwrap_or("")
                        .to_owned(),
                ),
                obj::name(p).to_owned(),
            )
        });
        for pod in owned.iter().take(owned.len() - desired) {
            let name = obj::name(pod).to_owned();
            pods::kill(store, obj::namespace(pod), &name);
            events::record(
                store,
                rs,
                EventType::Normal,
                "SuccessfulDelete",
                &format!("Deleted pod: {name}"),
                CONTROLLER,
            );
        }
    }
    let owned = owned_pods(store, rs);
    let ready = owned.iter().filter(|p| pods::is_ready(p)).count();
    let Some(latest) = store
        .get("replicasets", obj::namespace(rs), obj::name(rs))
        .cloned()
    else {
        return;
    };
    let mut status = json!({
        "replicas": owned.len(),
        "fullyLabeledReplicas": owned.len(),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "observedGeneration": obj::i64_at(&latest, "/metadata/generation").unwrap_or(1),
    });
    if let Some(map) = status.as_object_mut() {
        map.retain(|k, v| k == "replicas" || k == "observedGeneration" || v.as_i64() != Some(0));
    }
    write_status(store, "replicasets", &latest, status);
}
