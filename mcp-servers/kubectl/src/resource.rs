//! `get_resource`: any kind, by name or as a list; never Secrets.

use kube::api::{Api, ListParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::discovery::{Discovery, Scope};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_mcp_common::{Table, cap, ok_json, redact_json};

use crate::args;
use crate::error::{ToolFailure, ToolResult};
use crate::format;
use crate::lookup::ensure_namespace;
use crate::pods::LIST_BYTES;

/// (names, group, version, kind, plural, namespaced)
type Known = (
    &'static [&'static str],
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
);

/// Common kinds resolved without a discovery round trip.
const KNOWN: &[Known] = &[
    (&["pod", "pods", "po"], "", "v1", "Pod", "pods", true),
    (
        &["service", "services", "svc"],
        "",
        "v1",
        "Service",
        "services",
        true,
    ),
    (
        &["configmap", "configmaps", "cm"],
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        true,
    ),
    (
        &["namespace", "namespaces", "ns"],
        "",
        "v1",
        "Namespace",
        "namespaces",
        false,
    ),
    (&["node", "nodes", "no"], "", "v1", "Node", "nodes", false),
    (
        &["event", "events", "ev"],
        "",
        "v1",
        "Event",
        "events",
        true,
    ),
    (
        &["persistentvolumeclaim", "persistentvolumeclaims", "pvc"],
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
    ),
    (
        &["persistentvolume", "persistentvolumes", "pv"],
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        false,
    ),
    (
        &["serviceaccount", "serviceaccounts", "sa"],
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        true,
    ),
    (
        &["endpoints", "ep"],
        "",
        "v1",
        "Endpoints",
        "endpoints",
        true,
    ),
    (
        &["deployment", "deployments", "deploy"],
        "apps",
        "v1",
        "Deployment",
        "deployments",
        true,
    ),
    (
        &["replicaset", "replicasets", "rs"],
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        true,
    ),
    (
        &["statefulset", "statefulsets", "sts"],
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        true,
    ),
    (
        &["daemonset", "daemonsets", "ds"],
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        true,
    ),
    (&["job", "jobs"], "batch", "v1", "Job", "jobs", true),
    (
        &["cronjob", "cronjobs", "cj"],
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        true,
    ),
    (
        &["horizontalpodautoscaler", "horizontalpodautoscalers", "hpa"],
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
    ),
    (
        &["poddisruptionbudget", "poddisruptionbudgets", "pdb"],
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
    ),
    (
        &["networkpolicy", "networkpolicies", "netpol"],
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    (
        &["ingress", "ingresses", "ing"],
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        true,
    ),
];

/// Resolves a kind, plural or short name to its API resource and scope.
async fn resolve(client: &kube::Client, kind: &str) -> ToolResult<(ApiResource, bool)> {
    let k = kind.trim().to_ascii_lowercase();
    let k = k.split('.').next().unwrap_or(&k).to_owned();
    if let Some((_, g, v, kind, plural, namespaced)) =
        KNOWN.iter().find(|(names, ..)| names.contains(&k.as_str()))
    {
        return Ok((
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(g, v, kind), plural),
            *namespaced,
        ));
    }
    let discovery = Discovery::new(client.clone()).run().await?;
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            if ar.kind.to_ascii_lowercase() == k || ar.plural == k {
                return Ok((ar, caps.scope == Scope::Namespaced));
            }
        }
    }
    Err(ToolFailure::BadArgument(format!(
        "unknown kind {kind:?}; use a kind like Service, ConfigMap, pdb, hpa, netpol, or a custom resource's kind"
    )))
}

/// Drops what a reader never needs (managed fields, last-applied copies) and masks
/// credentials in ConfigMap data and annotations.
fn tidy(mut v: Value) -> Value {
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            ann.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    redact_json(&mut v);
    v
}

/// `get_resource`
pub async fn get_resource(
    client: &kube::Client,
    a: args::GetResource,
) -> ToolResult<CallToolResult> {
    if sopilot_protocol_secret(&a.kind) {
        return Err(ToolFailure::Refused(
            "get_resource never returns Secrets: their contents must not reach a model or a log. Pods show which Secrets they reference (describe_pod).".into(),
        ));
    }
    let (ar, namespaced) = resolve(client, &a.kind).await?;
    let ns = a.namespace.filter(|n| !n.trim().is_empty());
    let api: Api<DynamicObject> = match (&ns, namespaced) {
        (Some(ns), true) => Api::namespaced_with(client.clone(), ns, &ar),
        _ => Api::all_with(client.clone(), &ar),
    };
    if let Some(name) = a.name.filter(|n| !n.trim().is_empty()) {
        if namespaced && ns.is_none() {
            return Err(ToolFailure::BadArgument(format!(
                "{} is namespaced: give the namespace of {name}",
                ar.kind
            )));
        }
        let obj = match api.get_opt(&name).await? {
            Some(o) => o,
            None => {
                if let Some(ns) = &ns {
                    ensure_namespace(client, ns).await?;
                }
                return Err(ToolFailure::BadArgument(format!(
                    "{} {name:?} not found{}; list them with get_resource {{kind: {}{}}}",
                    ar.kind,
                    ns.as_deref()
                        .map(|n| format!(" in namespace {n}"))
                        .unwrap_or_default(),
                    ar.kind,
                    ns.as_deref()
                        .map(|n| format!(", namespace: {n}"))
                        .unwrap_or_default()
                )));
            }
        };
        let v = tidy(serde_json::to_value(&obj).unwrap_or_default());
        let text = serde_json::to_string_pretty(&v).unwrap_or_default();
        let capped = cap(&text, LIST_BYTES, "ask for a narrower object");
        return Ok(ok_json(capped.text, &v));
    }
    let mut lp = ListParams::default();
    if let Some(l) = a.label_selector.as_deref().filter(|l| !l.trim().is_empty()) {
        lp = lp.labels(l);
    }
    let items = api.list(&lp).await?.items;
    if let (true, Some(ns)) = (items.is_empty(), &ns) {
        ensure_namespace(client, ns).await?;
    }
    let now = format::now();
    let mut t = Table::new(if namespaced {
        vec!["NAMESPACE", "NAME", "AGE"]
    } else {
        vec!["NAME", "AGE"]
    });
    let mut names = Vec::new();
    for o in &items {
        let name = o.metadata.name.clone().unwrap_or_default();
        let age = format::age_of(o.metadata.creation_timestamp.as_ref(), now);
        if namespaced {
            t.row([
                o.metadata.namespace.clone().unwrap_or_default(),
                name.clone(),
                age,
            ]);
        } else {
            t.row([name.clone(), age]);
        }
        names.push(json!({"namespace": o.metadata.namespace, "name": name}));
    }
    let text = format!("{} {}\n{}", items.len(), ar.plural, t.render());
    let capped = cap(&text, LIST_BYTES, "narrow with namespace or label_selector");
    Ok(ok_json(
        capped.text,
        &json!({"kind": ar.kind, "items": names, "truncated": capped.truncated}),
    ))
}

/// Secrets in every spelling (`Secret`, `secrets`, `v1/Secret`).
fn sopilot_protocol_secret(kind: &str) -> bool {
    let t = kind.trim().to_ascii_lowercase();
    let t = t.rsplit('/').next().unwrap_or(&t);
    let t = t.split('.').next().unwrap_or(t);
    t == "secret" || t == "secrets"
}
