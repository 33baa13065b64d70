//! The DaemonSet controller: one pod per matching node, cordoned nodes included (daemon
//! pods tolerate `unschedulable`), replaced when the template changes.

use serde_json::{Value, json};

use super::super::events::{self, EventType, Source};
use super::super::obj;
use super::super::pods;
use super::super::store::Store;
use super::{create_pod, template_hash, write_status};

const CONTROLLER: Source<'static> = Source::controller("daemonset-controller");
const REVISION_LABEL: &str = "controller-revision-hash";

pub fn reconcile(store: &mut Store) {
    for ds in store.list_owned("daemonsets", None) {
        sync(store, &ds);
    }
}

fn sync(store: &mut Store, ds: &Value) {
    let namespace = obj::namespace(ds).to_owned();
    let uid = obj::uid(ds).to_owned();
    let template = ds
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let hash = template_hash(&template);
    let selector = template
        .pointer("/spec/nodeSelector")
        .and_then(Value::as_object)
        .cloned();
    let nodes: Vec<String> = store
        .list("nodes", None)
        .filter(|n| {
            let labels = obj::labels(n);
            selector
                .as_ref()
                .is_none_or(|s| s.iter().all(|(k, v)| labels.get(k) == Some(v)))
        })
        .map(|n| obj::name(n).to_owned())
        .collect();
    let owned: Vec<Value> = store
        .list("pods", Some(&namespace))
        .filter(|p| obj::controlled_by(p, &uid) && pods::is_active(p))
        .cloned()
        .collect();
    for pod in &owned {
        let node = obj::str_at(pod, "/spec/nodeName").unwrap_or("");
        let outdated = obj::labels(pod)
            .get(REVISION_LABEL)
            .and_then(Value::as_str)
            .is_some_and(|h| h != hash);
        if !nodes.iter().any(|n| n == node) || outdated {
            let name = obj::name(pod).to_owned();
            pods::kill(store, &namespace, &name);
            events::record(
                store,
                ds,
                EventType::Normal,
                "SuccessfulDelete",
                &format!("Deleted pod: {name}"),
                CONTROLLER,
            );
        }
    }
    let prefix = format!("{}-", obj::name(ds));
    for node in &nodes {
        let has_pod = store.list("pods", Some(&namespace)).any(|p| {
            obj::controlled_by(p, &uid)
                && pods::is_active(p)
                && obj::str_at(p, "/spec/nodeName") == Some(node.as_str())
        });
        if has_pod {
            continue;
        }
        let name = format!("{prefix}{}", store.suffix(5));
        let mut pod = pods::from_template(&template, ds, &name, Some(&prefix));
        obj::set(
            &mut pod,
            &["metadata", "labels", REVISION_LABEL],
            json!(hash),
        );
        obj::set(&mut pod, &["spec", "nodeName"], json!(node));
        create_pod(store, pod);
        events::record(
            store,
            ds,
            EventType::Normal,
            "SuccessfulCreate",
            &format!("Created pod: {name}"),
            CONTROLLER,
        );
    }
    let owned: Vec<Value> = store
        .list("pods", Some(&namespace))
        .filter(|p| obj::controlled_by(p, &uid) && pods::is_active(p))
        .cloned()
        .collect();
    let ready = owned.iter().filter(|p| pods::is_ready(p)).count();
    let Some(latest) = store.get("daemonsets", &namespace, obj::name(ds)).cloned() else {
        return;
    };
    let status = json!({
        "currentNumberScheduled": owned.len(),
        "desiredNumberScheduled": nodes.len(),
        "numberMisscheduled": 0,
        "numberReady": ready,
        "numberAvailable": ready,
        "updatedNumberScheduled": owned.len(),
        "observedGeneration": obj::i64_at(&latest, "/metadata/generation").unwrap_or(1),
    });
    write_status(store, "daemonsets", &latest, status);
}
