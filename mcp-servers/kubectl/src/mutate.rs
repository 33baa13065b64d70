//! Mutating tools. Each takes `dry_run`; a dry run changes nothing (server-side
//! `dryRun=All`) and reports the impact, which is what SOPilot's gate decides on.

use chrono::Utc;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use rmcp::model::CallToolResult;
use serde_json::json;
use sopilot_mcp_common::ok_json;
use sopilot_protocol::{HpaImpact, Impact, ObjectRef, Resource, RevisionImpact};

use crate::args;
use crate::discovery::Resolver;
use crate::error::{ToolFailure, ToolResult};
use crate::impact::{self, WorkloadInfo};
use crate::lookup::{get_namespaced, get_pod};
use crate::workloads::{REVISION, revisions};

const FIELD_MANAGER: &str = "mcp-kubectl";

fn patch_params(dry_run: bool) -> PatchParams {
    let pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    if dry_run { pp.dry_run() } else { pp }
}

/// The result every mutating tool returns: what was (or would be) done, and the impact:
/// `{"dry_run", "executed", "impact"}`.
pub fn outcome(dry_run: bool, what: &str, impact: &Impact) -> CallToolResult {
    outcome_pinned(dry_run, what, impact, None)
}

/// [`outcome`], plus on a dry run a `pin`: the arguments to add so that the real call does
/// exactly what this dry run assessed (`{"to_revision": 14}` for a rollback to "the
/// previous revision", which another rollout could change).
pub fn outcome_pinned(
    dry_run: bool,
    what: &str,
    impact: &Impact,
    pin: Option<serde_json::Value>,
) -> CallToolResult {
    let prefix = if dry_run {
        "DRY RUN (nothing changed): would "
    } else {
        "done: "
    };
    let impact_json = serde_json::to_string(impact).unwrap_or_default();
    let mut text = format!("{prefix}{what}\nimpact: {impact_json}");
    let mut structured = json!({"dry_run": dry_run, "executed": !dry_run, "impact": impact});
    if let (true, Some(pin)) = (dry_run, pin) {
        text.push_str(&format!(
            "\npin: {pin} (add to the real call so it does exactly what was assessed)"
        ));
        structured["pin"] = pin;
    }
    ok_json(text, &structured)
}

/// `delete_pod`
pub async fn delete_pod(client: &kube::Client, a: args::DeletePod) -> ToolResult<CallToolResult> {
    let pod = get_pod(client, &a.namespace, &a.name).await?;
    let imp = impact::delete_pod(client, &pod).await?;
    let dp = DeleteParams {
        dry_run: a.dry_run,
        ..DeleteParams::background()
    };
    Api::<Pod>::namespaced(client.clone(), &a.namespace)
        .delete(&a.name, &dp)
        .await?;
    let owner = imp
        .workload
        .as_ref()
        .map_or("nothing will recreate it".to_owned(), |w| {
            format!("{} {} recreates it", w.kind, w.name)
        });
    Ok(outcome(
        a.dry_run,
        &format!("delete pod {}/{} ({owner})", a.namespace, a.name),
        &imp,
    ))
}

/// The workload a resolved resource names, for restarts.
async fn workload(
    client: &kube::Client,
    r: &Resource,
    ns: &str,
    name: &str,
) -> ToolResult<WorkloadInfo> {
    let hint = format!(
        "list them with get_resource {{kind: {}, namespace: {ns}}}",
        r.kind
    );
    match (r.group.as_str(), r.plural.as_str()) {
        ("apps", "deployments") => Ok(impact::deployment_info(
            &get_namespaced::<Deployment>(client, "deployment", ns, name, &hint).await?,
        )),
        ("apps", "statefulsets") => Ok(impact::statefulset_info(
            &get_namespaced::<StatefulSet>(client, "statefulset", ns, name, &hint).await?,
        )),
        ("apps", "daemonsets") => Ok(impact::daemonset_info(
            &get_namespaced::<DaemonSet>(client, "daemonset", ns, name, &hint).await?,
        )),
        _ => Err(ToolFailure::BadArgument(format!(
            "{} ({}) cannot be restarted; use Deployment, StatefulSet or DaemonSet",
            r.qualified(),
            r.kind
        ))),
    }
}

/// `rollout_restart`: the same annotation `kubectl rollout restart` sets.
pub async fn rollout_restart(
    client: &kube::Client,
    resolver: &Resolver,
    a: args::RolloutRestart,
) -> ToolResult<CallToolResult> {
    let spelling = a.kind.as_deref().unwrap_or("Deployment");
    let r = resolver.resolve_for("rollout_restart", spelling).await?;
    let w = workload(client, &r, &a.namespace, &a.name).await?;
    let imp = impact::rolling(client, "rollout_restart", &w).await?;
    let body = json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": Utc::now().to_rfc3339()}}}}});
    let pp = patch_params(a.dry_run);
    let patch = Patch::Strategic(&body);
    match w.kind.as_str() {
        "StatefulSet" => drop(
            Api::<StatefulSet>::namespaced(client.clone(), &a.namespace)
                .patch(&a.name, &pp, &patch)
                .await?,
        ),
        "DaemonSet" => drop(
            Api::<DaemonSet>::namespaced(client.clone(), &a.namespace)
                .patch(&a.name, &pp, &patch)
                .await?,
        ),
        _ => drop(
            Api::<Deployment>::namespaced(client.clone(), &a.namespace)
                .patch(&a.name, &pp, &patch)
                .await?,
        ),
    }
    Ok(outcome(
        a.dry_run,
        &format!(
            "restart {} {}/{} ({} replicas, up to {} at a time)",
            w.kind,
            a.namespace,
            a.name,
            w.replicas,
            imp.replicas_affected.unwrap_or(1)
        ),
        &imp,
    ))
}

/// `rollout_undo`: back to the previous revision (or `to_revision`), with kubectl's
/// semantics: the target ReplicaSet's pod template replaces the Deployment's.
pub async fn rollout_undo(
    client: &kube::Client,
    a: args::RolloutUndo,
) -> ToolResult<CallToolResult> {
    let d: Deployment = get_namespaced(
        client,
        "deployment",
        &a.namespace,
        &a.name,
        "list deployments with get_resource {kind: Deployment}",
    )
    .await?;
    let revs = revisions(client, &d).await?;
    let current = d
        .metadata
        .annotations
        .as_ref()
        .and_then(|m| m.get(REVISION))
        .and_then(|r| r.parse::<i64>().ok())
        .or_else(|| revs.last().map(|r| r.revision))
        .ok_or_else(|| {
            ToolFailure::BadArgument(format!("deployment {} has no recorded revisions", a.name))
        })?;
    let older: Vec<&crate::workloads::Revision> =
        revs.iter().filter(|r| r.revision < current).collect();
    let target = match a.to_revision {
        Some(t) if t == current => {
            return Err(ToolFailure::BadArgument(format!(
                "deployment {} is already at revision {t}",
                a.name
            )));
        }
        Some(t) => revs.iter().find(|r| r.revision == t).ok_or_else(|| {
            let known: Vec<String> = revs.iter().map(|r| r.revision.to_string()).collect();
            ToolFailure::BadArgument(format!(
                "deployment {} has no revision {t} (any more); recorded revisions: {}. Nothing was changed: check rollout_history and dry-run again",
                a.name,
                known.join(", ")
            ))
        })?,
        None => *older.last().ok_or_else(|| {
            ToolFailure::BadArgument(format!(
                "deployment {} has no revision before {current} to roll back to",
                a.name
            ))
        })?,
    };
    // How many recorded revisions back: 1 is the previous one.
    let steps_back = revs
        .iter()
        .filter(|r| r.revision > target.revision && r.revision <= current)
        .count() as i64;
    let mut template = target.template.clone().ok_or_else(|| {
        ToolFailure::BadArgument(format!("revision {} has no pod template", target.revision))
    })?;
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove("pod-template-hash");
    }
    let w = impact::deployment_info(&d);
    let mut imp = impact::rolling(client, "rollout_undo", &w).await?;
    imp.revision = Some(RevisionImpact {
        from: current,
        to: target.revision,
        steps_back: Some(steps_back),
    });
    let patch: json_patch::Patch = serde_json::from_value(
        json!([{"op": "replace", "path": "/spec/template", "value": template}]),
    )
    .map_err(|e| ToolFailure::BadArgument(format!("cannot build the rollback patch: {e}")))?;
    Api::<Deployment>::namespaced(client.clone(), &a.namespace)
        .patch(&a.name, &patch_params(a.dry_run), &Patch::Json::<()>(patch))
        .await?;
    Ok(outcome_pinned(
        a.dry_run,
        &format!(
            "roll deployment {}/{} back from revision {current} to {} ({} back; images {})",
            a.namespace,
            a.name,
            target.revision,
            steps_back,
            target.images.join(",")
        ),
        &imp,
        Some(json!({"to_revision": target.revision})),
    ))
}

/// `scale`
pub async fn scale(
    client: &kube::Client,
    resolver: &Resolver,
    a: args::Scale,
) -> ToolResult<CallToolResult> {
    let r = resolver.resolve_for("scale", &a.kind).await?;
    if !(0..=1000).contains(&a.replicas) {
        return Err(ToolFailure::BadArgument(format!(
            "replicas must be between 0 and 1000, got {}",
            a.replicas
        )));
    }
    let (w, data_loss) = match (r.group.as_str(), r.plural.as_str()) {
        ("apps", "deployments") => (workload(client, &r, &a.namespace, &a.name).await?, false),
        ("apps", "statefulsets") => {
            let s: StatefulSet = get_namespaced(
                client,
                "statefulset",
                &a.namespace,
                &a.name,
                "list them with get_resource {kind: StatefulSet}",
            )
            .await?;
            let deletes_pvcs = s
                .spec
                .as_ref()
                .and_then(|sp| sp.persistent_volume_claim_retention_policy.as_ref())
                .and_then(|p| p.when_scaled.as_deref())
                == Some("Delete");
            (impact::statefulset_info(&s), deletes_pvcs)
        }
        _ => {
            return Err(ToolFailure::BadArgument(format!(
                "kind {:?} resolves to {} ({}), which cannot be scaled here; use Deployment or StatefulSet",
                a.kind,
                r.qualified(),
                r.kind
            )));
        }
    };
    let before = w.replicas;
    let after = i64::from(a.replicas);
    let removed = (before - after).max(0);
    let imp = Impact {
        action: "scale".into(),
        target: Some(ObjectRef {
            kind: w.kind.clone(),
            namespace: Some(a.namespace.clone()),
            name: a.name.clone(),
        }),
        workload: Some(w.to_impact()),
        replicas_before: Some(before),
        replicas_after: Some(after),
        replicas_affected: Some(removed),
        fraction_affected: Some(if before > 0 {
            removed as f64 / before as f64
        } else {
            0.0
        }),
        stateful: Some(w.stateful),
        data_loss_risk: Some(data_loss && removed > 0),
        ..Impact::default()
    };
    let body = json!({"spec": {"replicas": a.replicas}});
    let pp = patch_params(a.dry_run);
    if w.stateful {
        Api::<StatefulSet>::namespaced(client.clone(), &a.namespace)
            .patch_scale(&a.name, &pp, &Patch::Merge(&body))
            .await?;
    } else {
        Api::<Deployment>::namespaced(client.clone(), &a.namespace)
            .patch_scale(&a.name, &pp, &Patch::Merge(&body))
            .await?;
    }
    Ok(outcome(
        a.dry_run,
        &format!(
            "scale {} {}/{} from {before} to {after} replicas",
            w.kind, a.namespace, a.name
        ),
        &imp,
    ))
}

/// `patch_hpa`
pub async fn patch_hpa(client: &kube::Client, a: args::PatchHpa) -> ToolResult<CallToolResult> {
    if a.min_replicas.is_none() && a.max_replicas.is_none() {
        return Err(ToolFailure::BadArgument(
            "give min_replicas, max_replicas or both".into(),
        ));
    }
    let hpa: HorizontalPodAutoscaler = get_namespaced(
        client,
        "horizontalpodautoscaler",
        &a.namespace,
        &a.name,
        "list them with get_resource {kind: hpa}",
    )
    .await?;
    let spec = hpa.spec.clone().unwrap_or_default();
    let (min_before, max_before) = (
        i64::from(spec.min_replicas.unwrap_or(1)),
        i64::from(spec.max_replicas),
    );
    let min_after = a.min_replicas.map_or(min_before, i64::from);
    let max_after = a.max_replicas.map_or(max_before, i64::from);
    if min_after < 1 || max_after < min_after {
        return Err(ToolFailure::BadArgument(format!(
            "the HPA needs 1 <= min_replicas <= max_replicas; this would give min {min_after}, max {max_after}"
        )));
    }
    let current = hpa
        .status
        .as_ref()
        .and_then(|s| s.current_replicas)
        .map(i64::from);
    let imp = Impact {
        action: "patch_hpa".into(),
        target: Some(ObjectRef {
            kind: "HorizontalPodAutoscaler".into(),
            namespace: Some(a.namespace.clone()),
            name: a.name.clone(),
        }),
        workload: current.map(|c| sopilot_protocol::Workload {
            kind: spec.scale_target_ref.kind.clone(),
            namespace: Some(a.namespace.clone()),
            name: spec.scale_target_ref.name.clone(),
            replicas: c,
            ready: c,
        }),
        hpa: Some(HpaImpact {
            min_before,
            min_after,
            max_before,
            max_after,
        }),
        replicas_before: current,
        // The HPA moves replicas into the new bounds.
        replicas_after: current.map(|c| c.clamp(min_after, max_after)),
        replicas_affected: current.map(|c| (c - c.clamp(min_after, max_after)).max(0)),
        fraction_affected: current.map(|c| {
            if c > 0 {
                (c - c.clamp(min_after, max_after)).max(0) as f64 / c as f64
            } else {
                0.0
            }
        }),
        stateful: Some(spec.scale_target_ref.kind == "StatefulSet"),
        data_loss_risk: Some(false),
        ..Impact::default()
    };
    let mut patch = serde_json::Map::new();
    if let Some(m) = a.min_replicas {
        patch.insert("minReplicas".into(), json!(m));
    }
    if let Some(m) = a.max_replicas {
        patch.insert("maxReplicas".into(), json!(m));
    }
    Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), &a.namespace)
        .patch(
            &a.name,
            &patch_params(a.dry_run),
            &Patch::Merge(&json!({"spec": patch})),
        )
        .await?;
    Ok(outcome(
        a.dry_run,
        &format!(
            "set HPA {}/{} to min {min_after} (was {min_before}), max {max_after} (was {max_before})",
            a.namespace, a.name
        ),
        &imp,
    ))
}

/// Gets a node or fails with the nodes that exist.
pub async fn get_node(client: &kube::Client, name: &str) -> ToolResult<Node> {
    let api: Api<Node> = Api::all(client.clone());
    if let Some(n) = api.get_opt(name).await? {
        return Ok(n);
    }
    let names: Vec<String> = api
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    Err(ToolFailure::not_found(
        "node",
        None,
        name,
        format!("nodes: {}", names.join(", ")),
    ))
}

/// Impact of cordoning or uncordoning a node.
pub fn node_impact(action: &str, node: &Node) -> Impact {
    Impact {
        action: action.into(),
        target: Some(ObjectRef {
            kind: "Node".into(),
            namespace: None,
            name: node.metadata.name.clone().unwrap_or_default(),
        }),
        node: Some(impact::node_part(node)),
        replicas_affected: Some(0),
        fraction_affected: Some(0.0),
        stateful: Some(false),
        data_loss_risk: Some(false),
        ..Impact::default()
    }
}

/// Sets `spec.unschedulable` (cordon / uncordon).
pub async fn set_unschedulable(
    client: &kube::Client,
    node: &str,
    unschedulable: bool,
    dry_run: bool,
) -> ToolResult<()> {
    Api::<Node>::all(client.clone())
        .patch(
            node,
            &patch_params(dry_run),
            &Patch::Strategic(&json!({"spec": {"unschedulable": unschedulable}})),
        )
        .await?;
    Ok(())
}

/// `cordon` / `uncordon`
pub async fn cordon(
    client: &kube::Client,
    a: args::NodeArg,
    unschedulable: bool,
) -> ToolResult<CallToolResult> {
    let node = get_node(client, &a.node).await?;
    let action = if unschedulable { "cordon" } else { "uncordon" };
    let imp = node_impact(action, &node);
    set_unschedulable(client, &a.node, unschedulable, a.dry_run).await?;
    let what = if unschedulable {
        "mark node {} unschedulable (running pods stay)"
    } else {
        "mark node {} schedulable again"
    };
    Ok(outcome(a.dry_run, &what.replace("{}", &a.node), &imp))
}
