//! Decoding an object as the API server's Go types would, with upstream's own types: the
//! object is deserialized into the k8s-openapi type of its kind and serialized back. What the
//! input has and the round trip lost is a field the type does not declare; what does not
//! deserialize is a type error, reported with its path.
//!
//! Go's decoder does not require fields (validation does, later, with its own messages), but
//! k8s-openapi's does: a missing required field is filled with a placeholder of the type the
//! error asks for and decoding retried, so only unknown fields and wrong types are reported.

use k8s_openapi::api::{
    apps, autoscaling, batch, coordination, core, discovery, events, networking, policy, rbac,
};
use k8s_openapi::serde::Serialize;
use k8s_openapi::serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

use super::Step;
use crate::k8s::resources::ResourceType;

/// A value that does not decode: where, and what serde said.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub path: Vec<Step>,
    pub message: String,
}

/// What missing required fields are filled with, tried in turn until one has the right type.
const PLACEHOLDERS: &[&str] = &["{}", "[]", "\"\"", "0", "false"];
/// The most placeholders one object may need (a bound on the retries).
const MAX_FILLS: usize = 256;

/// The object as the kind's upstream type keeps it, or `None` for a kind k8s-openapi does not
/// have (custom resources, metrics).
pub fn round_trip_for(rt: &ResourceType, object: &Value) -> Option<Result<Value, Mismatch>> {
    use {apps::v1 as apps1, core::v1 as core1};
    let object = object.clone();
    Some(match (rt.group, rt.version, rt.kind) {
        ("", "v1", "Pod") => round_trip::<core1::Pod>(object),
        ("", "v1", "Node") => round_trip::<core1::Node>(object),
        ("", "v1", "Namespace") => round_trip::<core1::Namespace>(object),
        ("", "v1", "Service") => round_trip::<core1::Service>(object),
        ("", "v1", "Endpoints") => round_trip::<core1::Endpoints>(object),
        ("", "v1", "ConfigMap") => round_trip::<core1::ConfigMap>(object),
        ("", "v1", "Secret") => round_trip::<core1::Secret>(object),
        ("", "v1", "Event") => round_trip::<core1::Event>(object),
        ("", "v1", "ServiceAccount") => round_trip::<core1::ServiceAccount>(object),
        ("", "v1", "PersistentVolumeClaim") => round_trip::<core1::PersistentVolumeClaim>(object),
        ("", "v1", "PersistentVolume") => round_trip::<core1::PersistentVolume>(object),
        ("apps", "v1", "Deployment") => round_trip::<apps1::Deployment>(object),
        ("apps", "v1", "ReplicaSet") => round_trip::<apps1::ReplicaSet>(object),
        ("apps", "v1", "StatefulSet") => round_trip::<apps1::StatefulSet>(object),
        ("apps", "v1", "DaemonSet") => round_trip::<apps1::DaemonSet>(object),
        ("apps", "v1", "ControllerRevision") => round_trip::<apps1::ControllerRevision>(object),
        ("policy", "v1", "PodDisruptionBudget") => {
            round_trip::<policy::v1::PodDisruptionBudget>(object)
        }
        ("autoscaling", "v2", "HorizontalPodAutoscaler") => {
            round_trip::<autoscaling::v2::HorizontalPodAutoscaler>(object)
        }
        ("autoscaling", "v1", "HorizontalPodAutoscaler") => {
            round_trip::<autoscaling::v1::HorizontalPodAutoscaler>(object)
        }
        ("networking.k8s.io", "v1", "NetworkPolicy") => {
            round_trip::<networking::v1::NetworkPolicy>(object)
        }
        ("networking.k8s.io", "v1", "Ingress") => round_trip::<networking::v1::Ingress>(object),
        ("batch", "v1", "Job") => round_trip::<batch::v1::Job>(object),
        ("batch", "v1", "CronJob") => round_trip::<batch::v1::CronJob>(object),
        ("discovery.k8s.io", "v1", "EndpointSlice") => {
            round_trip::<discovery::v1::EndpointSlice>(object)
        }
        ("coordination.k8s.io", "v1", "Lease") => round_trip::<coordination::v1::Lease>(object),
        ("events.k8s.io", "v1", "Event") => round_trip::<events::v1::Event>(object),
        ("rbac.authorization.k8s.io", "v1", "Role") => round_trip::<rbac::v1::Role>(object),
        ("rbac.authorization.k8s.io", "v1", "ClusterRole") => {
            round_trip::<rbac::v1::ClusterRole>(object)
        }
        ("rbac.authorization.k8s.io", "v1", "RoleBinding") => {
            round_trip::<rbac::v1::RoleBinding>(object)
        }
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding") => {
            round_trip::<rbac::v1::ClusterRoleBinding>(object)
        }
        _ => return None,
    })
}

/// Deserializes `input` as `T` (filling missing required fields) and serializes it back.
pub fn round_trip<T: DeserializeOwned + Serialize>(input: Value) -> Result<Value, Mismatch> {
    let mut work = input;
    // The placeholders put in so far, with the index of the one in place.
    let mut filled: Vec<(Vec<Step>, usize)> = Vec::new();
    for _ in 0..MAX_FILLS {
        let error = match serde_path_to_error::deserialize::<_, T>(work.clone()) {
            Ok(typed) => {
                return serde_json::to_value(&typed).map_err(|e| Mismatch {
                    path: Vec::new(),
                    message: e.to_string(),
                });
            }
            Err(error) => error,
        };
        let path = steps(error.path());
        let message = error.inner().to_string();
        if let Some(field) = missing_field(&message) {
            let mut at = path;
            at.push(Step::Key(field.to_owned()));
            if set(&mut work, &at, 0) {
                filled.push((at, 0));
                continue;
            }
            return Err(Mismatch { path: at, message });
        }
        match filled.iter_mut().find(|(at, _)| *at == path) {
            Some((at, index)) if *index + 1 < PLACEHOLDERS.len() => {
                *index += 1;
                let (at, index) = (at.clone(), *index);
                set(&mut work, &at, index);
            }
            _ => return Err(Mismatch { path, message }),
        }
    }
    Err(Mismatch {
        path: Vec::new(),
        message: format!("more than {MAX_FILLS} required fields are missing"),
    })
}

fn steps(path: &serde_path_to_error::Path) -> Vec<Step> {
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

/// `missing field `name`` → `name`.
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")?
        .split('`')
        .next()
        .filter(|f| !f.is_empty())
}

/// Puts placeholder `index` at `at` (whose parent must be an object). False if it cannot.
fn set(root: &mut Value, at: &[Step], index: usize) -> bool {
    let Some((Step::Key(last), parent)) = at.split_last() else {
        return false;
    };
    let mut here = root;
    for step in parent {
        let next = match step {
            Step::Key(k) => here.get_mut(k.as_str()),
            Step::Index(i) => here.get_mut(*i),
        };
        let Some(next) = next else { return false };
        here = next;
    }
    let (Some(map), Some(text)) = (here.as_object_mut(), PLACEHOLDERS.get(index)) else {
        return false;
    };
    let Ok(placeholder) = serde_json::from_str(text) else {
        return false;
    };
    map.insert(last.clone(), placeholder);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_required_fields_are_not_errors_but_wrong_types_are() {
        // A pod without containers, and a container without a name: both required upstream.
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                         "spec": {"nodeName": "n1"}});
        let out = round_trip::<core::v1::Pod>(pod).unwrap();
        assert_eq!(out["spec"]["nodeName"], "n1");
        let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"containers": [{"image": "x"}]}}, "replicas": "2"}});
        let err = round_trip::<apps::v1::Deployment>(deploy).unwrap_err();
        assert_eq!(
            err.path,
            vec![Step::Key("spec".into()), Step::Key("replicas".into())]
        );
        assert!(err.message.contains("invalid type: string"), "{err:?}");
    }
}
