//! API versions served by conversion from the stored version: events.k8s.io/v1 Events
//! (stored as core/v1) and autoscaling/v1 HorizontalPodAutoscalers (stored as v2).

use serde_json::{Map, Value, json};

use super::events;
use super::obj;
use super::resources::View;

/// The stored object as the `view` version shows it.
pub fn to_view(view: View, stored: &Value) -> Value {
    match view {
        View::EventsV1 => events::to_events_v1(stored),
        View::AutoscalingV1 => hpa_to_v1(stored),
    }
}

/// The stored form of an object written in the `view` version.
pub fn from_view(view: View, written: &Value) -> Value {
    match view {
        View::EventsV1 => events::from_events_v1(written),
        View::AutoscalingV1 => hpa_from_v1(written),
    }
}

fn cpu_utilization(metrics: Option<&Value>, side: &str) -> Option<Value> {
    metrics?
        .as_array()?
        .iter()
        .find(|m| {
            obj::str_at(m, "/type") == Some("Resource")
                && obj::str_at(m, "/resource/name") == Some("cpu")
        })
        .and_then(|m| m.pointer(&format!("/resource/{side}/averageUtilization")))
        .cloned()
}

/// autoscaling/v2 → v1: only a CPU utilization target survives (as in the API, which
/// keeps the other metrics in an annotation; the simulator drops them from the v1 view).
fn hpa_to_v1(v2: &Value) -> Value {
    let mut spec = Map::new();
    for field in ["scaleTargetRef", "minReplicas", "maxReplicas"] {
        if let Some(v) = v2.pointer(&format!("/spec/{field}")) {
            spec.insert(field.to_owned(), v.clone());
        }
    }
    if let Some(target) = cpu_utilization(v2.pointer("/spec/metrics"), "target") {
        spec.insert("targetCPUUtilizationPercentage".into(), target);
    }
    let mut status = Map::new();
    for field in [
        "observedGeneration",
        "lastScaleTime",
        "currentReplicas",
        "desiredReplicas",
    ] {
        if let Some(v) = v2.pointer(&format!("/status/{field}")) {
            status.insert(field.to_owned(), v.clone());
        }
    }
    if let Some(current) = cpu_utilization(v2.pointer("/status/currentMetrics"), "current") {
        status.insert("currentCPUUtilizationPercentage".into(), current);
    }
    json!({
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": v2.get("metadata").cloned().unwrap_or(json!({})),
        "spec": spec,
        "status": status,
    })
}

/// autoscaling/v1 → v2: the CPU target becomes a Resource metric (80 % when unset, the
/// API's default).
fn hpa_from_v1(v1: &Value) -> Value {
    let mut spec = Map::new();
    for field in ["scaleTargetRef", "minReplicas", "maxReplicas"] {
        if let Some(v) = v1.pointer(&format!("/spec/{field}")) {
            spec.insert(field.to_owned(), v.clone());
        }
    }
    let target = v1
        .pointer("/spec/targetCPUUtilizationPercentage")
        .cloned()
        .unwrap_or(json!(80));
    spec.insert(
        "metrics".into(),
        json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}]),
    );
    let mut out = json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": v1.get("metadata").cloned().unwrap_or(json!({})),
        "spec": spec,
    });
    if let Some(status) = v1.get("status").and_then(Value::as_object) {
        let mut v2_status: Map<String, Value> = status
            .iter()
            .filter(|(k, _)| k.as_str() != "currentCPUUtilizationPercentage")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(current) = status.get("currentCPUUtilizationPercentage") {
            v2_status.insert(
                "currentMetrics".into(),
                json!([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": current}}}]),
            );
        }
        out["status"] = Value::Object(v2_status);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpa_round_trip() {
        let v2 = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 10,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]},
            "status": {"currentReplicas": 5, "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 64}}}]}});
        let v1 = to_view(View::AutoscalingV1, &v2);
        assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 70);
        assert_eq!(v1["status"]["currentCPUUtilizationPercentage"], 64);
        let back = from_view(View::AutoscalingV1, &v1);
        assert_eq!(back["spec"], v2["spec"]);
        assert_eq!(
            back["status"]["currentMetrics"],
            v2["status"]["currentMetrics"]
        );
        let fresh = from_view(View::AutoscalingV1, &json!({"spec": {"maxReplicas": 3}}));
        assert_eq!(
            fresh["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            80
        );
    }
}
