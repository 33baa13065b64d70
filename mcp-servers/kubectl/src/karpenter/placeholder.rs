//! `scale_placeholder_capacity`: the document's pre-provisioning lever. A placeholder
//! Deployment runs pause pods under a PriorityClass with a negative value; scaling it up makes
//! its pods Pending, Karpenter launches nodes for them, and when real pods arrive they preempt
//! the placeholders and start on nodes that are already Ready. The dry run estimates what
//! Karpenter will launch ([`super::plan`]): nodes and vCPUs per NodePool, the limits left and
//! the hourly cost, which the policy bounds.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::{Api, Patch, PatchParams};
use rmcp::model::CallToolResult;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use sopilot_protocol::{Impact, ObjectRef, Workload};

use super::cluster::{self, requests};
use super::plan::{Plan, Res, plan};
use super::{nodeclaims, nodepools};
use crate::error::{ToolFailure, ToolResult};
use crate::lookup::get_namespaced;
use crate::mutate::outcome;

/// Arguments of `scale_placeholder_capacity`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalePlaceholder {
    /// Namespace of the placeholder Deployment (the document's is `scaling`).
    pub namespace: String,
    /// Name of the placeholder Deployment (the document's is `capacity-reservation`).
    pub name: String,
    /// Placeholder pods wanted; 0 releases the reserved capacity. Give this or `vcpus`.
    pub replicas: Option<i32>,
    /// Capacity to reserve, in vCPUs: replicas = vcpus / one placeholder pod's CPU request,
    /// rounded up. Give this or `replicas`.
    pub vcpus: Option<f64>,
    /// Report the impact (nodes Karpenter would launch per NodePool, vCPUs, NodePool limits
    /// left, estimated hourly cost) without scaling (server-side dry run).
    #[serde(default)]
    pub dry_run: bool,
}

/// The placeholder Deployment, checked to be one: its pods run under a PriorityClass with a
/// negative value, so any real pod preempts them.
struct Placeholder {
    replicas: i64,
    ready: i64,
    per_pod: Res,
    priority_class: String,
    priority: i32,
}

async fn placeholder(client: &kube::Client, a: &ScalePlaceholder) -> ToolResult<Placeholder> {
    let hint = format!(
        "list them with get_resource {{kind: Deployment, namespace: {}}}",
        a.namespace
    );
    let d: Deployment = get_namespaced(client, "deployment", &a.namespace, &a.name, &hint).await?;
    let template = d.spec.as_ref().and_then(|s| s.template.spec.as_ref());
    let not_placeholder = |why: String| {
        ToolFailure::BadArgument(format!(
            "Deployment {}/{} is not a capacity placeholder: {why}; a placeholder runs pause pods under a PriorityClass with a negative value (scale real workloads with kubectl.scale)",
            a.namespace, a.name
        ))
    };
    let class = template
        .and_then(|t| t.priority_class_name.clone())
        .ok_or_else(|| not_placeholder("its pods have no priorityClassName".into()))?;
    let pc = Api::<PriorityClass>::all(client.clone())
        .get_opt(&class)
        .await?;
    let priority = pc
        .map(|p| p.value)
        .ok_or_else(|| not_placeholder(format!("its PriorityClass {class:?} does not exist")))?;
    if priority >= 0 {
        return Err(not_placeholder(format!(
            "its PriorityClass {class:?} has value {priority}, not below 0, so real pods would not preempt it"
        )));
    }
    let pod = k8s_openapi::api::core::v1::Pod {
        spec: template.cloned(),
        ..Default::default()
    };
    let per_pod = requests(&pod);
    if per_pod.cpu <= 0 {
        return Err(not_placeholder(
            "its pods request no CPU, so they reserve nothing".into(),
        ));
    }
    let status = d.status.as_ref();
    Ok(Placeholder {
        replicas: i64::from(d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
        ready: i64::from(status.and_then(|s| s.ready_replicas).unwrap_or(0)),
        per_pod,
        priority_class: class,
        priority,
    })
}

/// The replicas asked for, from `replicas` or `vcpus`.
fn wanted(a: &ScalePlaceholder, per_pod: Res) -> ToolResult<i64> {
    let n = match (a.replicas, a.vcpus) {
        (Some(r), None) => i64::from(r),
        (None, Some(v)) if v.is_finite() && v >= 0.0 => {
            (v * 1000.0 / per_pod.cpu as f64).ceil() as i64
        }
        (None, Some(v)) => {
            return Err(ToolFailure::BadArgument(format!(
                "vcpus must be 0 or more, got {v}"
            )));
        }
        _ => {
            return Err(ToolFailure::BadArgument(
                "give exactly one of replicas or vcpus".into(),
            ));
        }
    };
    if !(0..=1000).contains(&n) {
        return Err(ToolFailure::BadArgument(format!(
            "that is {n} placeholder pods; between 0 and 1000 are allowed"
        )));
    }
    Ok(n)
}

/// `scale_placeholder_capacity`
pub async fn scale(client: &kube::Client, a: ScalePlaceholder) -> ToolResult<CallToolResult> {
    let p = placeholder(client, &a).await?;
    let after = wanted(&a, p.per_pod)?;
    let added = (after - p.replicas).max(0);
    let mut pools = nodepools(client).await?;
    cluster::ordered(&mut pools);
    let claims = nodeclaims(client).await?;
    let rooms = cluster::rooms(client, &claims).await?;
    let pools: Vec<_> = pools.iter().map(|np| cluster::pool(np, &claims)).collect();
    let estimate = plan(added, p.per_pod, &rooms, &pools);
    let imp = impact(&a, &p, after, &estimate);
    let params = PatchParams {
        field_manager: Some("mcp-kubectl".into()),
        ..PatchParams::default()
    };
    let params = if a.dry_run { params.dry_run() } else { params };
    Api::<Deployment>::namespaced(client.clone(), &a.namespace)
        .patch(
            &a.name,
            &params,
            &Patch::Merge(&json!({"spec": {"replicas": after}})),
        )
        .await?;
    Ok(outcome(a.dry_run, &summary(&a, &p, after, &estimate), &imp))
}

fn impact(a: &ScalePlaceholder, p: &Placeholder, after: i64, estimate: &Plan) -> Impact {
    let mut karpenter = serde_json::to_value(estimate).unwrap_or_default();
    karpenter["priority_class"] = json!(p.priority_class);
    karpenter["priority"] = json!(p.priority);
    karpenter["pod_requests"] =
        json!({"cpu_millicores": p.per_pod.cpu, "memory_bytes": p.per_pod.memory});
    karpenter["pods_added"] = json!((after - p.replicas).max(0));
    karpenter["reserved_vcpus_after"] = json!(p.per_pod.cpu as f64 * after as f64 / 1000.0);
    let mut extra = serde_json::Map::new();
    extra.insert("karpenter".into(), karpenter);
    Impact {
        action: "scale_placeholder_capacity".into(),
        target: Some(ObjectRef {
            kind: "Deployment".into(),
            namespace: Some(a.namespace.clone()),
            name: a.name.clone(),
        }),
        workload: Some(Workload {
            kind: "Deployment".into(),
            namespace: Some(a.namespace.clone()),
            name: a.name.clone(),
            replicas: p.replicas,
            ready: p.ready,
        }),
        replicas_before: Some(p.replicas),
        replicas_after: Some(after),
        // Placeholders serve nothing: removing them takes no capacity from a real workload.
        replicas_affected: Some(0),
        fraction_affected: Some(0.0),
        stateful: Some(false),
        data_loss_risk: Some(false),
        extra,
        ..Impact::default()
    }
}

fn summary(a: &ScalePlaceholder, p: &Placeholder, after: i64, e: &Plan) -> String {
    let mut text = format!(
        "scale placeholder {}/{} {} -> {after} pods ({} vCPU reserved)",
        a.namespace,
        a.name,
        p.replicas,
        p.per_pod.cpu as f64 * after as f64 / 1000.0
    );
    if after <= p.replicas {
        text.push_str(
            "; releases reserved capacity, launches nothing (Karpenter consolidates emptied nodes)",
        );
        return text;
    }
    let pools: Vec<String> = e
        .nodepools
        .iter()
        .map(|n| {
            format!(
                "{}: {} node(s) {} ({} vCPU){}{}",
                n.nodepool,
                n.nodes,
                n.instance_types.join("+"),
                n.vcpus,
                n.cpu_left_after_vcpus
                    .map(|l| format!(", {l} vCPU left of its limit"))
                    .unwrap_or_default(),
                if n.pods_over_limits > 0 {
                    format!(", {} pods over its limits stay Pending", n.pods_over_limits)
                } else {
                    String::new()
                }
            )
        })
        .collect();
    text.push_str(&format!(
        "; {} on existing capacity; Karpenter launches {} node(s), {} vCPU [{}], est. {}/h; within NodePool limits: {}",
        e.pods_on_existing_capacity,
        e.nodes_to_launch,
        e.vcpus_to_launch,
        pools.join("; "),
        e.hourly_cost_usd.map_or("unknown (instance types not in the price list)".into(), |c| format!("${c:.4}")),
        e.within_limits.map_or("unknown", |w| if w { "yes" } else { "no" })
    ));
    text
}
