//! The fields of the custom resources the simulator serves as if their CRDs were installed:
//! the Prometheus operator's `monitoring.coreos.com/v1` ServiceMonitor. Metadata and label
//! selectors are checked with upstream's types; the rest against the CRD's declared
//! properties (its structural schema, as of prometheus-operator v0.8x), to the depth a chart
//! writes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde_json::Value;

use super::decode::round_trip;
use super::{Step, lost_at};
use crate::k8s::resources::ResourceType;

const TOP: &[&str] = &["apiVersion", "kind", "metadata", "spec"];

const SPEC: &[&str] = &[
    "attachMetadata",
    "bodySizeLimit",
    "convertClassicHistogramsToNHCB",
    "endpoints",
    "fallbackScrapeProtocol",
    "jobLabel",
    "keepDroppedTargets",
    "labelLimit",
    "labelNameLengthLimit",
    "labelValueLengthLimit",
    "namespaceSelector",
    "nativeHistogramBucketLimit",
    "nativeHistogramMinBucketFactor",
    "podTargetLabels",
    "sampleLimit",
    "scrapeClass",
    "scrapeClassicHistograms",
    "scrapeProtocols",
    "selector",
    "selectorMechanism",
    "serviceDiscoveryRole",
    "targetLabels",
    "targetLimit",
];

const ENDPOINT: &[&str] = &[
    "authorization",
    "basicAuth",
    "bearerTokenFile",
    "bearerTokenSecret",
    "enableHttp2",
    "filterRunning",
    "followRedirects",
    "honorLabels",
    "honorTimestamps",
    "interval",
    "metricRelabelings",
    "noProxy",
    "oauth2",
    "params",
    "path",
    "port",
    "proxyConnectHeader",
    "proxyFromEnvironment",
    "proxyUrl",
    "relabelings",
    "scheme",
    "scrapeTimeout",
    "targetPort",
    "tlsConfig",
    "trackTimestampsStaleness",
];

const NAMESPACE_SELECTOR: &[&str] = &["any", "matchNames"];

/// The undeclared fields of a custom resource, or `None` when `rt` is not one.
pub fn unknown_fields(rt: &ResourceType, object: &Value) -> Option<Vec<String>> {
    if (rt.group, rt.kind) != ("monitoring.coreos.com", "ServiceMonitor") {
        return None;
    }
    let mut out = Vec::new();
    let mut at = Vec::new();
    keys(object, TOP, &mut at, &mut out);
    typed::<ObjectMeta>(object, "metadata", &mut at, &mut out);
    if let Some(spec) = object.get("spec") {
        at.push(Step::Key("spec".into()));
        keys(spec, SPEC, &mut at, &mut out);
        typed::<LabelSelector>(spec, "selector", &mut at, &mut out);
        if let Some(ns) = spec.get("namespaceSelector") {
            at.push(Step::Key("namespaceSelector".into()));
            keys(ns, NAMESPACE_SELECTOR, &mut at, &mut out);
            at.pop();
        }
        let endpoints = spec.get("endpoints").and_then(Value::as_array);
        for (i, endpoint) in endpoints.into_iter().flatten().enumerate() {
            at.extend([Step::Key("endpoints".into()), Step::Index(i)]);
            keys(endpoint, ENDPOINT, &mut at, &mut out);
            at.truncate(at.len() - 2);
        }
        at.pop();
    }
    Some(out)
}

/// The keys of the object `value` not in `declared` (none when it is not an object).
fn keys(value: &Value, declared: &[&str], at: &mut Vec<Step>, out: &mut Vec<String>) {
    for (key, v) in value.as_object().into_iter().flatten() {
        if !v.is_null() && !declared.contains(&key.as_str()) {
            at.push(Step::Key(key.clone()));
            out.push(super::render(at));
            at.pop();
        }
    }
}

/// The undeclared fields of `parent[field]` by the upstream type `T` (a value of the wrong
/// type is left to validation).
fn typed<T>(parent: &Value, field: &str, at: &mut Vec<Step>, out: &mut Vec<String>)
where
    T: k8s_openapi::serde::de::DeserializeOwned + k8s_openapi::serde::Serialize,
{
    let Some(value) = parent.get(field) else {
        return;
    };
    if let Ok(kept) = round_trip::<T>(value.clone()) {
        at.push(Step::Key(field.to_owned()));
        lost_at(value, &kept, at, out);
        at.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::resources::find;
    use serde_json::json;

    #[test]
    fn service_monitor_fields() {
        let rt = find("monitoring.coreos.com", "v1", "servicemonitors").unwrap();
        let good = json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
            "metadata": {"name": "s", "labels": {"release": "prom"}},
            "spec": {"selector": {"matchLabels": {"app": "a"}},
                     "namespaceSelector": {"matchNames": ["x"]},
                     "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}]}});
        assert_eq!(unknown_fields(rt, &good), Some(vec![]));
        let mut bad = good.clone();
        bad["spec"]["endpoints"][0]["intervall"] = json!("30s");
        bad["spec"]["selector"]["matchLabelz"] = json!({});
        bad["metadata"]["labelz"] = json!({});
        bad["spec"]["portt"] = json!(1);
        assert_eq!(
            unknown_fields(rt, &bad).unwrap(),
            vec![
                "metadata.labelz",
                "spec.portt",
                "spec.selector.matchLabelz",
                "spec.endpoints[0].intervall"
            ]
        );
        let cms = find("", "v1", "configmaps").unwrap();
        assert_eq!(unknown_fields(cms, &good), None);
    }
}
