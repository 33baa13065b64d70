//! Pod tools: list, describe, logs, top, OOM-killed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use k8s_openapi::api::core::v1::{Container, Pod};
use kube::api::{Api, ListParams, LogParams};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_mcp_common::{Table, cap, cap_tail, ok_json, redact};

use crate::args;
use crate::error::{ToolFailure, ToolResult};
use crate::events;
use crate::format::{self, PodSummary, mib, millicores, parse_quantity, quantity};
use crate::lookup::{ensure_namespace, get_pod, pod_metrics};

/// Output budget of list-style tools.
pub const LIST_BYTES: usize = 24 * 1024;
/// Output budget of logs.
pub const LOG_BYTES: usize = 16 * 1024;

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

fn scope(namespace: Option<&str>, all: bool) -> ToolResult<Option<String>> {
    match (namespace, all) {
        (_, true) => Ok(None),
        (Some(ns), false) if !ns.trim().is_empty() => Ok(Some(ns.trim().to_owned())),
        _ => Err(ToolFailure::BadArgument(
            "give a namespace, or all_namespaces: true to search every namespace".into(),
        )),
    }
}

fn status_matches(s: &PodSummary, want: &str) -> bool {
    let w = want.to_ascii_lowercase();
    if w == "notready" {
        return s.ready_containers < s.containers;
    }
    [
        Some(&s.status),
        Some(&s.phase),
        s.waiting_reason.as_ref(),
        s.last_termination.as_ref().map(|t| &t.reason),
    ]
    .into_iter()
    .flatten()
    .any(|v| v.to_ascii_lowercase() == w)
}

/// `list_pods`
pub async fn list_pods(client: &kube::Client, a: args::ListPods) -> ToolResult<CallToolResult> {
    let ns = scope(a.namespace.as_deref(), a.all_namespaces)?;
    let pods = list(
        client,
        ns.as_deref(),
        &list_params(a.label_selector.as_deref(), a.field_selector.as_deref()),
    )
    .await?;
    let now = format::now();
    let mut summaries: Vec<PodSummary> = pods.iter().map(|p| format::summarize(p, now)).collect();
    if let Some(want) = &a.status {
        summaries.retain(|s| status_matches(s, want));
    }
    summaries.sort_by(|x, y| (&x.namespace, &x.name).cmp(&(&y.namespace, &y.name)));
    let mut headers = vec![
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "LAST-EXIT",
        "NODE",
        "AGE",
    ];
    if ns.is_none() {
        headers.insert(0, "NAMESPACE");
    }
    let mut t = Table::new(headers);
    for s in &summaries {
        let mut row = vec![
            s.name.clone(),
            s.ready.clone(),
            s.status.clone(),
            s.restarts.to_string(),
            format::termination_text(s.last_termination.as_ref()),
            s.node.clone().unwrap_or_else(|| "<none>".into()),
            sopilot_mcp_common::age(s.age_seconds),
        ];
        if ns.is_none() {
            row.insert(0, s.namespace.clone());
        }
        t.row(row);
    }
    let not_ready = summaries
        .iter()
        .filter(|s| s.ready_containers < s.containers)
        .count();
    let mut text = format!(
        "{} pod{} in {}{}",
        summaries.len(),
        if summaries.len() == 1 { "" } else { "s" },
        ns.as_deref()
            .map_or("all namespaces".to_owned(), |n| format!("namespace {n}")),
        if not_ready > 0 {
            format!(", {not_ready} not ready")
        } else {
            String::new()
        }
    );
    text.push('\n');
    if !t.is_empty() {
        text.push_str(&t.render());
    }
    let capped = cap(
        &text,
        LIST_BYTES,
        "narrow with label_selector, field_selector or status",
    );
    Ok(ok_json(
        capped.text,
        &json!({"pods": summaries, "truncated": capped.truncated}),
    ))
}

fn container_resources(c: &Container) -> String {
    let get = |which: Option<
        &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >| {
        which
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.0))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "-".into())
    };
    let r = c.resources.as_ref();
    format!(
        "requests: {}  limits: {}",
        get(r.and_then(|r| r.requests.as_ref())),
        get(r.and_then(|r| r.limits.as_ref()))
    )
}

/// Environment variables as an SRE may see them: references shown as references, literal
/// values redacted, and values of secret-looking names hidden entirely.
fn env_text(c: &Container) -> Option<String> {
    let env = c.env.as_ref().filter(|e| !e.is_empty())?;
    let sensitive = |name: &str| {
        let n = name.to_ascii_uppercase();
        ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL"]
            .iter()
            .any(|s| n.contains(s))
    };
    let parts: Vec<String> = env
        .iter()
        .map(|e| {
            let value = match (&e.value, &e.value_from) {
                (_, Some(from)) => {
                    if let Some(s) = &from.secret_key_ref {
                        format!("<secret {}/{}>", s.name, s.key)
                    } else if let Some(c) = &from.config_map_key_ref {
                        format!("<configmap {}/{}>", c.name, c.key)
                    } else if let Some(f) = &from.field_ref {
                        format!("<field {}>", f.field_path)
                    } else {
                        "<resource>".to_owned()
                    }
                }
                (Some(_), None) if sensitive(&e.name) => "[REDACTED]".to_owned(),
                (Some(v), None) => redact(v).into_owned(),
                (None, None) => String::new(),
            };
            format!("{}={value}", e.name)
        })
        .collect();
    Some(parts.join(", "))
}

/// `describe_pod`
pub async fn describe_pod(client: &kube::Client, a: args::Named) -> ToolResult<CallToolResult> {
    let pod = get_pod(client, &a.namespace, &a.name).await?;
    let now = format::now();
    let s = format::summarize(&pod, now);
    let mut out = String::new();
    let _ = writeln!(out, "Pod {}/{}", s.namespace, s.name);
    let ip = pod
        .status
        .as_ref()
        .and_then(|st| st.pod_ip.clone())
        .unwrap_or_else(|| "<none>".into());
    let _ = writeln!(
        out,
        "Status: {}  Ready: {}  Restarts: {}  Node: {}  IP: {ip}  Age: {}",
        s.status,
        s.ready,
        s.restarts,
        s.node.as_deref().unwrap_or("<none>"),
        sopilot_mcp_common::age(s.age_seconds)
    );
    let owner = crate::impact::workload_of_pod(client, &pod)
        .await
        .ok()
        .flatten();
    let _ = writeln!(
        out,
        "Owner: {}{}",
        s.owner.as_deref().unwrap_or("<none>"),
        owner
            .as_ref()
            .filter(|w| Some(format!("{}/{}", w.kind, w.name)) != s.owner)
            .map(|w| format!(" ({}/{})", w.kind, w.name))
            .unwrap_or_default()
    );
    if let Some(qos) = pod.status.as_ref().and_then(|st| st.qos_class.as_ref()) {
        let _ = writeln!(out, "QoS: {qos}");
    }
    let statuses = pod
        .status
        .as_ref()
        .and_then(|st| st.container_statuses.clone())
        .unwrap_or_default();
    let _ = writeln!(out, "Containers:");
    let containers = pod
        .spec
        .as_ref()
        .map(|sp| sp.containers.clone())
        .unwrap_or_default();
    let mut structured_containers = Vec::new();
    for c in &containers {
        let cs = statuses.iter().find(|x| x.name == c.name);
        let _ = writeln!(
            out,
            "  {}  image={}",
            c.name,
            c.image.as_deref().unwrap_or("?")
        );
        let state = cs.and_then(|x| x.state.as_ref()).map(|st| {
            if let Some(w) = &st.waiting {
                format!(
                    "Waiting ({}: {})",
                    w.reason.as_deref().unwrap_or("?"),
                    w.message.as_deref().unwrap_or("")
                )
            } else if let Some(t) = &st.terminated {
                format!(
                    "Terminated {} exit={}",
                    t.reason.as_deref().unwrap_or("?"),
                    t.exit_code
                )
            } else if let Some(r) = &st.running {
                format!(
                    "Running since {}",
                    r.started_at
                        .as_ref()
                        .map_or("?".into(), |t| format::age_of(Some(t), now) + " ago")
                )
            } else {
                "Unknown".into()
            }
        });
        let _ = writeln!(
            out,
            "    state: {}",
            state.unwrap_or_else(|| "Unknown".into())
        );
        if let Some(t) = cs
            .and_then(|x| x.last_state.as_ref())
            .and_then(|l| l.terminated.as_ref())
        {
            let _ = writeln!(
                out,
                "    last: Terminated {} exit={} finished {} ago",
                t.reason.as_deref().unwrap_or("?"),
                t.exit_code,
                format::age_of(t.finished_at.as_ref(), now)
            );
        }
        let _ = writeln!(
            out,
            "    restarts: {}  ready: {}",
            cs.map_or(0, |x| x.restart_count),
            cs.is_some_and(|x| x.ready)
        );
        let _ = writeln!(out, "    {}", container_resources(c));
        if let Some(env) = env_text(c) {
            let _ = writeln!(out, "    env: {env}");
        }
        structured_containers.push(json!({
            "name": c.name,
            "image": c.image,
            "restart_count": cs.map_or(0, |x| x.restart_count),
            "ready": cs.is_some_and(|x| x.ready),
            "limits": c.resources.as_ref().and_then(|r| r.limits.as_ref()).map(|l| l.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect::<BTreeMap<_, _>>()),
            "requests": c.resources.as_ref().and_then(|r| r.requests.as_ref()).map(|l| l.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect::<BTreeMap<_, _>>()),
        }));
    }
    if let Some(conds) = pod.status.as_ref().and_then(|st| st.conditions.as_ref()) {
        let c: Vec<String> = conds
            .iter()
            .map(|c| format!("{}={}", c.type_, c.status))
            .collect();
        let _ = writeln!(out, "Conditions: {}", c.join(" "));
    }
    if let Some(vols) = pod
        .spec
        .as_ref()
        .and_then(|sp| sp.volumes.as_ref())
        .filter(|v| !v.is_empty())
    {
        let v: Vec<String> = vols
            .iter()
            .map(|v| {
                let kind = if v.empty_dir.is_some() {
                    "emptyDir".to_owned()
                } else if let Some(p) = &v.persistent_volume_claim {
                    format!("pvc {}", p.claim_name)
                } else if let Some(c) = &v.config_map {
                    format!("configMap {}", c.name)
                } else if let Some(s) = &v.secret {
                    format!("secret {}", s.secret_name.as_deref().unwrap_or("?"))
                } else {
                    "other".to_owned()
                };
                format!("{} ({kind})", v.name)
            })
            .collect();
        let _ = writeln!(out, "Volumes: {}", v.join(", "));
    }
    let evs = events::for_object(client, &a.namespace, "Pod", &a.name)
        .await
        .unwrap_or_default();
    let groups = events::aggregate(&evs, now);
    if groups.is_empty() {
        let _ = writeln!(out, "Events: <none>");
    } else {
        let _ = writeln!(out, "Events (by reason):");
        for g in &groups {
            let _ = writeln!(
                out,
                "  {} {} x{} (last {} ago): {}",
                g.event_type,
                g.reason,
                g.count,
                sopilot_mcp_common::age(g.last_seen_seconds),
                g.message
            );
        }
    }
    let capped = cap(&out, LIST_BYTES, "use pod_logs and list_events for details");
    Ok(ok_json(
        capped.text,
        &json!({"pod": s, "containers": structured_containers, "events": groups}),
    ))
}

/// `pod_logs`
pub async fn pod_logs(client: &kube::Client, a: args::PodLogs) -> ToolResult<CallToolResult> {
    let pod = get_pod(client, &a.namespace, &a.name).await?;
    let names: Vec<String> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    let container = match (&a.container, names.as_slice()) {
        (Some(c), _) if !names.contains(c) => {
            return Err(ToolFailure::BadArgument(format!(
                "pod {} has no container {c:?}; its containers: {}",
                a.name,
                names.join(", ")
            )));
        }
        (Some(c), _) => Some(c.clone()),
        (None, [_]) => None,
        (None, many) => {
            return Err(ToolFailure::BadArgument(format!(
                "pod {} has {} containers; name one with container: {}",
                a.name,
                many.len(),
                many.join(", ")
            )));
        }
    };
    let grep = match &a.grep {
        Some(g) => Some(
            regex::RegexBuilder::new(g)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| {
                    ToolFailure::BadArgument(format!(
                        "grep {g:?} is not a valid regular expression: {e}"
                    ))
                })?,
        ),
        None => None,
    };
    let lp = LogParams {
        container,
        previous: a.previous,
        tail_lines: Some(a.tail_lines.unwrap_or(200).clamp(1, 10_000)),
        since_seconds: a.since_seconds.filter(|s| *s > 0),
        limit_bytes: Some(4 * 1024 * 1024),
        ..LogParams::default()
    };
    let api: Api<Pod> = Api::namespaced(client.clone(), &a.namespace);
    let raw = match api.logs(&a.name, &lp).await {
        Ok(t) => t,
        Err(e) if crate::error::api_code(&e) == Some(400) && a.previous => {
            return Err(ToolFailure::BadArgument(format!(
                "pod {} has no previous container to read logs from (it has not restarted); call pod_logs without previous",
                a.name
            )));
        }
        Err(e) => return Err(e.into()),
    };
    // The whole text is redacted before it is split or filtered: a private key spans lines,
    // and a grep must not pick the lines of one out of it.
    let clean = redact(&raw);
    let total = clean.lines().count();
    let lines: Vec<&str> = clean
        .lines()
        .filter(|l| grep.as_ref().is_none_or(|g| g.is_match(l)))
        .collect();
    let header = format!(
        "{} log lines of {}/{}{}{}\n",
        lines.len(),
        a.namespace,
        a.name,
        if a.previous {
            " (previous container)"
        } else {
            ""
        },
        a.grep
            .as_ref()
            .map(|g| format!(" matching {g:?} (of {total})"))
            .unwrap_or_default()
    );
    let body = lines.join("\n");
    let capped = cap_tail(&body, LOG_BYTES, "lower tail_lines or use grep");
    Ok(ok_json(
        format!("{header}{}", capped.text),
        &json!({"lines": lines.len(), "matched_of": total, "truncated": capped.truncated}),
    ))
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

fn limit_of(c: &Container, what: &str) -> Option<f64> {
    c.resources
        .as_ref()?
        .limits
        .as_ref()?
        .get(what)
        .and_then(quantity)
}

fn request_of(c: &Container, what: &str) -> Option<f64> {
    c.resources
        .as_ref()?
        .requests
        .as_ref()?
        .get(what)
        .and_then(quantity)
}

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
