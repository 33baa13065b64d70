//! Controller effects, run synchronously after every write so that tests see a settled
//! world: ReplicaSets keep their pods, Deployments roll out through ReplicaSets,
//! StatefulSets and DaemonSets keep their pods, PDBs and HPAs follow, orphans are
//! collected. New pods are Running and Ready at once (see `pods` for crash modelling).

mod budgets;
mod daemonsets;
mod deployments;
mod endpoints;
pub mod karpenter;
mod replicasets;
mod statefulsets;

use serde_json::{Map, Value, json};

use super::obj;
use super::pods;
use super::store::Store;

pub use budgets::pdbs_for_pod;

/// The label that ties a Deployment's ReplicaSet and pods to one template.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// The annotation holding a ReplicaSet's (and Deployment's) rollout revision.
pub const REVISION: &str = "deployment.kubernetes.io/revision";

/// Brings every controller's objects in line with their specs, until nothing changes.
pub fn reconcile(store: &mut Store) {
    for _ in 0..5 {
        let before = store.resource_version();
        collect_garbage(store);
        budgets::reconcile_hpas(store);
        deployments::reconcile(store);
        replicasets::reconcile(store);
        statefulsets::reconcile(store);
        daemonsets::reconcile(store);
        schedule_pending(store);
        karpenter::reconcile(store);
        deployments::reconcile_status(store);
        budgets::reconcile_pdbs(store);
        endpoints::reconcile(store);
        if store.resource_version() == before {
            return;
        }
    }
}

/// Deletes objects whose every owner is gone (the default "background" propagation).
fn collect_garbage(store: &mut Store) {
    for _ in 0..8 {
        let uids: std::collections::HashSet<String> = all_keys()
            .iter()
            .flat_map(|key| {
                store
                    .list(key, None)
                    .map(|o| obj::uid(o).to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut orphans = Vec::new();
        for key in all_keys() {
            for o in store.list(key, None) {
                let Some(refs) = o
                    .pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                else {
                    continue;
                };
                let owners: Vec<&str> =
                    refs.iter().filter_map(|r| obj::str_at(r, "/uid")).collect();
                if !owners.is_empty() && owners.iter().all(|u| !uids.contains(*u)) {
                    orphans.push((key, obj::namespace(o).to_owned(), obj::name(o).to_owned()));
                }
            }
        }
        if orphans.is_empty() {
            return;
        }
        for (key, ns, name) in orphans {
            if key == "pods" {
                pods::kill(store, &ns, &name);
            } else {
                store.remove(key, &ns, &name);
            }
        }
    }
}

/// Every storage key, for passes that look at all objects.
fn all_keys() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = super::resources::RESOURCES
        .iter()
        .filter_map(|r| match r.storage {
            super::resources::Storage::Own(key) => Some(key),
            super::resources::Storage::Converted(..) | super::resources::Storage::Metrics => None,
        })
        .collect();
    keys.dedup();
    keys
}

/// Pods the simulator could not place get a node when one becomes available (after an
/// uncordon). Pods a scenario describes as Pending stay Pending.
fn schedule_pending(store: &mut Store) {
    if store.unscheduled.is_empty() {
        return;
    }
    let waiting: Vec<Value> = store
        .list("pods", None)
        .filter(|p| store.unscheduled.contains(obj::uid(p)))
        .cloned()
        .collect();
    for mut pod in waiting {
        if super::scheduler::retry_schedule(store, &mut pod) {
            store.replace("pods", pod);
        }
    }
}

/// Creates a pod for a controller: uid first (the kubelet's messages name it), then the
/// scheduler and kubelet effects, then the store.
pub(super) fn create_pod(store: &mut Store, mut pod: Value) -> Value {
    let uid = store.uid();
    obj::set(&mut pod, &["metadata", "uid"], json!(uid));
    let now = store.now_string();
    obj::set(&mut pod, &["metadata", "creationTimestamp"], json!(now));
    pods::admit(store, &mut pod);
    if !store.recording {
        // Loading a scenario: the pod has been running as long as its owner.
        let born = obj::controller_of(&pod)
            .and_then(|(kind, name, _)| {
                let key = match kind {
                    "ReplicaSet" => "replicasets",
                    "StatefulSet" => "statefulsets",
                    "DaemonSet" => "daemonsets",
                    _ => return None,
                };
                store.get(key, obj::namespace(&pod), name)
            })
            .and_then(|owner| obj::str_at(owner, "/metadata/creationTimestamp"))
            .map(str::to_owned);
        if let Some(born) = born {
            pods::backdate(&mut pod, &born);
        }
    }
    store.insert_new("pods", pod)
}

/// The most replicas one workload may have in the simulator (the API refuses more; a
/// scenario's larger numbers are capped), so that no request can make it create pods
/// without end.
pub const MAX_REPLICAS: i64 = 1000;

/// The replica count a workload asks for (`spec.replicas`, default 1).
pub fn desired_replicas(workload: &Value) -> i64 {
    obj::i64_at(workload, "/spec/replicas")
        .unwrap_or(1)
        .clamp(0, MAX_REPLICAS)
}

/// A ReplicaSet's revision annotation as a number (0 when absent).
pub fn revision(rs: &Value) -> i64 {
    obj::annotation(rs, REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// The pod template without the labels controllers add, normalised for comparison.
fn comparable_template(template: &Value) -> Value {
    let mut t = template.clone();
    obj::remove(&mut t, &["metadata", "labels", POD_TEMPLATE_HASH]);
    obj::remove(&mut t, &["metadata", "creationTimestamp"]);
    obj::normalized(&t)
}

/// Whether a ReplicaSet runs this pod template (ignoring its pod-template-hash label).
pub fn same_template(rs_template: &Value, template: &Value) -> bool {
    comparable_template(rs_template) == comparable_template(template)
}

/// A short, stable hash of a pod template, spelled in Kubernetes' safe alphabet.
pub fn template_hash(template: &Value) -> String {
    let mut text = String::new();
    canonical(&comparable_template(template), &mut text);
    let mut hash: u32 = 0x811c_9dc5;
    for byte in text.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    hash.to_string()
        .bytes()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect()
}

/// JSON with sorted keys, so that the hash does not depend on key order.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(':');
                canonical(&map[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A condition list with one condition set, keeping `lastTransitionTime` when the status
/// did not change (so an unchanged world does not churn resource versions).
pub fn set_condition(
    conditions: &mut Vec<Value>,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
) {
    let fresh = |transition: &str, update: &str| {
        let mut c = Map::new();
        c.insert("type".into(), json!(kind));
        c.insert("status".into(), json!(status));
        c.insert("lastUpdateTime".into(), json!(update));
        c.insert("lastTransitionTime".into(), json!(transition));
        c.insert("reason".into(), json!(reason));
        c.insert("message".into(), json!(message));
        Value::Object(c)
    };
    match conditions
        .iter_mut()
        .find(|c| obj::str_at(c, "/type") == Some(kind))
    {
        Some(existing) => {
            let same_status = obj::str_at(existing, "/status") == Some(status);
            let same_all = same_status
                && obj::str_at(existing, "/reason") == Some(reason)
                && obj::str_at(existing, "/message") == Some(message);
            if same_all {
                return;
            }
            let transition = if same_status {
                obj::str_at(existing, "/lastTransitionTime")
                    .unwrap_or(now)
                    .to_owned()
            } else {
                now.to_owned()
            };
            *existing = fresh(&transition, now);
        }
        None => conditions.push(fresh(now, now)),
    }
}

/// Replaces `status` on a stored object if it changed.
pub fn write_status(store: &mut Store, store_key: &'static str, object: &Value, status: Value) {
    if object.get("status") == Some(&status) {
        return;
    }
    let mut updated = object.clone();
    obj::set(&mut updated, &["status"], status);
    store.replace(store_key, updated);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_identity() {
        let a = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x:1", "resources": {}}]}});
        let b = json!({"metadata": {"labels": {"app": "web", "pod-template-hash": "abc"}, "creationTimestamp": null},
                       "spec": {"containers": [{"image": "x:1", "name": "c"}]}});
        assert!(same_template(&a, &b));
        assert_eq!(template_hash(&a), template_hash(&b));
        let c = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x:2"}]}});
        assert!(!same_template(&a, &c));
        assert_ne!(template_hash(&a), template_hash(&c));
        assert!(template_hash(&a).len() >= 8);
    }

    #[test]
    fn conditions_keep_transition_times() {
        let mut cs = Vec::new();
        set_condition(&mut cs, "Available", "True", "R", "m", "t1");
        set_condition(&mut cs, "Available", "True", "R", "m", "t2");
        assert_eq!(cs[0]["lastUpdateTime"], "t1");
        set_condition(&mut cs, "Available", "True", "R2", "m", "t3");
        assert_eq!(cs[0]["lastTransitionTime"], "t1");
        set_condition(&mut cs, "Available", "False", "R2", "m", "t4");
        assert_eq!(cs[0]["lastTransitionTime"], "t4");
    }
}
