//! `oom_killed_pods`: containers whose last termination was OOMKilled, with their memory
//! request, limit and usage, and a suggested limit.

use k8s_openapi::api::core::v1::Container;
use kube::api::ListParams;
use rmcp::model::CallToolResult;
use serde_json::json;
use sopilot_mcp_common::{Table, cap, ok_json};

use super::{limit_of, list, usage_by_pod};
use crate::args;
use crate::error::ToolResult;
use crate::format::{LIST_BYTES, mib, quantity};
use crate::lookup::pod_metrics;

/// A container's request of `what` (`cpu` in cores, `memory` in bytes), if it has one.
fn request_of(c: &Container, what: &str) -> Option<f64> {
    c.resources
        .as_ref()?
        .requests
        .as_ref()?
        .get(what)
        .and_then(quantity)
}

/// Rounds a suggested memory limit up to a multiple of 64 MiB.
fn suggest_limit(peak_bytes: f64, headroom: f64) -> f64 {
    let step = 64.0 * 1024.0 * 1024.0;
    ((peak_bytes * (1.0 + headroom)) / step).ceil() * step
}

/// `oom_killed_pods`: containers whose last termination was OOMKilled, with limits, requests
/// and current usage side by side, and a suggested limit.
pub async fn oom_killed_pods(
    client: &kube::Client,
    a: args::OomPods,
) -> ToolResult<CallToolResult> {
    let ns = a.namespace.filter(|n| !n.trim().is_empty());
    let pods = list(client, ns.as_deref(), &ListParams::default()).await?;
    let usage = usage_by_pod(&pod_metrics(client, ns.as_deref()).await);
    let mut rows = Vec::new();
    for p in &pods {
        let key = (
            p.metadata.namespace.clone().unwrap_or_default(),
            p.metadata.name.clone().unwrap_or_default(),
        );
        for cs in p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .into_iter()
            .flatten()
        {
            let term = cs
                .last_state
                .as_ref()
                .and_then(|l| l.terminated.as_ref())
                .or_else(|| cs.state.as_ref().and_then(|s| s.terminated.as_ref()));
            let Some(t) = term.filter(|t| t.reason.as_deref() == Some("OOMKilled")) else {
                continue;
            };
            let spec = p
                .spec
                .as_ref()
                .and_then(|s| s.containers.iter().find(|c| c.name == cs.name));
            let limit = spec.and_then(|c| limit_of(c, "memory"));
            let used = usage.get(&key).and_then(|u| u.get(&cs.name)).map(|u| u.1);
            let peak = used.into_iter().chain(limit).fold(0.0_f64, f64::max);
            rows.push(json!({
                "namespace": key.0, "pod": key.1, "container": cs.name,
                "restarts": cs.restart_count,
                "memory_request_bytes": spec.and_then(|c| request_of(c, "memory")),
                "memory_limit_bytes": limit,
                "memory_usage_bytes": used,
                "usage_percent_of_limit": limit.zip(used).map(|(l, u)| (u / l * 1000.0).round() / 10.0),
                "last_killed_at": t.finished_at.as_ref().map(|f| f.0.to_string()),
                "suggested_limit_bytes": (peak > 0.0).then(|| suggest_limit(peak, 0.3)),
            }));
        }
    }
    let mut t = Table::new([
        "NAMESPACE",
        "POD",
        "CONTAINER",
        "RESTARTS",
        "MEM-REQUEST",
        "MEM-LIMIT",
        "USAGE",
        "USAGE%LIMIT",
        "SUGGESTED-LIMIT",
    ]);
    for r in &rows {
        let f = |k: &str| r[k].as_f64();
        t.row([
            r["namespace"].as_str().unwrap_or_default().to_owned(),
            r["pod"].as_str().unwrap_or_default().to_owned(),
            r["container"].as_str().unwrap_or_default().to_owned(),
            r["restarts"].to_string(),
            f("memory_request_bytes").map_or("-".into(), mib),
            f("memory_limit_bytes").map_or("-".into(), mib),
            f("memory_usage_bytes").map_or("-".into(), mib),
            f("usage_percent_of_limit").map_or("-".into(), |p| format!("{p:.0}%")),
            f("suggested_limit_bytes").map_or("-".into(), mib),
        ]);
    }
    let scope_text = ns
        .as_deref()
        .map_or("all namespaces".to_owned(), |n| format!("namespace {n}"));
    let text = if rows.is_empty() {
        format!("no OOMKilled containers in {scope_text}\n")
    } else {
        format!(
            "{} OOMKilled container{} in {scope_text} (suggested limit = max(usage, limit) + 30 %, rounded up to 64Mi)\n{}",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" },
            t.render()
        )
    };
    let capped = cap(&text, LIST_BYTES, "give a namespace");
    Ok(ok_json(
        capped.text,
        &json!({"containers": rows, "truncated": capped.truncated}),
    ))
}
