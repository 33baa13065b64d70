//! `get_resource` (any kind, by name or as a list; never Secrets) and `resolve_resource`
//! (what a spelling resolves to).

use kube::api::{Api, ListParams};
use kube::core::DynamicObject;
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_mcp_common::{Table, cap, ok_json, redact_json};

use crate::args;
use crate::discovery::{Resolver, api_resource};
use crate::error::{ToolFailure, ToolResult};
use crate::format::{self, LIST_BYTES};
use crate::lookup::ensure_namespace;

/// Drops what a reader never needs (managed fields, the last-applied copy of the whole
/// manifest, env values included) and redacts the object as JSON before it is printed: the
/// text rules alone cannot tell which env entry or ConfigMap key a value belongs to. (Every
/// result is redacted again, text and structure, by `sopilot_mcp_common::run`.)
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

/// `resolve_resource`: one line of text, `{"resource": Resource}` beside it.
pub async fn resolve_resource(
    resolver: &Resolver,
    a: args::ResolveResource,
) -> ToolResult<CallToolResult> {
    let r = resolver.resolve(&a.kind).await?;
    let text = format!(
        "{} ({}, {})",
        r.qualified(),
        r.kind,
        if r.namespaced {
            "namespaced"
        } else {
            "cluster-scoped"
        }
    );
    Ok(ok_json(text, &json!({"resource": r})))
}

/// `get_resource`
pub async fn get_resource(
    client: &kube::Client,
    resolver: &Resolver,
    a: args::GetResource,
) -> ToolResult<CallToolResult> {
    let r = resolver.resolve_for("get_resource", &a.kind).await?;
    let (ar, namespaced) = (api_resource(&r), r.namespaced);
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
