//! The `scale` and `eviction` subresources.

use serde_json::{Value, json};

use super::controllers;
use super::obj;
use super::pods;
use super::resources::ResourceType;
use super::selectors::LabelSelector;
use super::status::{ApiStatus, Reason};
use super::store::Store;
use super::write::{get, store_key};

/// The `autoscaling/v1` Scale of a workload.
pub fn get_scale(
    store: &Store,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
) -> Result<Value, ApiStatus> {
    let object = get(store, rt, namespace, name)?;
    let selector = object
        .pointer("/spec/selector")
        .and_then(LabelSelector::from_object)
        .map(|_| obj::map_string(object.pointer("/spec/selector/matchLabels")))
        .unwrap_or_default();
    Ok(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": obj::uid(&object),
            "resourceVersion": obj::str_at(&object, "/metadata/resourceVersion").unwrap_or(""),
            "creationTimestamp": obj::str_at(&object, "/metadata/creationTimestamp").unwrap_or(""),
        },
        "spec": {"replicas": controllers::desired_replicas(&object)},
        "status": {"replicas": obj::i64_at(&object, "/status/replicas").unwrap_or(0), "selector": selector},
    }))
}

/// Writes a Scale (PUT or PATCH on `/scale`): checks its resourceVersion if it carries
/// one, then sets the workload's replicas.
pub fn write_scale(
    store: &mut Store,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
    scale: &Value,
) -> Result<Value, ApiStatus> {
    let key = store_key(rt)?;
    let current = get_scale(store, rt, namespace, name)?;
    if let Some(rv) = obj::str_at(scale, "/metadata/resourceVersion").filter(|rv| !rv.is_empty())
        && Some(rv) != obj::str_at(&current, "/metadata/resourceVersion")
    {
        return Err(ApiStatus::conflict(rt.group, rt.plural, name));
    }
    let replicas = match scale.pointer("/spec/replicas") {
        Some(v) => v
            .as_i64()
            .filter(|r| (0..=controllers::MAX_REPLICAS).contains(r))
            .ok_or_else(|| {
                ApiStatus::invalid(
                    "Scale",
                    name,
                    format!(
                        "spec.replicas: Invalid value: {v}: must be greater than or equal to 0 (and at most {} in the simulator)",
                        controllers::MAX_REPLICAS
                    ),
                )
            })?,
        None => controllers::desired_replicas(&current),
    };
    let Some(mut object) = store.get(key, namespace, name).cloned() else {
        return Err(ApiStatus::not_found(rt.group, rt.plural, name));
    };
    let before = object.clone();
    obj::set(&mut object, &["spec", "replicas"], json!(replicas));
    super::write::note_writer(store, Some(&before), &mut object);
    store.replace(key, object);
    let mut answer = get_scale(store, rt, namespace, name)?;
    answer["spec"]["replicas"] = json!(replicas);
    Ok(answer)
}

/// The eviction subresource: deletes the pod unless a PodDisruptionBudget forbids it
/// (429), as the API checks budgets on behalf of `kubectl drain`.
pub fn evict(store: &mut Store, namespace: &str, name: &str) -> Result<Value, ApiStatus> {
    let Some(pod) = store.get("pods", namespace, name).cloned() else {
        return Err(ApiStatus::not_found("", "pods", name));
    };
    let success = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
    let running = obj::str_at(&pod, "/status/phase") == Some("Running");
    let budgets = controllers::pdbs_for_pod(store, &pod);
    if budgets.len() > 1 {
        return Err(ApiStatus::new(
            Reason::InternalError,
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        ));
    }
    if let (Some(pdb), true) = (budgets.first(), running) {
        let allowed = obj::i64_at(pdb, "/status/disruptionsAllowed").unwrap_or(0);
        let healthy = obj::i64_at(pdb, "/status/currentHealthy").unwrap_or(0);
        let desired = obj::i64_at(pdb, "/status/desiredHealthy").unwrap_or(0);
        // An unready pod may go while the budget is met (the default IfHealthyBudget policy).
        let unready_ok = !pods::is_ready(&pod) && healthy >= desired;
        if !unready_ok {
            if allowed <= 0 {
                return Err(ApiStatus {
                    reason: Reason::TooManyRequests,
                    message: "Cannot evict pod as it would violate the pod's disruption budget."
                        .to_owned(),
                    // No retryAfterSeconds, like the API: kubectl drain then retries on
                    // its own 5 s schedule (a Retry-After would make client-go wait first).
                    details: Some(
                        json!({"causes": [{"reason": "DisruptionBudget", "message": format!(
                            "The disruption budget {} needs {desired} healthy pods and has {healthy} currently",
                            obj::name(pdb)
                        )}]}),
                    ),
                });
            }
            let mut consumed = pdb.clone();
            obj::set(
                &mut consumed,
                &["status", "disruptionsAllowed"],
                json!(allowed - 1),
            );
            obj::set(
                &mut consumed,
                &["status", "disruptedPods", name],
                json!(store.now_string()),
            );
            store.replace("poddisruptionbudgets", consumed);
        }
    }
    // Since Kubernetes 1.31 an evicted pod is marked with why it goes before it goes.
    let mut marked = pod.clone();
    let mut conditions: Vec<Value> = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    conditions.push(
        json!({"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
                           "message": "Eviction API: evicting", "lastProbeTime": null,
                           "lastTransitionTime": store.now_string()}),
    );
    obj::set(&mut marked, &["status", "conditions"], json!(conditions));
    store.replace("pods", marked);
    pods::kill(store, namespace, name);
    Ok(success)
}
