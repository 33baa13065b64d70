//! PodDisruptionBudget status (what evictions are checked against) and the
//! HorizontalPodAutoscaler's bounds on its target's replicas.

use serde_json::{Value, json};

use super::super::events::{self, EventType, Source};
use super::super::obj;
use super::super::pods;
use super::super::selectors::LabelSelector;
use super::super::store::Store;
use super::{desired_replicas, set_condition, write_status};

/// The PDBs in the pod's namespace whose selector matches it.
pub fn pdbs_for_pod(store: &Store, pod: &Value) -> Vec<Value> {
    store
        .list("poddisruptionbudgets", Some(obj::namespace(pod)))
        .filter(|pdb| selector(pdb).is_some_and(|s| s.matches_object(pod)))
        .cloned()
        .collect()
}

/// A PDB's selector; in policy/v1 an empty selector matches every pod, a missing one none.
fn selector(pdb: &Value) -> Option<LabelSelector> {
    pdb.pointer("/spec/selector")
        .and_then(LabelSelector::from_object)
}

pub fn reconcile_pdbs(store: &mut Store) {
    for pdb in store.list_owned("poddisruptionbudgets", None) {
        let Some(sel) = selector(&pdb) else {
            continue;
        };
        let matched: Vec<Value> = store
            .list("pods", Some(obj::namespace(&pdb)))
            .filter(|p| pods::is_active(p) && sel.matches_object(p))
            .cloned()
            .collect();
        let healthy = matched.iter().filter(|p| pods::is_ready(p)).count() as i64;
        let expected = expected_pods(store, &matched);
        let desired = match (
            pdb.pointer("/spec/minAvailable"),
            pdb.pointer("/spec/maxUnavailable"),
        ) {
            (Some(min), _) => resolve(min, expected, true),
            (None, Some(max)) => expected.saturating_sub(resolve(max, expected, true)),
            (None, None) => expected,
        }
        .max(0);
        let allowed = healthy.saturating_sub(desired).max(0);
        let now = store.now_string();
        let mut conditions: Vec<Value> = pdb
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let (flag, reason) = if allowed > 0 {
            ("True", "SufficientPods")
        } else {
            ("False", "InsufficientPods")
        };
        set_condition(&mut conditions, "DisruptionAllowed", flag, reason, "", &now);
        for c in &mut conditions {
            // PDB conditions carry observedGeneration rather than lastUpdateTime.
            if let Some(map) = c.as_object_mut() {
                map.remove("lastUpdateTime");
                map.insert(
                    "observedGeneration".into(),
                    json!(obj::i64_at(&pdb, "/metadata/generation").unwrap_or(1)),
                );
            }
        }
        let status = json!({
            "observedGeneration": obj::i64_at(&pdb, "/metadata/generation").unwrap_or(1),
            "disruptionsAllowed": allowed,
            "currentHealthy": healthy,
            "desiredHealthy": desired,
            "expectedPods": expected,
            "conditions": conditions,
        });
        write_status(store, "poddisruptionbudgets", &pdb, status);
    }
}

/// How many pods the budget expects: the summed scale of the pods' controllers, or the
/// pod count for pods without one.
fn expected_pods(store: &Store, pods: &[Value]) -> i64 {
    let mut seen: Vec<&str> = Vec::new();
    let mut total = 0;
    for pod in pods {
        match obj::controller_of(pod) {
            Some((kind, name, uid)) => {
                if seen.contains(&uid) {
                    continue;
                }
                seen.push(uid);
                let key = match kind {
                    "ReplicaSet" => "replicasets",
                    "StatefulSet" => "statefulsets",
                    _ => {
                        total += 1;
                        continue;
                    }
                };
                total += store
                    .get(key, obj::namespace(pod), name)
                    .map(desired_replicas)
                    .unwrap_or(1);
            }
            None => total += 1,
        }
    }
    total
}

/// An int-or-percent value against `of` pods.
fn resolve(value: &Value, of: i64, round_up: bool) -> i64 {
    match value {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => {
            let p: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            if round_up {
                of.saturating_mul(p).saturating_add(99) / 100
            } else {
                of.saturating_mul(p) / 100
            }
        }
        _ => 0,
    }
}

/// Keeps each HPA's target within `[minReplicas, maxReplicas]` and mirrors the target's
/// replicas in the HPA's status. Metric-driven scaling is not simulated: the scenario's
/// `status.currentMetrics` are kept as written.
pub fn reconcile_hpas(store: &mut Store) {
    for hpa in store.list_owned("horizontalpodautoscalers", None) {
        let namespace = obj::namespace(&hpa).to_owned();
        let target_kind = obj::str_at(&hpa, "/spec/scaleTargetRef/kind").unwrap_or("");
        let target_name = obj::str_at(&hpa, "/spec/scaleTargetRef/name")
            .unwrap_or("")
            .to_owned();
        let key = match target_kind {
            "Deployment" => "deployments",
            "StatefulSet" => "statefulsets",
            "ReplicaSet" => "replicasets",
            _ => continue,
        };
        let Some(target) = store.get(key, &namespace, &target_name).cloned() else {
            continue;
        };
        let min = obj::i64_at(&hpa, "/spec/minReplicas").unwrap_or(1);
        let max = obj::i64_at(&hpa, "/spec/maxReplicas")
            .unwrap_or(min)
            .max(min);
        let current = desired_replicas(&target);
        let wanted = current.clamp(min, max);
        let mut status = hpa
            .get("status")
            .filter(|s| s.is_object())
            .cloned()
            .unwrap_or_else(|| json!({}));
        if wanted != current {
            let mut scaled = target.clone();
            obj::set(&mut scaled, &["spec", "replicas"], json!(wanted));
            store.replace(key, scaled);
            let why = if wanted > current {
                "Current number of replicas below Spec.MinReplicas"
            } else {
                "Current number of replicas above Spec.MaxReplicas"
            };
            events::record(
                store,
                &hpa,
                EventType::Normal,
                "SuccessfulRescale",
                &format!("New size: {wanted}; reason: {why}"),
                Source::controller("horizontal-pod-autoscaler"),
            );
            status["lastScaleTime"] = json!(store.now_string());
        }
        status["currentReplicas"] =
            json!(obj::i64_at(&target, "/status/replicas").unwrap_or(current));
        status["desiredReplicas"] = json!(wanted);
        if let Some(generation) = obj::i64_at(&hpa, "/metadata/generation") {
            status["observedGeneration"] = json!(generation);
        }
        write_status(store, "horizontalpodautoscalers", &hpa, status);
    }
}
