//! The scheduler: which node a new pod runs on, and why none fits.

use serde_json::{Value, json};

use super::events::{self, EventType, Source};
use super::obj;
use super::pods::{condition_true, is_active};
use super::store::Store;

/// Tries again to place a pod that waited for a node, and starts it if it gets one.
/// Returns whether it did; a repeated failure records nothing new.
pub fn retry_schedule(store: &mut Store, pod: &mut Value) -> bool {
    if schedule(store, pod, true) {
        store.unscheduled.remove(obj::uid(pod));
        super::pods::start(store, pod);
        true
    } else {
        false
    }
}

/// Picks a node for an unscheduled pod: a schedulable, Ready node matching the pod's
/// nodeSelector, with the fewest pods (ties by name). Returns whether the pod has a node.
pub fn schedule(store: &mut Store, pod: &mut Value, quiet_failure: bool) -> bool {
    if obj::str_at(pod, "/spec/nodeName").is_some_and(|n| !n.is_empty()) {
        return true;
    }
    let selector = pod
        .pointer("/spec/nodeSelector")
        .and_then(Value::as_object)
        .cloned();
    let nodes: Vec<Value> = store.list_owned("nodes", None);
    let mut unschedulable = 0;
    let mut not_ready = 0;
    let mut mismatched = 0;
    let mut tainted = 0;
    let mut short: Vec<(&'static str, String)> = Vec::new();
    let mut best: Option<((usize, usize), String)> = None;
    for node in &nodes {
        let name = obj::name(node).to_owned();
        if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
            unschedulable += 1;
            continue;
        }
        let has_ready = node
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
            });
        if has_ready && !condition_true(node, "Ready") {
            not_ready += 1;
            continue;
        }
        if !tolerates(pod, node) {
            tainted += 1;
            continue;
        }
        let labels = obj::labels(node);
        if let Some(sel) = &selector
            && !sel.iter().all(|(k, v)| labels.get(k) == Some(v))
        {
            mismatched += 1;
            continue;
        }
        if let Some(resource) = super::controllers::karpenter::fit::short_on(store, pod, node) {
            short.push((resource, name));
            continue;
        }
        // Spread a controller's pods first (the default topology spreading), then
        // balance the total.
        let owner = obj::controller_of(pod).map(|(_, _, uid)| uid.to_owned());
        let on_node: Vec<&Value> = store
            .list("pods", None)
            .filter(|p| obj::str_at(p, "/spec/nodeName") == Some(name.as_str()) && is_active(p))
            .collect();
        let siblings = on_node
            .iter()
            .filter(|p| {
                owner.is_some() && obj::controller_of(p).map(|(_, _, u)| u.to_owned()) == owner
            })
            .count();
        let load = (siblings, on_node.len());
        if best.as_ref().is_none_or(|(l, n)| (load, &name) < (*l, n)) {
            best = Some((load, name));
        }
    }
    let candidates: Vec<String> = short.iter().map(|(_, n)| n.clone()).collect();
    let best = best.or_else(|| {
        super::controllers::karpenter::fit::preempt(store, pod, &candidates).map(|n| ((0, 0), n))
    });
    let Some((_, node)) = best else {
        let mut reasons = Vec::new();
        for resource in ["cpu", "memory"] {
            let count = short.iter().filter(|(r, _)| *r == resource).count();
            if count > 0 {
                reasons.push(format!("{count} Insufficient {resource}"));
            }
        }
        if unschedulable > 0 {
            reasons.push(format!("{unschedulable} node(s) were unschedulable"));
        }
        if not_ready > 0 {
            reasons.push(format!("{not_ready} node(s) were not ready"));
        }
        if tainted > 0 {
            reasons.push(format!("{tainted} node(s) had untolerated taints"));
        }
        if mismatched > 0 {
            reasons.push(format!(
                "{mismatched} node(s) didn't match Pod's node affinity/selector"
            ));
        }
        if quiet_failure {
            return false;
        }
        let message = format!(
            "0/{} nodes are available: {}.",
            nodes.len(),
            if reasons.is_empty() {
                "no nodes registered".to_owned()
            } else {
                reasons.join(", ")
            }
        );
        obj::set(
            pod,
            &["status", "conditions"],
            json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                    "message": message, "lastProbeTime": null, "lastTransitionTime": store.now_string()}]),
        );
        let pod_view = pod.clone();
        events::record(
            store,
            &pod_view,
            EventType::Warning,
            "FailedScheduling",
            &message,
            Source::controller("default-scheduler"),
        );
        return false;
    };
    obj::set(pod, &["spec", "nodeName"], json!(node));
    let message = format!(
        "Successfully assigned {}/{} to {node}",
        obj::namespace(pod),
        obj::name(pod)
    );
    let pod_view = pod.clone();
    events::record(
        store,
        &pod_view,
        EventType::Normal,
        "Scheduled",
        &message,
        Source::controller("default-scheduler"),
    );
    true
}

/// Whether the pod tolerates every NoSchedule/NoExecute taint of the node.
pub(crate) fn tolerates(pod: &Value, node: &Value) -> bool {
    let tolerations = pod
        .pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let taints = node
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    taints
        .iter()
        .filter(|t| matches!(obj::str_at(t, "/effect"), Some("NoSchedule" | "NoExecute")))
        .all(|taint| tolerations.iter().any(|tol| tolerated_by(tol, taint)))
}

/// Kubernetes' toleration matching: an empty effect matches every effect; an empty key
/// with `Exists` matches every taint; `Exists` ignores the value.
fn tolerated_by(toleration: &Value, taint: &Value) -> bool {
    let field = |v: &Value, f: &str| obj::str_at(v, f).unwrap_or("").to_owned();
    let exists = field(toleration, "/operator") == "Exists";
    let effect = field(toleration, "/effect");
    let key = field(toleration, "/key");
    let effect_ok = effect.is_empty() || effect == field(taint, "/effect");
    let key_ok = if key.is_empty() {
        exists
    } else {
        key == field(taint, "/key")
    };
    let value_ok = exists || field(toleration, "/value") == field(taint, "/value");
    effect_ok && key_ok && value_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerations() {
        let node = json!({"spec": {"taints": [{"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule"}]}});
        let pod = |tols: Value| json!({"spec": {"tolerations": tols}});
        assert!(!tolerates(&pod(json!([])), &node));
        assert!(tolerates(
            &pod(
                json!([{"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"}])
            ),
            &node
        ));
        assert!(tolerates(&pod(json!([{"operator": "Exists"}])), &node));
        assert!(!tolerates(
            &pod(json!([{"key": "other", "operator": "Exists"}])),
            &node
        ));
        assert!(tolerates(
            &pod(json!([])),
            &json!({"spec": {"taints": [{"key": "k", "effect": "PreferNoSchedule"}]}})
        ));
    }
}
