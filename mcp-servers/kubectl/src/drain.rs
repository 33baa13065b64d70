//! `drain`: cordon, then evict every pod that honours PodDisruptionBudgets, with progress.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, EvictParams, ListParams};
use rmcp::model::{CallToolResult, ProgressNotificationParam, ProgressToken};
use rmcp::{Peer, RoleServer};
use serde_json::json;
use sopilot_protocol::Impact;

use crate::args;
use crate::error::{ToolFailure, ToolResult, api_code};
use crate::impact::{self, WorkloadInfo};
use crate::mutate::{get_node, node_impact, outcome, set_unschedulable};

/// Where progress notifications go, when the client asked for them.
#[derive(Debug, Clone)]
pub struct Progress {
    pub peer: Peer<RoleServer>,
    pub token: ProgressToken,
}

impl Progress {
    async fn report(progress: Option<&Progress>, done: usize, total: usize, message: String) {
        if let Some(p) = progress {
            let param = ProgressNotificationParam::new(p.token.clone(), done as f64)
                .with_total(total as f64)
                .with_message(message);
            // Progress is best effort; a client that went away is not a drain failure.
            let _ = p.peer.notify_progress(param).await;
        }
    }
}

/// A pod the drain would evict.
struct Evictee {
    pod: Pod,
    workload: Option<WorkloadInfo>,
}

fn key(p: &Pod) -> String {
    format!(
        "{}/{}",
        p.metadata.namespace.as_deref().unwrap_or(""),
        p.metadata.name.as_deref().unwrap_or("")
    )
}

fn is_daemonset_pod(p: &Pod) -> bool {
    p.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "DaemonSet")
}

fn is_mirror_pod(p: &Pod) -> bool {
    p.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"))
}

fn is_finished(p: &Pod) -> bool {
    matches!(
        p.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// The pods to evict, refusing (like kubectl without --force) when a pod has no controller.
async fn evictees(client: &kube::Client, node: &str) -> ToolResult<Vec<Evictee>> {
    let pods = Api::<Pod>::all(client.clone())
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await?
        .items;
    let mut out = Vec::new();
    let mut bare = Vec::new();
    for pod in pods
        .into_iter()
        .filter(|p| !is_daemonset_pod(p) && !is_mirror_pod(p))
    {
        let workload = impact::workload_of_pod(client, &pod).await?;
        if workload.is_none() && !is_finished(&pod) {
            bare.push(key(&pod));
        }
        out.push(Evictee { pod, workload });
    }
    if !bare.is_empty() {
        return Err(ToolFailure::Refused(format!(
            "drain of {node} refused: pods without a controller would be lost for good: {}; move or delete them first",
            bare.join(", ")
        )));
    }
    Ok(out)
}

/// The impact of draining: every pod to evict, the worst share of any one workload, and the
/// tightest PodDisruptionBudget.
async fn drain_impact(
    client: &kube::Client,
    node: &k8s_openapi::api::core::v1::Node,
    pods: &[Evictee],
) -> ToolResult<Impact> {
    let mut imp = node_impact("drain", node);
    let mut per_workload: BTreeMap<(String, String, String), (i64, &WorkloadInfo)> =
        BTreeMap::new();
    for e in pods {
        if let Some(w) = &e.workload {
            per_workload
                .entry((w.namespace.clone(), w.kind.clone(), w.name.clone()))
                .or_insert((0, w))
                .0 += 1;
        }
    }
    let mut worst_fraction = 0.0_f64;
    let mut tightest: Option<sopilot_protocol::PdbImpact> = None;
    for (count, w) in per_workload.values() {
        worst_fraction = worst_fraction.max(*count as f64 / w.replicas.max(1) as f64);
        let labels = w
            .selector
            .as_ref()
            .and_then(|s| s.match_labels.clone())
            .unwrap_or_default();
        if let Some(p) = impact::pdb_for(client, &w.namespace, &labels, *count).await? {
            let replace = match &tightest {
                None => true,
                Some(t) => {
                    (!p.allows && t.allows)
                        || (p.allows == t.allows && p.disruptions_allowed < t.disruptions_allowed)
                }
            };
            if replace {
                tightest = Some(p);
            }
        }
    }
    let empty_dir = pods.iter().any(|e| {
        e.pod
            .spec
            .as_ref()
            .and_then(|s| s.volumes.as_ref())
            .is_some_and(|v| v.iter().any(|v| v.empty_dir.is_some()))
    });
    imp.replicas_affected = Some(pods.len() as i64);
    imp.fraction_affected = Some(worst_fraction);
    imp.pdb = tightest;
    imp.stateful = Some(
        pods.iter()
            .any(|e| e.workload.as_ref().is_some_and(|w| w.stateful)),
    );
    imp.data_loss_risk = Some(empty_dir);
    imp.extra.insert(
        "pods".into(),
        json!(pods.iter().map(|e| key(&e.pod)).collect::<Vec<_>>()),
    );
    Ok(imp)
}

/// `drain`
pub async fn drain(
    client: &kube::Client,
    a: args::Drain,
    progress: Option<&Progress>,
) -> ToolResult<CallToolResult> {
    let node = get_node(client, &a.node).await?;
    let pods = evictees(client, &a.node).await?;
    let imp = drain_impact(client, &node, &pods).await?;
    if a.dry_run {
        set_unschedulable(client, &a.node, true, true).await?;
        return Ok(outcome(
            true,
            &format!("cordon {} and evict {} pod(s)", a.node, pods.len()),
            &imp,
        ));
    }
    set_unschedulable(client, &a.node, true, false).await?;
    let timeout = Duration::from_secs(a.timeout_seconds.unwrap_or(60).clamp(1, 1800));
    let started = Instant::now();
    let total = pods.len();
    let mut pending: Vec<&Evictee> = pods.iter().collect();
    let mut evicted = Vec::new();
    let mut blocked: BTreeMap<String, String> = BTreeMap::new();
    Progress::report(
        progress,
        0,
        total,
        format!("cordoned {}; evicting {total} pod(s)", a.node),
    )
    .await;
    while !pending.is_empty() {
        let mut still = Vec::new();
        for e in pending {
            let ns = e.pod.metadata.namespace.clone().unwrap_or_default();
            let name = e.pod.metadata.name.clone().unwrap_or_default();
            match Api::<Pod>::namespaced(client.clone(), &ns)
                .evict(&name, &EvictParams::default())
                .await
            {
                Ok(_) => {
                    blocked.remove(&key(&e.pod));
                    evicted.push(key(&e.pod));
                    Progress::report(
                        progress,
                        evicted.len(),
                        total,
                        format!("evicted {ns}/{name}"),
                    )
                    .await;
                }
                Err(err) if api_code(&err) == Some(404) => evicted.push(key(&e.pod)),
                Err(err) if api_code(&err) == Some(429) => {
                    blocked.insert(key(&e.pod), ToolFailure::from(err).to_string());
                    still.push(e);
                }
                Err(err) => return Err(err.into()),
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if started.elapsed() >= timeout {
            let list: Vec<String> = blocked
                .iter()
                .map(|(k, why)| format!("{k} ({why})"))
                .collect();
            return Err(ToolFailure::Refused(format!(
                "drain of {} timed out after {} s: {} pod(s) evicted, {} blocked by PodDisruptionBudgets: {}. The node stays cordoned; uncordon it or retry when the budgets allow",
                a.node,
                timeout.as_secs(),
                evicted.len(),
                list.len(),
                list.join("; ")
            )));
        }
        Progress::report(
            progress,
            evicted.len(),
            total,
            format!(
                "{} pod(s) wait for their PodDisruptionBudget",
                pending.len()
            ),
        )
        .await;
        tokio::time::sleep(Duration::from_secs(2).min(timeout.saturating_sub(started.elapsed())))
            .await;
    }
    Ok(outcome(
        false,
        &format!(
            "drain {}: cordoned, {} pod(s) evicted ({})",
            a.node,
            evicted.len(),
            evicted.join(", ")
        ),
        &imp,
    ))
}
