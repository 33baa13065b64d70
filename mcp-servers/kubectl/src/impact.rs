//! What a mutating call would do, measured from the cluster: the Impact (the design's
//! CONTRACTS.md, "Impact") that the gate hands to the policy.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, ListParams};
use sopilot_protocol::{Impact, NodeImpact, ObjectRef, PdbImpact, PodImpact, Workload};

use crate::error::ToolResult;
use crate::format;
use crate::selector;

/// A workload and what matters about it for disruption.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadInfo {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub replicas: i64,
    pub ready: i64,
    pub selector: Option<LabelSelector>,
    /// Pods a rolling change may take down at once.
    pub max_unavailable: i64,
    pub stateful: bool,
}

impl WorkloadInfo {
    /// As the Impact's `workload`.
    pub fn to_impact(&self) -> Workload {
        Workload {
            kind: self.kind.clone(),
            namespace: Some(self.namespace.clone()),
            name: self.name.clone(),
            replicas: self.replicas,
            ready: self.ready,
        }
    }
}

/// Resolves `maxUnavailable` (an int or a percentage, rounded down) against `replicas`, at
/// least 1 so a rolling change always counts as touching a pod.
fn resolve_unavailable(v: Option<&IntOrString>, replicas: i64) -> i64 {
    let n = match v {
        Some(IntOrString::Int(i)) => i64::from(*i),
        Some(IntOrString::String(s)) => {
            let pct = s.trim_end_matches('%').parse::<f64>().unwrap_or(25.0);
            (replicas as f64 * pct / 100.0).floor() as i64
        }
        None => (replicas as f64 * 0.25).floor() as i64,
    };
    n.clamp(1, replicas.max(1))
}

/// A Deployment as a workload.
pub fn deployment_info(d: &Deployment) -> WorkloadInfo {
    let replicas = i64::from(d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1));
    let strategy = d.spec.as_ref().and_then(|s| s.strategy.as_ref());
    let max_unavailable = match strategy.and_then(|s| s.type_.as_deref()) {
        Some("Recreate") => replicas.max(1),
        _ => resolve_unavailable(
            strategy
                .and_then(|s| s.rolling_update.as_ref())
                .and_then(|r| r.max_unavailable.as_ref()),
            replicas,
        ),
    };
    WorkloadInfo {
        kind: "Deployment".into(),
        namespace: d.metadata.namespace.clone().unwrap_or_default(),
        name: d.metadata.name.clone().unwrap_or_default(),
        replicas,
        ready: i64::from(
            d.status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0),
        ),
        selector: d.spec.as_ref().map(|s| s.selector.clone()),
        max_unavailable,
        stateful: false,
    }
}

/// A StatefulSet as a workload (updated one pod at a time by default).
pub fn statefulset_info(s: &StatefulSet) -> WorkloadInfo {
    let replicas = i64::from(s.spec.as_ref().and_then(|sp| sp.replicas).unwrap_or(1));
    let max_unavailable = resolve_unavailable(
        s.spec
            .as_ref()
            .and_then(|sp| sp.update_strategy.as_ref())
            .and_then(|u| u.rolling_update.as_ref())
            .and_then(|r| r.max_unavailable.as_ref())
            .or(Some(&IntOrString::Int(1))),
        replicas,
    );
    WorkloadInfo {
        kind: "StatefulSet".into(),
        namespace: s.metadata.namespace.clone().unwrap_or_default(),
        name: s.metadata.name.clone().unwrap_or_default(),
        replicas,
        ready: i64::from(
            s.status
                .as_ref()
                .and_then(|st| st.ready_replicas)
                .unwrap_or(0),
        ),
        selector: s.spec.as_ref().map(|sp| sp.selector.clone()),
        max_unavailable,
        stateful: true,
    }
}

/// A DaemonSet as a workload (one pod per node).
pub fn daemonset_info(d: &DaemonSet) -> WorkloadInfo {
    let st = d.status.as_ref();
    let replicas = i64::from(st.map_or(0, |s| s.desired_number_scheduled));
    WorkloadInfo {
        kind: "DaemonSet".into(),
        namespace: d.metadata.namespace.clone().unwrap_or_default(),
        name: d.metadata.name.clone().unwrap_or_default(),
        replicas,
        ready: i64::from(st.map_or(0, |s| s.number_ready)),
        selector: d.spec.as_ref().map(|s| s.selector.clone()),
        max_unavailable: resolve_unavailable(
            d.spec
                .as_ref()
                .and_then(|s| s.update_strategy.as_ref())
                .and_then(|u| u.rolling_update.as_ref())
                .and_then(|r| r.max_unavailable.as_ref())
                .or(Some(&IntOrString::Int(1))),
            replicas,
        ),
        stateful: false,
    }
}

/// The owner that recreates this object: only an owner reference marked `controller`. A
/// plain owner (a garbage-collection parent) recreates nothing, so an object with only such
/// owners counts as bare.
fn controller_of(meta: &kube::api::ObjectMeta) -> Option<(String, String)> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| (o.kind.clone(), o.name.clone()))
}

/// The workload that owns a pod: the Deployment of its ReplicaSet, its StatefulSet or its
/// DaemonSet. `None` for a pod no controller owns.
pub async fn workload_of_pod(client: &kube::Client, pod: &Pod) -> ToolResult<Option<WorkloadInfo>> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let Some((kind, name)) = controller_of(&pod.metadata) else {
        return Ok(None);
    };
    Ok(match kind.as_str() {
        "ReplicaSet" => {
            let rs = Api::<ReplicaSet>::namespaced(client.clone(), &ns)
                .get_opt(&name)
                .await?;
            match rs.as_ref().and_then(|rs| controller_of(&rs.metadata)) {
                Some((k, dname)) if k == "Deployment" => {
                    Api::<Deployment>::namespaced(client.clone(), &ns)
                        .get_opt(&dname)
                        .await?
                        .as_ref()
                        .map(deployment_info)
                }
                _ => rs.map(|rs| {
                    let replicas =
                        i64::from(rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1));
                    WorkloadInfo {
                        kind: "ReplicaSet".into(),
                        namespace: ns.clone(),
                        name: name.clone(),
                        replicas,
                        ready: i64::from(
                            rs.status
                                .as_ref()
                                .and_then(|s| s.ready_replicas)
                                .unwrap_or(0),
                        ),
                        selector: rs.spec.as_ref().map(|s| s.selector.clone()),
                        max_unavailable: 1,
                        stateful: false,
                    }
                }),
            }
        }
        "StatefulSet" => Api::<StatefulSet>::namespaced(client.clone(), &ns)
            .get_opt(&name)
            .await?
            .as_ref()
            .map(statefulset_info),
        "DaemonSet" => Api::<DaemonSet>::namespaced(client.clone(), &ns)
            .get_opt(&name)
            .await?
            .as_ref()
            .map(daemonset_info),
        other => Some(WorkloadInfo {
            kind: other.to_owned(),
            namespace: ns,
            name,
            replicas: 1,
            ready: i64::from(format::is_ready(pod)),
            selector: None,
            max_unavailable: 1,
            stateful: false,
        }),
    })
}

/// The first PodDisruptionBudget whose selector matches `labels`, and whether it allows
/// taking down `disrupt` more pods (`unhealthy` pods already down do not count against it).
pub async fn pdb_for(
    client: &kube::Client,
    ns: &str,
    labels: &BTreeMap<String, String>,
    disrupt: i64,
) -> ToolResult<Option<PdbImpact>> {
    let pdbs = Api::<PodDisruptionBudget>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await?
        .items;
    Ok(pdbs
        .iter()
        .find(|p| selector::matches(p.spec.as_ref().and_then(|s| s.selector.as_ref()), labels))
        .map(|p| {
            let allowed = i64::from(p.status.as_ref().map_or(0, |s| s.disruptions_allowed));
            PdbImpact {
                name: p.metadata.name.clone().unwrap_or_default(),
                disruptions_allowed: allowed,
                allows: disrupt <= allowed,
            }
        }))
}

fn labels(meta: &kube::api::ObjectMeta) -> BTreeMap<String, String> {
    meta.labels.clone().unwrap_or_default()
}

/// The pod part of an impact.
pub fn pod_part(pod: &Pod) -> PodImpact {
    PodImpact {
        restart_count: i64::from(format::restarts(pod)),
        waiting_reason: format::waiting_reason(pod),
        last_termination_reason: format::last_termination(pod).map(|t| t.reason),
    }
}

/// Whether deleting the pod loses data: an emptyDir volume, or no controller to recreate it.
fn pod_loses_data(pod: &Pod, has_controller: bool) -> bool {
    let empty_dir = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .is_some_and(|v| v.iter().any(|v| v.empty_dir.is_some()));
    empty_dir || !has_controller
}

/// Impact of deleting (restarting) one pod.
pub async fn delete_pod(client: &kube::Client, pod: &Pod) -> ToolResult<Impact> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let workload = workload_of_pod(client, pod).await?;
    let ready = format::is_ready(pod);
    // An unready pod is already not counted as healthy: removing it costs the PDB nothing.
    let pdb = pdb_for(client, &ns, &labels(&pod.metadata), i64::from(ready)).await?;
    let replicas = workload.as_ref().map_or(1, |w| w.replicas.max(1));
    Ok(Impact {
        action: "delete_pod".into(),
        target: Some(ObjectRef {
            kind: "Pod".into(),
            namespace: Some(ns),
            name: pod.metadata.name.clone().unwrap_or_default(),
        }),
        replicas_before: workload.as_ref().map(|w| w.replicas),
        replicas_after: workload.as_ref().map(|w| w.replicas),
        replicas_affected: Some(1),
        fraction_affected: Some(1.0 / replicas as f64),
        pdb,
        pod: Some(pod_part(pod)),
        stateful: Some(workload.as_ref().is_some_and(|w| w.stateful)),
        data_loss_risk: Some(pod_loses_data(pod, workload.is_some())),
        workload: workload.as_ref().map(WorkloadInfo::to_impact),
        ..Impact::default()
    })
}

/// Impact of a rolling change (restart, rollback) of a workload.
pub async fn rolling(client: &kube::Client, action: &str, w: &WorkloadInfo) -> ToolResult<Impact> {
    let affected = w.max_unavailable.min(w.replicas.max(1));
    let selector_labels = w
        .selector
        .as_ref()
        .and_then(|s| s.match_labels.clone())
        .unwrap_or_default();
    let pdb = pdb_for(client, &w.namespace, &selector_labels, affected).await?;
    Ok(Impact {
        action: action.into(),
        target: Some(ObjectRef {
            kind: w.kind.clone(),
            namespace: Some(w.namespace.clone()),
            name: w.name.clone(),
        }),
        workload: Some(w.to_impact()),
        replicas_before: Some(w.replicas),
        replicas_after: Some(w.replicas),
        replicas_affected: Some(affected),
        fraction_affected: Some(affected as f64 / w.replicas.max(1) as f64),
        pdb,
        stateful: Some(w.stateful),
        data_loss_risk: Some(false),
        ..Impact::default()
    })
}

/// The node part of an impact.
pub fn node_part(node: &Node) -> NodeImpact {
    NodeImpact {
        name: node.metadata.name.clone().unwrap_or_default(),
        conditions: format::abnormal_conditions(node),
    }
}
