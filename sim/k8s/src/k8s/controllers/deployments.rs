//! The Deployment controller: one ReplicaSet per pod template, revisions, instant
//! rollouts, and the status `kubectl rollout status` waits on.

use serde_json::{Value, json};

use super::super::events::{self, EventType, Source};
use super::super::obj;
use super::super::store::Store;
use super::{
    POD_TEMPLATE_HASH, REVISION, desired_replicas, revision, same_template, set_condition,
    template_hash, write_status,
};

const CONTROLLER: Source<'static> = Source::controller("deployment-controller");

/// Annotations of a Deployment that are not copied onto its ReplicaSets.
const NOT_COPIED: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

pub fn reconcile(store: &mut Store) {
    for deployment in store.list_owned("deployments", None) {
        sync(store, &deployment);
    }
}

fn owned_replicasets(store: &Store, deployment: &Value) -> Vec<Value> {
    let uid = obj::uid(deployment);
    store
        .list("replicasets", Some(obj::namespace(deployment)))
        .filter(|rs| obj::controlled_by(rs, uid))
        .cloned()
        .collect()
}

fn sync(store: &mut Store, deployment: &Value) {
    let template = deployment
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let owned = owned_replicasets(store, deployment);
    let max_revision = owned.iter().map(revision).max().unwrap_or(0);
    let replicas = desired_replicas(deployment);
    let current = owned
        .iter()
        .find(|rs| {
            same_template(
                rs.pointer("/spec/template").unwrap_or(&Value::Null),
                &template,
            )
        })
        .cloned();
    let current = match current {
        Some(rs) if revision(&rs) < max_revision => {
            // A rollback to an older template reuses its ReplicaSet under a new revision.
            let mut rs = rs;
            let old = revision(&rs);
            let history = match obj::annotation(&rs, "deployment.kubernetes.io/revision-history") {
                Some(h) if !h.is_empty() => format!("{h},{old}"),
                _ => old.to_string(),
            };
            obj::set(
                &mut rs,
                &["metadata", "annotations", REVISION],
                json!(max_revision.saturating_add(1).to_string()),
            );
            obj::set(
                &mut rs,
                &[
                    "metadata",
                    "annotations",
                    "deployment.kubernetes.io/revision-history",
                ],
                json!(history),
            );
            store.replace("replicasets", rs)
        }
        Some(rs) => rs,
        None => new_replicaset(store, deployment, &template, max_revision.saturating_add(1)),
    };
    if deployment.pointer("/spec/paused").and_then(Value::as_bool) != Some(true) {
        scale(store, deployment, &current, replicas);
        for rs in owned_replicasets(store, deployment) {
            if obj::uid(&rs) != obj::uid(&current) {
                scale(store, deployment, &rs, 0);
            }
        }
    }
    if let Some(latest) = store
        .get(
            "deployments",
            obj::namespace(deployment),
            obj::name(deployment),
        )
        .cloned()
    {
        let rev = store
            .get("replicasets", obj::namespace(&current), obj::name(&current))
            .map(revision)
            .unwrap_or(0)
            .to_string();
        if obj::annotation(&latest, REVISION) != Some(rev.as_str()) {
            let mut updated = latest;
            obj::set(
                &mut updated,
                &["metadata", "annotations", REVISION],
                json!(rev),
            );
            store.replace("deployments", updated);
        }
    }
    prune_history(store, deployment, obj::uid(&current));
}

fn new_replicaset(store: &mut Store, deployment: &Value, template: &Value, rev: i64) -> Value {
    let hash = template_hash(template);
    let mut name = format!("{}-{hash}", obj::name(deployment));
    if store
        .get("replicasets", obj::namespace(deployment), &name)
        .is_some()
    {
        // A hash collision with a ReplicaSet of another template: the real controller
        // bumps collisionCount; a suffix does the same job here.
        name = format!("{name}{}", store.suffix(2));
    }
    let mut template = template.clone();
    obj::set(
        &mut template,
        &["metadata", "labels", POD_TEMPLATE_HASH],
        json!(hash),
    );
    // The template's labels, hash included (`set` made them an object).
    let labels = template
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut selector = deployment
        .pointer("/spec/selector")
        .cloned()
        .unwrap_or_else(|| json!({}));
    obj::set(
        &mut selector,
        &["matchLabels", POD_TEMPLATE_HASH],
        json!(hash),
    );
    let mut annotations = serde_json::Map::new();
    if let Some(existing) = deployment
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    {
        for (k, v) in existing {
            if !NOT_COPIED.contains(&k.as_str()) {
                annotations.insert(k.clone(), v.clone());
            }
        }
    }
    let replicas = desired_replicas(deployment);
    annotations.insert(REVISION.into(), json!(rev.to_string()));
    annotations.insert(
        "deployment.kubernetes.io/desired-replicas".into(),
        json!(replicas.to_string()),
    );
    annotations.insert(
        "deployment.kubernetes.io/max-replicas".into(),
        json!(
            replicas
                .saturating_add(max_surge(deployment, replicas))
                .to_string()
        ),
    );
    let mut spec = json!({"replicas": 0, "selector": selector, "template": template});
    if let Some(min_ready) = deployment.pointer("/spec/minReadySeconds") {
        spec["minReadySeconds"] = min_ready.clone();
    }
    let rs = json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": obj::namespace(deployment),
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [obj::controller_ref(deployment)],
        },
        "spec": spec,
    });
    store.insert_new("replicasets", rs)
}

/// Sets a ReplicaSet's replicas, recording the Deployment's ScalingReplicaSet event.
fn scale(store: &mut Store, deployment: &Value, rs: &Value, to: i64) {
    let Some(mut latest) = store
        .get("replicasets", obj::namespace(rs), obj::name(rs))
        .cloned()
    else {
        return;
    };
    let from = desired_replicas(&latest);
    if from == to {
        return;
    }
    obj::set(&mut latest, &["spec", "replicas"], json!(to));
    obj::set(
        &mut latest,
        &[
            "metadata",
            "annotations",
            "deployment.kubernetes.io/desired-replicas",
        ],
        json!(desired_replicas(deployment).to_string()),
    );
    store.replace("replicasets", latest);
    let direction = if to > from { "up" } else { "down" };
    let message = format!(
        "Scaled {direction} replica set {} from {from} to {to}",
        obj::name(rs)
    );
    events::record(
        store,
        deployment,
        EventType::Normal,
        "ScalingReplicaSet",
        &message,
        CONTROLLER,
    );
}

/// Deletes the oldest idle ReplicaSets beyond `spec.revisionHistoryLimit` (default 10).
fn prune_history(store: &mut Store, deployment: &Value, current_uid: &str) {
    let limit = obj::i64_at(deployment, "/spec/revisionHistoryLimit")
        .unwrap_or(10)
        .max(0);
    let mut idle: Vec<Value> = owned_replicasets(store, deployment)
        .into_iter()
        .filter(|rs| obj::uid(rs) != current_uid && desired_replicas(rs) == 0)
        .collect();
    let excess = idle
        .len()
        .saturating_sub(usize::try_from(limit).unwrap_or(0));
    idle.sort_by_key(revision);
    for rs in idle.into_iter().take(excess) {
        store.remove("replicasets", obj::namespace(&rs), obj::name(&rs));
    }
}

/// An int-or-percent field of the rolling update strategy, resolved against `replicas`.
fn int_or_percent(
    value: Option<&Value>,
    replicas: i64,
    default_percent: i64,
    round_up: bool,
) -> i64 {
    let percent = |p: i64| {
        let scaled = replicas.saturating_mul(p);
        if round_up {
            scaled.saturating_add(99) / 100
        } else {
            scaled / 100
        }
    };
    match value {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(p) => percent(p),
            None => percent(default_percent),
        },
        _ => percent(default_percent),
    }
}

fn max_surge(deployment: &Value, replicas: i64) -> i64 {
    if obj::str_at(deployment, "/spec/strategy/type") == Some("Recreate") {
        return 0;
    }
    int_or_percent(
        deployment.pointer("/spec/strategy/rollingUpdate/maxSurge"),
        replicas,
        25,
        true,
    )
}

fn max_unavailable(deployment: &Value, replicas: i64) -> i64 {
    if obj::str_at(deployment, "/spec/strategy/type") == Some("Recreate") {
        return 0;
    }
    int_or_percent(
        deployment.pointer("/spec/strategy/rollingUpdate/maxUnavailable"),
        replicas,
        25,
        false,
    )
}

/// Deployment status from its ReplicaSets' status (run after the ReplicaSet controller).
pub fn reconcile_status(store: &mut Store) {
    for deployment in store.list_owned("deployments", None) {
        let owned = owned_replicasets(store, &deployment);
        let template = deployment
            .pointer("/spec/template")
            .cloned()
            .unwrap_or(Value::Null);
        let current = owned.iter().find(|rs| {
            same_template(
                rs.pointer("/spec/template").unwrap_or(&Value::Null),
                &template,
            )
        });
        let count =
            |rs: &Value, field: &str| obj::i64_at(rs, &format!("/status/{field}")).unwrap_or(0);
        let sum = |field: &str| owned.iter().map(|rs| count(rs, field)).sum::<i64>();
        let replicas = sum("replicas");
        let ready = sum("readyReplicas");
        let available = sum("availableReplicas");
        let updated = current.map(|rs| count(rs, "replicas")).unwrap_or(0);
        let desired = desired_replicas(&deployment);
        let now = store.now_string();
        let mut conditions: Vec<Value> = deployment
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if available >= desired.saturating_sub(max_unavailable(&deployment, desired)) {
            set_condition(
                &mut conditions,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                &now,
            );
        } else {
            set_condition(
                &mut conditions,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                &now,
            );
        }
        let rs_name = current.map(obj::name).unwrap_or("");
        if updated == desired && replicas == desired && available == desired {
            set_condition(
                &mut conditions,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                &format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
                &now,
            );
        } else {
            set_condition(
                &mut conditions,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                &format!("ReplicaSet \"{rs_name}\" is progressing."),
                &now,
            );
        }
        let mut status = json!({
            "observedGeneration": obj::i64_at(&deployment, "/metadata/generation").unwrap_or(1),
            "replicas": replicas,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "conditions": conditions,
        });
        if desired > available {
            status["unavailableReplicas"] = json!(desired - available);
        }
        if let Some(map) = status.as_object_mut() {
            // The API omits zero counts.
            map.retain(|k, v| {
                k == "observedGeneration" || k == "conditions" || v.as_i64() != Some(0)
            });
        }
        write_status(store, "deployments", &deployment, status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_update_bounds() {
        assert_eq!(int_or_percent(None, 5, 25, true), 2);
        assert_eq!(int_or_percent(None, 5, 25, false), 1);
        assert_eq!(int_or_percent(Some(&json!("50%")), 5, 25, false), 2);
        assert_eq!(int_or_percent(Some(&json!(3)), 5, 25, false), 3);
    }
}
