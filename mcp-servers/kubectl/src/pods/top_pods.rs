//! `top_pods`: current CPU and memory use of pods (metrics.k8s.io) beside their limits.

use rmcp::model::CallToolResult;
use serde_json::json;
use sopilot_mcp_common::{Table, cap, ok_json};

use super::{limit_of, list, list_params, scope, usage_by_pod};
use crate::args;
use crate::error::{ToolFailure, ToolResult};
use crate::format::{LIST_BYTES, mib, millicores};
use crate::lookup::pod_metrics;

/// `top_pods`
pub async fn top_pods(client: &kube::Client, a: args::TopPods) -> ToolResult<CallToolResult> {
    let ns = scope(a.namespace.as_deref(), a.all_namespaces)?;
    let pods = list(
        client,
        ns.as_deref(),
        &list_params(a.label_selector.as_deref(), None),
    )
    .await?;
    let metrics = pod_metrics(client, ns.as_deref()).await;
    if metrics.is_empty() && !pods.is_empty() {
        return Err(ToolFailure::Refused("the Metrics API (metrics.k8s.io) returned no pod metrics; is metrics-server installed?".into()));
    }
    let usage = usage_by_pod(&metrics);
    let mut rows = Vec::new();
    for p in &pods {
        let key = (
            p.metadata.namespace.clone().unwrap_or_default(),
            p.metadata.name.clone().unwrap_or_default(),
        );
        let Some(per) = usage.get(&key) else { continue };
        let containers = p
            .spec
            .as_ref()
            .map(|s| s.containers.clone())
            .unwrap_or_default();
        let cpu: f64 = per.values().map(|u| u.0).sum();
        let mem: f64 = per.values().map(|u| u.1).sum();
        let mem_limit: Option<f64> = containers.iter().map(|c| limit_of(c, "memory")).sum();
        let cpu_limit: Option<f64> = containers.iter().map(|c| limit_of(c, "cpu")).sum();
        rows.push(json!({
            "namespace": key.0, "name": key.1,
            "cpu_cores": cpu, "memory_bytes": mem,
            "cpu_limit_cores": cpu_limit, "memory_limit_bytes": mem_limit,
            "memory_percent_of_limit": mem_limit.map(|l| (mem / l * 1000.0).round() / 10.0),
        }));
    }
    let by = if a.sort_by.as_deref() == Some("cpu") {
        "cpu_cores"
    } else {
        "memory_bytes"
    };
    rows.sort_by(|x, y| {
        y[by]
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&x[by].as_f64().unwrap_or(0.0))
    });
    let mut headers = vec![
        "NAME",
        "CPU",
        "CPU-LIMIT",
        "MEMORY",
        "MEM-LIMIT",
        "MEM%LIMIT",
    ];
    if ns.is_none() {
        headers.insert(0, "NAMESPACE");
    }
    let mut t = Table::new(headers);
    for r in &rows {
        let f = |k: &str| r[k].as_f64();
        let mut row = vec![
            r["name"].as_str().unwrap_or_default().to_owned(),
            millicores(f("cpu_cores").unwrap_or(0.0)),
            f("cpu_limit_cores").map_or("-".into(), millicores),
            mib(f("memory_bytes").unwrap_or(0.0)),
            f("memory_limit_bytes").map_or("-".into(), mib),
            f("memory_percent_of_limit").map_or("-".into(), |p| format!("{p:.0}%")),
        ];
        if ns.is_none() {
            row.insert(0, r["namespace"].as_str().unwrap_or_default().to_owned());
        }
        t.row(row);
    }
    let text = format!(
        "usage of {} pods (from metrics.k8s.io)\n{}",
        rows.len(),
        t.render()
    );
    let capped = cap(&text, LIST_BYTES, "narrow with namespace or label_selector");
    Ok(ok_json(
        capped.text,
        &json!({"pods": rows, "truncated": capped.truncated}),
    ))
}
