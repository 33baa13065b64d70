//! Pod tools, one module per tool: `list_pods`, `describe_pod`, `pod_logs`, `top_pods` and
//! `oom_killed_pods`. Here: what they share — listing pods in a scope, and reading
//! container usage from metrics.k8s.io beside the containers' limits.

mod describe_pod;
mod list_pods;
mod oom_killed_pods;
mod pod_logs;
mod top_pods;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use kube::api::{Api, ListParams};
use serde_json::Value;

pub use describe_pod::describe_pod;
pub use list_pods::list_pods;
pub use oom_killed_pods::oom_killed_pods;
pub use pod_logs::pod_logs;
pub use top_pods::top_pods;

use crate::error::{ToolFailure, ToolResult};
use crate::format::{parse_quantity, quantity};
use crate::lookup::ensure_namespace;

/// List parameters from optional label and field selectors (blank ones ignored).
fn list_params(label: Option<&str>, field: Option<&str>) -> ListParams {
    let mut lp = ListParams::default();
    if let Some(l) = label.filter(|l| !l.trim().is_empty()) {
        lp = lp.labels(l);
    }
    if let Some(f) = field.filter(|f| !f.trim().is_empty()) {
        lp = lp.fields(f);
    }
    lp
}

/// Lists pods of `ns` (or all namespaces), failing clearly on an unknown namespace.
pub async fn list(
    client: &kube::Client,
    ns: Option<&str>,
    lp: &ListParams,
) -> ToolResult<Vec<Pod>> {
    let api: Api<Pod> = match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let pods = api.list(lp).await?.items;
    if let (true, Some(ns)) = (pods.is_empty(), ns) {
        ensure_namespace(client, ns).await?;
    }
    Ok(pods)
}

/// The namespace to list in: `None` for all namespaces; neither given is an error.
fn scope(namespace: Option<&str>, all: bool) -> ToolResult<Option<String>> {
    match (namespace, all) {
        (_, true) => Ok(None),
        (Some(ns), false) if !ns.trim().is_empty() => Ok(Some(ns.trim().to_owned())),
        _ => Err(ToolFailure::BadArgument(
            "give a namespace, or all_namespaces: true to search every namespace".into(),
        )),
    }
}

/// Per-pod usage from metrics.k8s.io: (cpu cores, memory bytes) per container.
fn usage_by_pod(
    metrics: &[kube::core::DynamicObject],
) -> BTreeMap<(String, String), BTreeMap<String, (f64, f64)>> {
    let mut out = BTreeMap::new();
    for m in metrics {
        let key = (
            m.metadata.namespace.clone().unwrap_or_default(),
            m.metadata.name.clone().unwrap_or_default(),
        );
        let mut per = BTreeMap::new();
        for c in m
            .data
            .get("containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let q = |k: &str| {
                c.pointer(&format!("/usage/{k}"))
                    .and_then(Value::as_str)
                    .and_then(parse_quantity)
                    .unwrap_or(0.0)
            };
            per.insert(name, (q("cpu"), q("memory")));
        }
        out.insert(key, per);
    }
    out
}

/// A container's limit of `what` (`cpu` in cores, `memory` in bytes), if it has one.
fn limit_of(c: &Container, what: &str) -> Option<f64> {
    c.resources
        .as_ref()?
        .limits
        .as_ref()?
        .get(what)
        .and_then(quantity)
}
