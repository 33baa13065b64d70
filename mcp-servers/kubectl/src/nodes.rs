//! Node tools: list, describe, top.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_mcp_common::{Table, cap, ok_json};

use crate::args;
use crate::error::ToolResult;
use crate::format::{self, LIST_BYTES, mib, millicores, parse_quantity, quantity};
use crate::lookup::node_metrics;
use crate::mutate::get_node;

fn allocatable(n: &Node, what: &str) -> Option<f64> {
    n.status
        .as_ref()?
        .allocatable
        .as_ref()?
        .get(what)
        .and_then(quantity)
}

fn roles(n: &Node) -> String {
    let r: Vec<&str> = n
        .metadata
        .labels
        .iter()
        .flatten()
        .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
        .collect();
    if r.is_empty() {
        "<none>".into()
    } else {
        r.join(",")
    }
}

/// Usage per node: (cpu cores, memory bytes).
async fn usage(client: &kube::Client) -> BTreeMap<String, (f64, f64)> {
    node_metrics(client)
        .await
        .into_iter()
        .map(|m| {
            let q = |k: &str| {
                m.data
                    .pointer(&format!("/usage/{k}"))
                    .and_then(Value::as_str)
                    .and_then(parse_quantity)
                    .unwrap_or(0.0)
            };
            (
                m.metadata.name.clone().unwrap_or_default(),
                (q("cpu"), q("memory")),
            )
        })
        .collect()
}

fn pct(used: f64, of: Option<f64>) -> Option<f64> {
    of.filter(|o| *o > 0.0)
        .map(|o| (used / o * 1000.0).round() / 10.0)
}

/// `list_nodes`
pub async fn list_nodes(client: &kube::Client, a: args::ListNodes) -> ToolResult<CallToolResult> {
    let mut lp = ListParams::default();
    if let Some(l) = a.label_selector.as_deref().filter(|l| !l.trim().is_empty()) {
        lp = lp.labels(l);
    }
    let nodes = Api::<Node>::all(client.clone()).list(&lp).await?.items;
    let use_map = usage(client).await;
    let now = format::now();
    let mut t = Table::new([
        "NAME", "STATUS", "ROLES", "AGE", "VERSION", "ZONE", "CPU%", "MEM%", "PROBLEMS",
    ]);
    let mut rows = Vec::new();
    for n in &nodes {
        let name = n.metadata.name.clone().unwrap_or_default();
        let u = use_map.get(&name);
        let cpu = u.and_then(|u| pct(u.0, allocatable(n, "cpu")));
        let mem = u.and_then(|u| pct(u.1, allocatable(n, "memory")));
        let problems = format::abnormal_conditions(n);
        let zone = n
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("topology.kubernetes.io/zone").cloned())
            .unwrap_or_default();
        t.row([
            name.clone(),
            format::node_status(n),
            roles(n),
            format::age_of(n.metadata.creation_timestamp.as_ref(), now),
            n.status
                .as_ref()
                .and_then(|s| s.node_info.as_ref())
                .map(|i| i.kubelet_version.clone())
                .unwrap_or_default(),
            zone.clone(),
            cpu.map_or("-".into(), |c| format!("{c:.0}%")),
            mem.map_or("-".into(), |m| format!("{m:.0}%")),
            if problems.is_empty() {
                "-".into()
            } else {
                problems.join(",")
            },
        ]);
        rows.push(json!({"name": name, "status": format::node_status(n), "zone": zone, "cpu_percent": cpu, "memory_percent": mem, "conditions": problems,
            "unschedulable": n.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false)}));
    }
    let text = format!("{} nodes\n{}", nodes.len(), t.render());
    let capped = cap(&text, LIST_BYTES, "narrow with label_selector");
    Ok(ok_json(
        capped.text,
        &json!({"nodes": rows, "truncated": capped.truncated}),
    ))
}

/// `describe_node`
pub async fn describe_node(client: &kube::Client, a: args::NodeName) -> ToolResult<CallToolResult> {
    let n = get_node(client, &a.node).await?;
    let now = format::now();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Node {}  {}  age {}",
        a.node,
        format::node_status(&n),
        format::age_of(n.metadata.creation_timestamp.as_ref(), now)
    );
    for c in n
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
    {
        let _ = writeln!(
            out,
            "  {}={} {} {}",
            c.type_,
            c.status,
            c.reason.as_deref().unwrap_or(""),
            c.message.as_deref().unwrap_or("")
        );
    }
    for t in n
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
    {
        let _ = writeln!(
            out,
            "Taint: {}={}:{}",
            t.key,
            t.value.as_deref().unwrap_or(""),
            t.effect
        );
    }
    let (acpu, amem) = (allocatable(&n, "cpu"), allocatable(&n, "memory"));
    let _ = writeln!(
        out,
        "Allocatable: cpu={} memory={}",
        acpu.map_or("?".into(), millicores),
        amem.map_or("?".into(), mib)
    );
    if let Some(u) = usage(client).await.get(&a.node) {
        let _ = writeln!(
            out,
            "Usage: cpu={} ({}%) memory={} ({}%)",
            millicores(u.0),
            pct(u.0, acpu).map_or("?".into(), |p| format!("{p:.0}")),
            mib(u.1),
            pct(u.1, amem).map_or("?".into(), |p| format!("{p:.0}"))
        );
    }
    let pods = Api::<Pod>::all(client.clone())
        .list(&ListParams::default().fields(&format!("spec.nodeName={}", a.node)))
        .await?
        .items;
    let mut t = Table::new([
        "NAMESPACE",
        "POD",
        "STATUS",
        "RESTARTS",
        "CPU-REQ",
        "MEM-REQ",
        "MEM-LIMIT",
    ]);
    let (mut req_cpu, mut req_mem) = (0.0, 0.0);
    for p in &pods {
        let s = format::summarize(p, now);
        let containers = p
            .spec
            .as_ref()
            .map(|s| s.containers.clone())
            .unwrap_or_default();
        let sum = |which: &str, kind: &str| -> f64 {
            containers
                .iter()
                .filter_map(|c| {
                    let r = c.resources.as_ref()?;
                    let m = if which == "requests" {
                        r.requests.as_ref()
                    } else {
                        r.limits.as_ref()
                    };
                    m?.get(kind).and_then(quantity)
                })
                .sum()
        };
        req_cpu += sum("requests", "cpu");
        req_mem += sum("requests", "memory");
        t.row([
            s.namespace,
            s.name,
            s.status,
            s.restarts.to_string(),
            millicores(sum("requests", "cpu")),
            mib(sum("requests", "memory")),
            mib(sum("limits", "memory")),
        ]);
    }
    let _ = writeln!(
        out,
        "Requested: cpu={} ({}%) memory={} ({}%)",
        millicores(req_cpu),
        pct(req_cpu, acpu).map_or("?".into(), |p| format!("{p:.0}")),
        mib(req_mem),
        pct(req_mem, amem).map_or("?".into(), |p| format!("{p:.0}"))
    );
    let _ = write!(out, "Pods ({}):\n{}", pods.len(), t.render());
    let capped = cap(
        &out,
        LIST_BYTES,
        "list pods with list_pods {all_namespaces: true, field_selector: spec.nodeName=NODE}",
    );
    Ok(ok_json(
        capped.text,
        &json!({"node": a.node, "status": format::node_status(&n), "conditions": format::abnormal_conditions(&n), "pods": pods.len()}),
    ))
}

/// `top_nodes`
pub async fn top_nodes(client: &kube::Client, a: args::TopNodes) -> ToolResult<CallToolResult> {
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    let use_map = usage(client).await;
    if use_map.is_empty() && !nodes.is_empty() {
        return Err(crate::error::ToolFailure::Refused("the Metrics API (metrics.k8s.io) returned no node metrics; is metrics-server installed?".into()));
    }
    let mut rows: Vec<Value> = Vec::new();
    for n in &nodes {
        let name = n.metadata.name.clone().unwrap_or_default();
        let Some(u) = use_map.get(&name) else {
            continue;
        };
        let cpu = pct(u.0, allocatable(n, "cpu"));
        let mem = pct(u.1, allocatable(n, "memory"));
        if a.cpu_threshold_percent
            .is_some_and(|t| cpu.unwrap_or(0.0) < t)
            || a.memory_threshold_percent
                .is_some_and(|t| mem.unwrap_or(0.0) < t)
        {
            continue;
        }
        rows.push(json!({"name": name, "cpu_cores": u.0, "cpu_percent": cpu, "memory_bytes": u.1, "memory_percent": mem,
            "conditions": format::abnormal_conditions(n)}));
    }
    rows.sort_by(|x, y| {
        y["cpu_percent"]
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&x["cpu_percent"].as_f64().unwrap_or(0.0))
    });
    let mut t = Table::new(["NAME", "CPU", "CPU%", "MEMORY", "MEM%", "PROBLEMS"]);
    for r in &rows {
        let conds: Vec<String> = r["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect();
        t.row([
            r["name"].as_str().unwrap_or_default().to_owned(),
            millicores(r["cpu_cores"].as_f64().unwrap_or(0.0)),
            r["cpu_percent"]
                .as_f64()
                .map_or("-".into(), |p| format!("{p:.0}%")),
            mib(r["memory_bytes"].as_f64().unwrap_or(0.0)),
            r["memory_percent"]
                .as_f64()
                .map_or("-".into(), |p| format!("{p:.0}%")),
            if conds.is_empty() {
                "-".into()
            } else {
                conds.join(",")
            },
        ]);
    }
    let filter = match (a.cpu_threshold_percent, a.memory_threshold_percent) {
        (Some(c), Some(m)) => format!(" with CPU >= {c}% and memory >= {m}%"),
        (Some(c), None) => format!(" with CPU >= {c}%"),
        (None, Some(m)) => format!(" with memory >= {m}%"),
        (None, None) => String::new(),
    };
    let text = format!(
        "{} node(s){filter} (usage from metrics.k8s.io, % of allocatable)\n{}",
        rows.len(),
        t.render()
    );
    Ok(ok_json(text, &json!({"nodes": rows})))
}
