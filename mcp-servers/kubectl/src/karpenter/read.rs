//! `karpenter_nodepools` and `karpenter_nodeclaims`.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams};
use kube::core::DynamicObject;
use rmcp::model::CallToolResult;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use sopilot_mcp_common::{Table, cap, ok_json};

use super::cluster::{self, requests};
use super::{condition, label, name, nodeclaims, nodepools, str_at};
use crate::error::{ToolFailure, ToolResult};
use crate::format::{self, LIST_BYTES};

/// Arguments of `karpenter_nodepools`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodePoolsArgs {
    /// Only this NodePool; omit for all.
    pub nodepool: Option<String>,
}

/// Arguments of `karpenter_nodeclaims`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeClaimsArgs {
    /// Only this NodePool's NodeClaims; omit for all.
    pub nodepool: Option<String>,
    /// Wait up to this many seconds (at most 50) for every NodeClaim to be Ready, checking
    /// every 2 seconds: use it after pre-provisioning to confirm the nodes are up.
    pub wait_ready_seconds: Option<u64>,
    /// When the capacity is needed: the forecast peak, this many minutes from now. The
    /// answer then says whether every NodeClaim was Ready before it, and how far ahead.
    pub peak_in_minutes: Option<u32>,
}

const MAX_WAIT: u64 = 50;

fn gib(bytes: Option<i64>) -> String {
    bytes.map_or("-".into(), |b| {
        format!("{:.0}Gi", b as f64 / f64::from(1 << 30))
    })
}

fn vcpu(millis: Option<i64>) -> String {
    millis.map_or("-".into(), |m| format!("{}", m as f64 / 1000.0))
}

/// `karpenter_nodepools`
pub async fn list_nodepools(client: &kube::Client, a: NodePoolsArgs) -> ToolResult<CallToolResult> {
    let mut pools = nodepools(client).await?;
    cluster::ordered(&mut pools);
    if let Some(only) = a.nodepool.as_deref() {
        pools.retain(|p| name(p) == only);
        if pools.is_empty() {
            return Err(ToolFailure::not_found(
                "NodePool",
                None,
                only,
                "list them with karpenter_nodepools and no nodepool",
            ));
        }
    }
    let claims = nodeclaims(client).await?;
    let mut t = Table::new([
        "NODEPOOL",
        "NODECLASS",
        "WEIGHT",
        "NODES",
        "CPU USED/LIMIT",
        "MEMORY USED/LIMIT",
        "CONSOLIDATION",
        "BUDGETS",
        "READY",
    ]);
    let mut rows = Vec::new();
    for p in &pools {
        let (cells, row) = pool_row(p, &claims);
        t.row(cells);
        rows.push(row);
    }
    let (pending_text, pending) = pending_pods(client).await?;
    let heading = if pools.is_empty() {
        "0 NodePools: Karpenter launches no nodes (is it installed and configured?)".to_owned()
    } else {
        format!("{} NodePools\n{}", pools.len(), t.render())
    };
    let text = format!("{heading}\n{pending_text}");
    let capped = cap(&text, LIST_BYTES, "narrow with nodepool");
    Ok(ok_json(
        capped.text,
        &json!({"nodepools": rows, "pending_pods": pending, "truncated": capped.truncated}),
    ))
}

/// One NodePool's disruption budgets (`10%`, `0@0 9 * * mon-fri`).
fn budgets(p: &DynamicObject) -> Vec<String> {
    p.data
        .pointer("/spec/disruption/budgets")
        .and_then(Value::as_array)
        .map(|bs| {
            bs.iter()
                .map(|b| {
                    let nodes = b.get("nodes").and_then(Value::as_str).unwrap_or("10%");
                    match b.get("schedule").and_then(Value::as_str) {
                        Some(s) => format!("{nodes}@{s}"),
                        None => nodes.to_owned(),
                    }
                })
                .collect()
        })
        .unwrap_or_else(|| vec!["10%".into()])
}

/// One NodePool's table row and structured entry.
fn pool_row(p: &DynamicObject, claims: &[DynamicObject]) -> ([String; 9], Value) {
    let plan = cluster::pool(p, claims);
    let nodes = claims
        .iter()
        .filter(|c| label(c, "karpenter.sh/nodepool") == Some(plan.name.as_str()))
        .count();
    let policy =
        str_at(p, "/spec/disruption/consolidationPolicy").unwrap_or("WhenEmptyOrUnderutilized");
    let after = str_at(p, "/spec/disruption/consolidateAfter").unwrap_or("0s");
    let budgets = budgets(p);
    let class = str_at(p, "/spec/template/spec/nodeClassRef/name").unwrap_or("-");
    let ready = condition(p, "Ready").0.unwrap_or("Unknown");
    let weight = p
        .data
        .pointer("/spec/weight")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let cells = [
        plan.name.clone(),
        class.to_owned(),
        weight.to_string(),
        nodes.to_string(),
        format!("{}/{}", vcpu(Some(plan.in_use.cpu)), vcpu(plan.cpu_limit)),
        format!(
            "{}/{}",
            gib(Some(plan.in_use.memory)),
            gib(plan.memory_limit)
        ),
        format!("{policy} after {after}"),
        budgets.join(","),
        ready.to_owned(),
    ];
    let row = json!({
        "name": plan.name, "nodeclass": class, "weight": weight, "nodes": nodes, "ready": ready,
        "cpu_in_use_vcpus": plan.in_use.cpu as f64 / 1000.0,
        "cpu_limit_vcpus": plan.cpu_limit.map(|l| l as f64 / 1000.0),
        "cpu_left_vcpus": plan.cpu_limit.map(|l| (l - plan.in_use.cpu) as f64 / 1000.0),
        "memory_in_use_gib": plan.in_use.memory as f64 / f64::from(1 << 30),
        "memory_limit_gib": plan.memory_limit.map(|l| l as f64 / f64::from(1 << 30)),
        "consolidation_policy": policy, "consolidate_after": after, "budgets": budgets,
        "requirements": p.data.pointer("/spec/template/spec/requirements").cloned().unwrap_or(json!([])),
    });
    (cells, row)
}

/// The newest FailedScheduling or Nominated event of each pod, by (namespace, name): (when,
/// reason, message). An event naming another pod's uid (an earlier pod of the same name) does
/// not count.
fn reasons(pods: &[Pod], events: &[Event]) -> BTreeMap<(String, String), (i64, String, String)> {
    let mut why: BTreeMap<(String, String), (i64, String, String)> = BTreeMap::new();
    let uids: BTreeMap<(String, String), String> = pods
        .iter()
        .map(|p| {
            let key = (
                p.metadata.namespace.clone().unwrap_or_default(),
                p.metadata.name.clone().unwrap_or_default(),
            );
            (key, p.metadata.uid.clone().unwrap_or_default())
        })
        .collect();
    for e in events {
        let o = &e.involved_object;
        let namespace = o
            .namespace
            .clone()
            .or_else(|| e.metadata.namespace.clone())
            .unwrap_or_default();
        let key = (namespace, o.name.clone().unwrap_or_default());
        let Some(pod_uid) = uids.get(&key) else {
            continue;
        };
        if o.kind.as_deref() != Some("Pod") || o.uid.as_ref().is_some_and(|u| u != pod_uid) {
            continue;
        }
        let reason = e.reason.clone().unwrap_or_default();
        if !matches!(reason.as_str(), "FailedScheduling" | "Nominated") {
            continue;
        }
        let at = e
            .last_timestamp
            .as_ref()
            .or(e.first_timestamp.as_ref())
            .map_or(0, format::epoch);
        let message = e.message.clone().unwrap_or_default();
        if why.get(&key).is_none_or(|(t, _, _)| at >= *t) {
            why.insert(key, (at, reason, message));
        }
    }
    why
}

/// The pods waiting for a node, each with the newest scheduler or Karpenter event saying why.
async fn pending_pods(client: &kube::Client) -> ToolResult<(String, Vec<Value>)> {
    let pods: Vec<Pod> = Api::<Pod>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(cluster::pending)
        .collect();
    if pods.is_empty() {
        return Ok(("No pods are Pending.".into(), Vec::new()));
    }
    let events: Vec<Event> = Api::<Event>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    let why = reasons(&pods, &events);
    let now = format::now();
    let mut t = Table::new([
        "NAMESPACE",
        "POD",
        "PRIORITY CLASS",
        "CPU",
        "MEMORY",
        "AGE",
        "WHY",
    ]);
    let mut rows = Vec::new();
    for p in &pods {
        let r = requests(p);
        let key = (
            p.metadata.namespace.clone().unwrap_or_default(),
            p.metadata.name.clone().unwrap_or_default(),
        );
        let (reason, message) = why
            .get(&key)
            .map_or(("", "no scheduling event yet"), |(_, r, m)| {
                (r.as_str(), m.as_str())
            });
        let class = p
            .spec
            .as_ref()
            .and_then(|s| s.priority_class_name.clone())
            .unwrap_or_default();
        let ns = p.metadata.namespace.clone().unwrap_or_default();
        let pod_name = p.metadata.name.clone().unwrap_or_default();
        t.row([
            ns.clone(),
            pod_name.clone(),
            if class.is_empty() {
                "-".into()
            } else {
                class.clone()
            },
            vcpu(Some(r.cpu)),
            gib(Some(r.memory)),
            format::age_of(p.metadata.creation_timestamp.as_ref(), now),
            format!("{reason}: {message}"),
        ]);
        rows.push(json!({"namespace": ns, "name": pod_name, "priority_class": class, "reason": reason, "message": message}));
    }
    Ok((format!("{} pods Pending\n{}", pods.len(), t.render()), rows))
}

/// `karpenter_nodeclaims`
pub async fn list_nodeclaims(
    client: &kube::Client,
    a: NodeClaimsArgs,
) -> ToolResult<CallToolResult> {
    let wait = a.wait_ready_seconds.unwrap_or(0);
    if wait > MAX_WAIT {
        return Err(ToolFailure::BadArgument(format!(
            "wait_ready_seconds is at most {MAX_WAIT}, got {wait}; call again to wait longer"
        )));
    }
    let started = std::time::Instant::now();
    let claims = loop {
        let mut claims = nodeclaims(client).await?;
        if let Some(only) = a.nodepool.as_deref() {
            claims.retain(|c| label(c, "karpenter.sh/nodepool") == Some(only));
        }
        let ready = claims
            .iter()
            .all(|c| condition(c, "Ready").0 == Some("True"));
        if ready || started.elapsed() >= Duration::from_secs(wait) {
            break claims;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let peak = a.peak_in_minutes.map(|minutes| {
        let peak = chrono::Utc::now() + chrono::Duration::minutes(i64::from(minutes));
        let (line, before) = against_peak(&claims, peak);
        let at = peak.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        (line, json!({"peak_at": at, "ready_before_peak": before}))
    });
    Ok(render_claims(&claims, started.elapsed().as_secs(), peak))
}

/// Whether every NodeClaim turned Ready before the peak, said in one line.
fn against_peak(claims: &[DynamicObject], peak: chrono::DateTime<chrono::Utc>) -> (String, bool) {
    let at = |t: &str| format!("{}Z", t.get(11..19).unwrap_or(t));
    let peak_text = peak.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if claims.is_empty() {
        return (
            format!(
                "No NodeClaims: nothing is being provisioned for the peak at {}.",
                at(&peak_text)
            ),
            false,
        );
    }
    let ready: Option<Vec<chrono::DateTime<chrono::Utc>>> = claims
        .iter()
        .map(|c| match condition(c, "Ready") {
            (Some("True"), Some(t)) => chrono::DateTime::parse_from_rfc3339(t)
                .ok()
                .map(|t| t.to_utc()),
            _ => None,
        })
        .collect();
    match ready.and_then(|r| r.into_iter().max()) {
        Some(last) if last <= peak => {
            let ahead = (peak - last).num_minutes();
            (
                format!(
                    "All {} NodeClaims Ready before the peak: the last at {}, {ahead} min before the peak at {}.",
                    claims.len(),
                    at(&last.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                    at(&peak_text)
                ),
                true,
            )
        }
        Some(last) => (
            format!(
                "NOT Ready before the peak: the last NodeClaim turned Ready at {}, after the peak at {}.",
                at(&last.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                at(&peak_text)
            ),
            false,
        ),
        None => (
            format!(
                "Not every NodeClaim is Ready yet; the peak is at {} ({} min from now).",
                at(&peak_text),
                (peak - chrono::Utc::now()).num_minutes()
            ),
            false,
        ),
    }
}

fn render_claims(
    claims: &[DynamicObject],
    waited: u64,
    peak: Option<(String, Value)>,
) -> CallToolResult {
    let now = format::now();
    let mut t = Table::new([
        "NAME",
        "NODEPOOL",
        "TYPE",
        "CAPACITY",
        "ZONE",
        "NODE",
        "LAUNCHED",
        "REGISTERED",
        "READY",
        "READY SINCE",
        "AGE",
    ]);
    let mut rows = Vec::new();
    for c in claims {
        let l = |k: &str| label(c, k).unwrap_or("-").to_owned();
        let (ready, ready_at) = condition(c, "Ready");
        let (launched, launched_at) = condition(c, "Launched");
        let registered = condition(c, "Registered").0.unwrap_or("Unknown");
        let node = str_at(c, "/status/nodeName").unwrap_or("-");
        let ready = ready.unwrap_or("Unknown");
        let ready_since = if ready == "True" { ready_at } else { None };
        let age = c.metadata.creation_timestamp.as_ref();
        t.row([
            name(c),
            l("karpenter.sh/nodepool"),
            l("node.kubernetes.io/instance-type"),
            l("karpenter.sh/capacity-type"),
            l("topology.kubernetes.io/zone"),
            node.to_owned(),
            launched.unwrap_or("Unknown").to_owned(),
            registered.to_owned(),
            ready.to_owned(),
            ready_since.unwrap_or("-").to_owned(),
            format::age_of(age, now),
        ]);
        rows.push(json!({
            "name": name(c), "nodepool": l("karpenter.sh/nodepool"), "instance_type": l("node.kubernetes.io/instance-type"),
            "capacity_type": l("karpenter.sh/capacity-type"), "zone": l("topology.kubernetes.io/zone"),
            "node": str_at(c, "/status/nodeName"), "cpu": str_at(c, "/status/capacity/cpu"), "memory": str_at(c, "/status/capacity/memory"),
            "launched": launched, "launched_at": launched_at, "registered": registered, "ready": ready, "ready_at": ready_since,
        }));
    }
    let all_ready = claims
        .iter()
        .all(|c| condition(c, "Ready").0 == Some("True"));
    let ready_count = claims
        .iter()
        .filter(|c| condition(c, "Ready").0 == Some("True"))
        .count();
    let text = format!(
        "{}{} NodeClaims, {ready_count} Ready{}\n{}",
        peak.as_ref()
            .map(|(line, _)| format!("{line}\n"))
            .unwrap_or_default(),
        claims.len(),
        if waited > 0 {
            format!(" (waited {waited} s)")
        } else {
            String::new()
        },
        t.render()
    );
    let capped = cap(&text, LIST_BYTES, "narrow with nodepool");
    let mut structured = json!({"nodeclaims": rows, "all_ready": all_ready, "waited_seconds": waited, "truncated": capped.truncated});
    if let (Some((_, Value::Object(extra))), Some(out)) = (peak, structured.as_object_mut()) {
        out.extend(extra);
    }
    ok_json(capped.text, &structured)
}
