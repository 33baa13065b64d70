//! The StatefulSet controller: pods `NAME-0..N-1` with stable names, a PVC per volume
//! claim template and ordinal (kept when the pod goes), and a rolling replacement of
//! pods whose template revision is out of date.

use serde_json::{Value, json};

use super::super::events::{self, EventType, Source};
use super::super::obj;
use super::super::pods;
use super::super::store::Store;
use super::{create_pod, desired_replicas, template_hash, write_status};

const CONTROLLER: Source<'static> = Source::controller("statefulset-controller");
const REVISION_LABEL: &str = "controller-revision-hash";

pub fn reconcile(store: &mut Store) {
    for sts in store.list_owned("statefulsets", None) {
        sync(store, &sts);
    }
}

fn owned_pods(store: &Store, sts: &Value) -> Vec<Value> {
    let uid = obj::uid(sts);
    store
        .list("pods", Some(obj::namespace(sts)))
        .filter(|p| obj::controlled_by(p, uid) && pods::is_active(p))
        .cloned()
        .collect()
}

fn ordinal(sts: &Value, pod: &Value) -> Option<i64> {
    obj::name(pod)
        .strip_prefix(obj::name(sts))?
        .strip_prefix('-')?
        .parse()
        .ok()
}

fn sync(store: &mut Store, sts: &Value) {
    let name = obj::name(sts).to_owned();
    let namespace = obj::namespace(sts).to_owned();
    let replicas = desired_replicas(sts);
    let template = sts
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let revision = format!("{name}-{}", template_hash(&template));
    let owned = owned_pods(store, sts);
    // Scale down from the highest ordinal, as the real controller does.
    let mut extra: Vec<&Value> = owned
        .iter()
        .filter(|p| ordinal(sts, p).is_none_or(|i| i >= replicas))
        .collect();
    extra.sort_by_key(|p| std::cmp::Reverse(ordinal(sts, p)));
    for pod in extra {
        let pod_name = obj::name(pod).to_owned();
        pods::kill(store, &namespace, &pod_name);
        events::record(
            store,
            sts,
            EventType::Normal,
            "SuccessfulDelete",
            &format!("delete Pod {pod_name} in StatefulSet {name} successful"),
            CONTROLLER,
        );
    }
    for i in 0..replicas {
        let pod_name = format!("{name}-{i}");
        let existing = store.get("pods", &namespace, &pod_name).cloned();
        if let Some(pod) = &existing {
            let outdated = obj::labels(pod)
                .get(REVISION_LABEL)
                .and_then(Value::as_str)
                .is_some_and(|r| r != revision);
            if !outdated || !obj::controlled_by(pod, obj::uid(sts)) {
                continue;
            }
            pods::kill(store, &namespace, &pod_name);
            events::record(
                store,
                sts,
                EventType::Normal,
                "SuccessfulDelete",
                &format!("delete Pod {pod_name} in StatefulSet {name} successful"),
                CONTROLLER,
            );
        }
        let mut pod = pods::from_template(&template, sts, &pod_name, None);
        for (label, value) in [
            (REVISION_LABEL, revision.clone()),
            ("statefulset.kubernetes.io/pod-name", pod_name.clone()),
            ("apps.kubernetes.io/pod-index", i.to_string()),
        ] {
            obj::set(&mut pod, &["metadata", "labels", label], json!(value));
        }
        obj::set(&mut pod, &["spec", "hostname"], json!(pod_name));
        if let Some(service) = obj::str_at(sts, "/spec/serviceName") {
            obj::set(&mut pod, &["spec", "subdomain"], json!(service));
        }
        attach_claims(store, sts, &mut pod, i);
        create_pod(store, pod);
        events::record(
            store,
            sts,
            EventType::Normal,
            "SuccessfulCreate",
            &format!("create Pod {pod_name} in StatefulSet {name} successful"),
            CONTROLLER,
        );
    }
    let owned = owned_pods(store, sts);
    let ready = owned.iter().filter(|p| pods::is_ready(p)).count();
    let updated = owned
        .iter()
        .filter(|p| {
            obj::labels(p)
                .get(REVISION_LABEL)
                .and_then(Value::as_str)
                .is_none_or(|r| r == revision)
        })
        .count();
    let Some(latest) = store.get("statefulsets", &namespace, &name).cloned() else {
        return;
    };
    let mut status = json!({
        "observedGeneration": obj::i64_at(&latest, "/metadata/generation").unwrap_or(1),
        "replicas": owned.len(),
        "readyReplicas": ready,
        "currentReplicas": updated,
        "updatedReplicas": updated,
        "availableReplicas": ready,
        "currentRevision": revision,
        "updateRevision": revision,
        "collisionCount": 0,
    });
    if let Some(map) = status.as_object_mut() {
        map.retain(|k, v| {
            matches!(
                k.as_str(),
                "replicas" | "observedGeneration" | "availableReplicas" | "collisionCount"
            ) || v.as_i64() != Some(0)
        });
    }
    write_status(store, "statefulsets", &latest, status);
}

/// Creates the pod's PVCs from the volume claim templates (if missing) and mounts them.
fn attach_claims(store: &mut Store, sts: &Value, pod: &mut Value, ordinal: i64) {
    let templates = sts
        .pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let namespace = obj::namespace(sts).to_owned();
    let mut volumes: Vec<Value> = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for t in &templates {
        let claim = obj::name(t).to_owned();
        let pvc_name = format!("{claim}-{}-{ordinal}", obj::name(sts));
        if store
            .get("persistentvolumeclaims", &namespace, &pvc_name)
            .is_none()
        {
            let spec = t
                .get("spec")
                .filter(|s| s.is_object())
                .cloned()
                .unwrap_or_else(|| json!({}));
            let storage = spec
                .pointer("/resources/requests/storage")
                .cloned()
                .unwrap_or(json!("1Gi"));
            let access = spec
                .get("accessModes")
                .cloned()
                .unwrap_or(json!(["ReadWriteOnce"]));
            let volume = format!("pvc-{}", store.uid());
            let mut labels = sts
                .pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            if let Some(template_labels) = t.pointer("/metadata/labels").and_then(Value::as_object)
            {
                labels.extend(template_labels.clone());
            }
            let mut pvc_spec = spec.clone();
            pvc_spec["volumeName"] = json!(volume);
            pvc_spec["volumeMode"] = json!("Filesystem");
            let pvc = json!({
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": pvc_name, "namespace": namespace, "labels": labels},
                "spec": pvc_spec,
                "status": {"phase": "Bound", "accessModes": access, "capacity": {"storage": storage}},
            });
            store.insert_new("persistentvolumeclaims", pvc);
            let message = format!(
                "create Claim {pvc_name} Pod {} in StatefulSet {} success",
                obj::name(pod),
                obj::name(sts)
            );
            events::record(
                store,
                sts,
                EventType::Normal,
                "SuccessfulCreate",
                &message,
                CONTROLLER,
            );
        }
        if !volumes
            .iter()
            .any(|v| obj::str_at(v, "/name") == Some(claim.as_str()))
        {
            volumes.push(json!({"name": claim, "persistentVolumeClaim": {"claimName": pvc_name}}));
        }
    }
    if !volumes.is_empty() {
        obj::set(pod, &["spec", "volumes"], json!(volumes));
    }
}
