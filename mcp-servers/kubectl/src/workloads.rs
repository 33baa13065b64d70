//! Deployments and their revisions.

use std::fmt::Write as _;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Api, ListParams};
use rmcp::model::CallToolResult;
use serde::Serialize;
use serde_json::json;
use sopilot_mcp_common::{Table, ok_json};

use crate::args;
use crate::error::ToolResult;
use crate::format;
use crate::impact::{self, deployment_info};
use crate::lookup::get_namespaced;
use crate::selector;

/// The revision annotation the Deployment controller writes.
pub const REVISION: &str = "deployment.kubernetes.io/revision";

/// One recorded revision of a Deployment.
#[derive(Debug, Clone, Serialize)]
pub struct Revision {
    pub revision: i64,
    pub replica_set: String,
    pub images: Vec<String>,
    pub replicas: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_cause: Option<String>,
    pub age_seconds: i64,
    pub current: bool,
    #[serde(skip)]
    pub template: Option<k8s_openapi::api::core::v1::PodTemplateSpec>,
}

fn revision_of(rs: &ReplicaSet) -> Option<i64> {
    rs.metadata
        .annotations
        .as_ref()?
        .get(REVISION)?
        .parse()
        .ok()
}

/// The revisions of a Deployment, oldest first, from the ReplicaSets it owns.
pub async fn revisions(client: &kube::Client, d: &Deployment) -> ToolResult<Vec<Revision>> {
    let ns = d.metadata.namespace.clone().unwrap_or_default();
    let mut lp = ListParams::default();
    if let Some(sel) = d
        .spec
        .as_ref()
        .map(|s| selector::to_query(&s.selector))
        .filter(|s| !s.is_empty())
    {
        lp = lp.labels(&sel);
    }
    let uid = d.metadata.uid.clone();
    let current = d
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION))
        .and_then(|r| r.parse::<i64>().ok());
    let now = format::now();
    let mut out: Vec<Revision> =
        Api::<ReplicaSet>::namespaced(client.clone(), &ns)
            .list(&lp)
            .await?
            .items
            .into_iter()
            .filter(|rs| {
                rs.metadata.owner_references.iter().flatten().any(|o| {
                    o.kind == "Deployment" && (uid.is_none() || Some(&o.uid) == uid.as_ref())
                })
            })
            .filter_map(|rs| {
                let revision = revision_of(&rs)?;
                let template = rs.spec.as_ref().and_then(|s| s.template.clone());
                Some(Revision {
                    revision,
                    replica_set: rs.metadata.name.clone().unwrap_or_default(),
                    images: template
                        .as_ref()
                        .and_then(|t| t.spec.as_ref())
                        .map(|s| {
                            s.containers
                                .iter()
                                .filter_map(|c| c.image.clone())
                                .collect()
                        })
                        .unwrap_or_default(),
                    replicas: rs.status.as_ref().map_or(0, |s| s.replicas),
                    change_cause: rs
                        .metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get("kubernetes.io/change-cause").cloned()),
                    age_seconds: format::since(rs.metadata.creation_timestamp.as_ref(), now)
                        .unwrap_or(0),
                    current: Some(revision) == current,
                    template,
                })
            })
            .collect();
    out.sort_by_key(|r| r.revision);
    Ok(out)
}

fn history_table(revs: &[Revision]) -> String {
    let mut t = Table::new([
        "REVISION",
        "REPLICASET",
        "PODS",
        "IMAGES",
        "AGE",
        "CHANGE-CAUSE",
    ]);
    for r in revs {
        t.row([
            format!(
                "{}{}",
                r.revision,
                if r.current { " (current)" } else { "" }
            ),
            r.replica_set.clone(),
            r.replicas.to_string(),
            r.images.join(","),
            sopilot_mcp_common::age(r.age_seconds),
            r.change_cause.clone().unwrap_or_else(|| "<none>".into()),
        ]);
    }
    t.render()
}

/// `rollout_history`
pub async fn rollout_history(client: &kube::Client, a: args::Named) -> ToolResult<CallToolResult> {
    let d: Deployment = get_namespaced(
        client,
        "deployment",
        &a.namespace,
        &a.name,
        "list deployments with get_resource {kind: Deployment}",
    )
    .await?;
    let revs = revisions(client, &d).await?;
    let text = format!(
        "deployment {}/{}: {} revisions\n{}",
        a.namespace,
        a.name,
        revs.len(),
        history_table(&revs)
    );
    Ok(ok_json(text, &json!({"revisions": revs})))
}

/// `get_deployment`
pub async fn get_deployment(client: &kube::Client, a: args::Named) -> ToolResult<CallToolResult> {
    let d: Deployment = get_namespaced(
        client,
        "deployment",
        &a.namespace,
        &a.name,
        "list deployments with get_resource {kind: Deployment}",
    )
    .await?;
    let info = deployment_info(&d);
    let st = d.status.clone().unwrap_or_default();
    let spec = d.spec.clone().unwrap_or_default();
    let now = format::now();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Deployment {}/{}  age {}",
        a.namespace,
        a.name,
        format::age_of(d.metadata.creation_timestamp.as_ref(), now)
    );
    let _ = writeln!(
        out,
        "Replicas: {} desired, {} updated, {} ready, {} available, {} unavailable",
        info.replicas,
        st.updated_replicas.unwrap_or(0),
        st.ready_replicas.unwrap_or(0),
        st.available_replicas.unwrap_or(0),
        st.unavailable_replicas.unwrap_or(0)
    );
    let strategy = spec
        .strategy
        .as_ref()
        .and_then(|s| s.type_.clone())
        .unwrap_or_else(|| "RollingUpdate".into());
    let _ = writeln!(
        out,
        "Strategy: {strategy} (up to {} pod(s) unavailable at once)",
        info.max_unavailable
    );
    let _ = writeln!(out, "Selector: {}", selector::to_query(&spec.selector));
    let images: Vec<String> = spec
        .template
        .spec
        .as_ref()
        .map(|s| {
            s.containers
                .iter()
                .map(|c| format!("{}={}", c.name, c.image.as_deref().unwrap_or("?")))
                .collect()
        })
        .unwrap_or_default();
    let _ = writeln!(out, "Images: {}", images.join(", "));
    for c in st.conditions.iter().flatten() {
        let _ = writeln!(
            out,
            "Condition {}={} ({}): {}",
            c.type_,
            c.status,
            c.reason.as_deref().unwrap_or(""),
            c.message.as_deref().unwrap_or("")
        );
    }
    let labels = spec.selector.match_labels.clone().unwrap_or_default();
    let pdb = impact::pdb_for(client, &a.namespace, &labels, 1).await?;
    match &pdb {
        Some(p) => {
            let _ = writeln!(
                out,
                "PodDisruptionBudget: {} ({} disruption(s) allowed now)",
                p.name, p.disruptions_allowed
            );
        }
        None => {
            let _ = writeln!(out, "PodDisruptionBudget: <none>");
        }
    }
    let hpas = Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), &a.namespace)
        .list(&ListParams::default())
        .await?
        .items;
    let hpa = hpas.iter().find(|h| {
        h.spec.as_ref().is_some_and(|s| {
            s.scale_target_ref.kind == "Deployment" && s.scale_target_ref.name == a.name
        })
    });
    let hpa_json = hpa.map(|h| {
        let s = h.spec.clone().unwrap_or_default();
        json!({"name": h.metadata.name, "min_replicas": s.min_replicas.unwrap_or(1), "max_replicas": s.max_replicas,
               "current_replicas": h.status.as_ref().and_then(|st| st.current_replicas), "desired_replicas": h.status.as_ref().map(|st| st.desired_replicas)})
    });
    if let Some(h) = &hpa_json {
        let _ = writeln!(
            out,
            "HorizontalPodAutoscaler: {} min {} max {} (current {})",
            h["name"].as_str().unwrap_or("?"),
            h["min_replicas"],
            h["max_replicas"],
            h["current_replicas"]
        );
    }
    let revs = revisions(client, &d).await?;
    let recent: Vec<Revision> = revs.iter().rev().take(5).rev().cloned().collect();
    let _ = write!(out, "Revisions (newest last):\n{}", history_table(&recent));
    Ok(ok_json(
        out,
        &json!({
            "deployment": {"namespace": a.namespace, "name": a.name, "replicas": info.replicas,
                "ready": info.ready, "updated": st.updated_replicas, "available": st.available_replicas,
                "strategy": strategy, "max_unavailable": info.max_unavailable, "images": images},
            "pdb": pdb, "hpa": hpa_json, "revisions": recent,
        }),
    ))
}
