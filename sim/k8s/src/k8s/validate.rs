//! The checks the API makes on writes, for the kinds where the simulator's behaviour
//! depends on them (pods, workloads, HPAs, PDBs), and the required fields of the simulated
//! custom resources (ServiceMonitors).

use serde_json::Value;

use super::controllers;
use super::obj;
use super::resources::ResourceType;
use super::selectors::LabelSelector;
use super::status::ApiStatus;

/// The JSON type name of a value, as the API's schema errors write it.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The checks the API makes that matter for the simulated kinds. `old` is the stored
/// object on updates.
pub fn validate(rt: &ResourceType, object: &Value, old: Option<&Value>) -> Result<(), ApiStatus> {
    let name = obj::name(object);
    let invalid = |message: String| Err(ApiStatus::invalid(rt.kind, name, message));
    match rt.kind {
        "Pod" => {
            let containers = object.pointer("/spec/containers").and_then(Value::as_array);
            if containers.is_none_or(|c| c.is_empty()) {
                return invalid("spec.containers: Required value".to_owned());
            }
            if containers.is_some_and(|cs| {
                cs.iter()
                    .any(|c| obj::str_at(c, "/name").is_none_or(str::is_empty))
            }) {
                return invalid("spec.containers[0].name: Required value".to_owned());
            }
            if let Some(old) = old {
                let images_only = |pod: &Value| {
                    let mut spec = pod.get("spec").cloned().unwrap_or(Value::Null);
                    if let Some(cs) = spec.get_mut("containers").and_then(Value::as_array_mut) {
                        for c in cs {
                            obj::remove(c, &["image"]);
                        }
                    }
                    for field in [
                        "activeDeadlineSeconds",
                        "tolerations",
                        "terminationGracePeriodSeconds",
                    ] {
                        obj::remove(&mut spec, &[field]);
                    }
                    obj::normalized(&spec)
                };
                if images_only(old) != images_only(object) {
                    return invalid("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)".to_owned());
                }
            }
        }
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => {
            if let Some(replicas) = object.pointer("/spec/replicas")
                && replicas.as_i64().is_none_or(|r| r < 0)
            {
                return invalid(format!(
                    "spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0"
                ));
            }
            if let Some(replicas) = obj::i64_at(object, "/spec/replicas")
                && replicas > controllers::MAX_REPLICAS
            {
                return invalid(format!(
                    "spec.replicas: Invalid value: {replicas}: the simulator allows at most {}",
                    controllers::MAX_REPLICAS
                ));
            }
            let Some(selector) = object
                .pointer("/spec/selector")
                .and_then(LabelSelector::from_object)
                .filter(|s| !s.is_empty())
            else {
                return invalid("spec.selector: Required value".to_owned());
            };
            let labels = object
                .pointer("/spec/template/metadata/labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            if !selector.matches(&labels) {
                return invalid("spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`".to_owned());
            }
            if let Some(old) = old
                && old.pointer("/spec/selector") != object.pointer("/spec/selector")
            {
                return invalid("spec.selector: Invalid value: field is immutable".to_owned());
            }
        }
        "HorizontalPodAutoscaler" => {
            let min = obj::i64_at(object, "/spec/minReplicas").unwrap_or(1);
            let max = obj::i64_at(object, "/spec/maxReplicas").unwrap_or(0);
            if min < 1 {
                return invalid(format!(
                    "spec.minReplicas: Invalid value: {min}: must be greater than or equal to 1"
                ));
            }
            if max < min {
                return invalid(format!(
                    "spec.maxReplicas: Invalid value: {max}: must be greater than or equal to `minReplicas`"
                ));
            }
        }
        "ServiceMonitor" => {
            for (field, is_type, type_name) in [
                ("selector", Value::is_object as fn(&Value) -> bool, "object"),
                ("endpoints", Value::is_array, "array"),
            ] {
                match object.pointer(&format!("/spec/{field}")) {
                    None | Some(Value::Null) => {
                        return invalid(format!("spec.{field}: Required value"));
                    }
                    Some(v) if !is_type(v) => {
                        return invalid(format!(
                            "spec.{field}: Invalid value: \"{}\": spec.{field} in body must be of type {type_name}: \"{}\"",
                            json_type(v),
                            json_type(v)
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        "PodDisruptionBudget"
            if object.pointer("/spec/minAvailable").is_some()
                && object.pointer("/spec/maxUnavailable").is_some() =>
        {
            return invalid(
                "spec: Invalid value: minAvailable and maxUnavailable cannot be both set"
                    .to_owned(),
            );
        }
        _ => {}
    }
    Ok(())
}
