//! `scale_placeholder_capacity`: the document's pre-provisioning lever. A placeholder
//! Deployment runs pause pods under a PriorityClass with a negative value; scaling it up makes
//! its pods Pending, Karpenter launches nodes for them, and when real pods arrive they preempt
//! the placeholders and start on nodes that are already Ready. The dry run estimates what
//! Karpenter will launch ([`super::plan`]): nodes and vCPUs per NodePool, the limits left and
//! the hourly cost, which the policy bounds.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, PodSpec, Volume};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::{Api, Patch, PatchParams};
use rmcp::model::CallToolResult;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use sopilot_protocol::{Impact, ObjectRef, Workload};

use std::collections::{BTreeMap, BTreeSet};

use super::cluster::{self, requests};
use super::plan::{Plan, Res, Reservation, plan, reservation};
use super::reserved::{self, Cluster};
use super::{nodeclaims, nodepools};
use crate::error::{ToolFailure, ToolResult, api_code};
use crate::lookup::get_namespaced;
use crate::mutate::outcome_pinned;

/// Arguments of `scale_placeholder_capacity`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalePlaceholder {
    /// Namespace of the placeholder Deployment (the document's is `scaling`).
    pub namespace: String,
    /// Name of the placeholder Deployment (the document's is `capacity-reservation`).
    pub name: String,
    /// Placeholder pods wanted; 0 releases the reserved capacity. Give this or `vcpus`. A dry
    /// run by `vcpus` pins the replicas they resolve to (`pin`), so that the real call scales to
    /// exactly what was assessed: with both, `vcpus` must still resolve to `replicas`.
    pub replicas: Option<i32>,
    /// Capacity to reserve, in vCPUs: replicas = vcpus / one placeholder pod's CPU request,
    /// rounded up. Give this or `replicas`.
    pub vcpus: Option<f64>,
    /// Report the impact (nodes Karpenter would launch per NodePool, vCPUs, NodePool limits
    /// left, estimated hourly cost) without scaling (server-side dry run).
    #[serde(default)]
    pub dry_run: bool,
    /// Leave this out: the dry run pins it to what every placeholder in the cluster together
    /// costs an hour after the call, and the call then scales only if that is still at most
    /// this much (another placeholder scaled since the dry run makes it refuse).
    pub cluster_hourly_cost_usd_at_most: Option<f64>,
}

/// The placeholder Deployment, checked to be one: its pods run only pause containers (so they
/// serve nothing and hold no data) under a PriorityClass with a negative value, so any real pod
/// preempts them.
pub(super) struct Placeholder {
    pub(super) replicas: i64,
    ready: i64,
    pub(super) per_pod: Res,
    priority_class: String,
    priority: i32,
    images: Vec<String>,
    /// Whether its pods may run on any schedulable node (no nodeSelector, affinity or
    /// tolerations): only then is room on existing nodes counted for them.
    anywhere: bool,
}

/// The target Deployment as read (its `resourceVersion` is the precondition of the patch) and
/// checked to be a placeholder.
async fn placeholder(
    client: &kube::Client,
    a: &ScalePlaceholder,
) -> ToolResult<(Deployment, Placeholder)> {
    let hint = format!(
        "list them with get_resource {{kind: Deployment, namespace: {}}}",
        a.namespace
    );
    let d: Deployment = get_namespaced(client, "deployment", &a.namespace, &a.name, &hint).await?;
    let priorities = priorities(client, priority_class(&d).into_iter()).await?;
    let p = classify(&d, &priorities).map_err(|why| {
        ToolFailure::BadArgument(format!(
            "Deployment {}/{} is not a capacity placeholder: {why}. A placeholder runs only pause containers (an image whose repository's last path component is `pause`, e.g. registry.k8s.io/pause:3.10), without command, ports or data volumes, under a PriorityClass with a negative value. Scale real workloads with kubectl.scale, whose impact counts the replicas they lose",
            a.namespace, a.name
        ))
    })?;
    Ok((d, p))
}

/// The PriorityClass a Deployment's pods run under.
pub(super) fn priority_class(d: &Deployment) -> Option<String> {
    d.spec
        .as_ref()?
        .template
        .spec
        .as_ref()?
        .priority_class_name
        .clone()
}

/// The values of the named PriorityClasses that exist.
pub(super) async fn priorities(
    client: &kube::Client,
    names: impl Iterator<Item = String>,
) -> ToolResult<BTreeMap<String, i32>> {
    let api = Api::<PriorityClass>::all(client.clone());
    let mut values = BTreeMap::new();
    for name in names.collect::<BTreeSet<_>>() {
        if let Some(pc) = api.get_opt(&name).await? {
            values.insert(name, pc.value);
        }
    }
    Ok(values)
}

/// Checks that a Deployment is a placeholder (`priorities`: the values of the PriorityClasses
/// that exist); answers why it is not otherwise.
pub(super) fn classify(
    d: &Deployment,
    priorities: &BTreeMap<String, i32>,
) -> Result<Placeholder, String> {
    let template = d
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .ok_or("it has no pod template")?;
    let images = pause_only(template)?;
    let class = template
        .priority_class_name
        .clone()
        .ok_or("its pods have no priorityClassName")?;
    let priority = *priorities
        .get(&class)
        .ok_or_else(|| format!("its PriorityClass {class:?} does not exist"))?;
    if priority >= 0 {
        return Err(format!(
            "its PriorityClass {class:?} has value {priority}, not below 0, so real pods would not preempt it"
        ));
    }
    let pod = Pod {
        spec: Some(template.clone()),
        ..Default::default()
    };
    let per_pod = requests(&pod);
    if per_pod.cpu <= 0 {
        return Err("its pods request no CPU, so they reserve nothing".into());
    }
    let status = d.status.as_ref();
    Ok(Placeholder {
        replicas: i64::from(d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
        ready: i64::from(status.and_then(|s| s.ready_replicas).unwrap_or(0)),
        per_pod,
        priority_class: class,
        priority,
        images,
        anywhere: anywhere(template),
    })
}

/// Whether the pods may run on any schedulable, untainted node: no nodeSelector, affinity or
/// tolerations (where they may go otherwise is not worked out, so no existing room counts).
fn anywhere(spec: &PodSpec) -> bool {
    spec.node_selector.as_ref().is_none_or(|s| s.is_empty())
        && spec.affinity.is_none()
        && spec.tolerations.as_ref().is_none_or(|t| t.is_empty())
}

/// Whether an image reference names a pause image: its repository's last path component is
/// `pause`, from any registry (`registry.k8s.io/pause:3.10`,
/// `public.ecr.aws/eks-distro/kubernetes/pause:v1.29.0-eks-1-29-1`, `pause@sha256:...`). The
/// tag does not count: `busybox:pause` is busybox.
pub fn is_pause_image(image: &str) -> bool {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split(':').next() == Some("pause")
}

/// Volume sources that hold no data of their own: a pod's scratch space and what the API
/// projects into it. Any other (a PersistentVolumeClaim, hostPath, NFS, CSI, a cloud disk, an
/// ephemeral or image volume) means the pods keep or reach data.
const DATALESS: [&str; 5] = [
    "emptyDir",
    "configMap",
    "secret",
    "downwardAPI",
    "projected",
];

fn dataless(v: &Volume) -> bool {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::Object(m)) => m
            .keys()
            .all(|k| k == "name" || DATALESS.contains(&k.as_str())),
        _ => false,
    }
}

/// Checks that a pod template runs nothing but pause containers (init containers included)
/// with no command, arguments or ports, and mounts no volume that holds data; returns its
/// images, or why it is not a placeholder.
pub fn pause_only(spec: &PodSpec) -> Result<Vec<String>, String> {
    if spec.containers.is_empty() {
        return Err("its pods have no containers".into());
    }
    let init = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| ("init container", c));
    let mut images = Vec::new();
    for (what, c) in spec.containers.iter().map(|c| ("container", c)).chain(init) {
        let image = c.image.as_deref().unwrap_or("");
        if !is_pause_image(image) {
            return Err(format!(
                "{what} {:?} runs image {image:?}, not a pause image, so its pods do real work",
                c.name
            ));
        }
        if c.command.is_some() || c.args.is_some() {
            return Err(format!(
                "{what} {:?} sets a command or arguments; a pause container runs the image's own /pause",
                c.name
            ));
        }
        if c.ports.as_ref().is_some_and(|p| !p.is_empty()) {
            return Err(format!(
                "{what} {:?} declares ports, so something may be served from it",
                c.name
            ));
        }
        if !images.contains(&image.to_owned()) {
            images.push(image.to_owned());
        }
    }
    if let Some(v) = spec.volumes.iter().flatten().find(|v| !dataless(v)) {
        return Err(format!(
            "its pods mount volume {:?}, which holds data (only {} volumes are allowed)",
            v.name,
            DATALESS.join(", ")
        ));
    }
    Ok(images)
}

/// Placeholder pods that reserve `vcpus`: vcpus / one pod's CPU request, rounded up.
fn pods_for(vcpus: f64, per_pod: Res) -> ToolResult<i64> {
    if !(vcpus.is_finite() && vcpus >= 0.0) {
        return Err(ToolFailure::BadArgument(format!(
            "vcpus must be 0 or more, got {vcpus}"
        )));
    }
    Ok((vcpus * 1000.0 / per_pod.cpu as f64).ceil() as i64)
}

/// The replicas asked for, from `replicas` or `vcpus`; with both (a call pinned by its dry
/// run), `vcpus` must still resolve to `replicas`, so that the call scales to what was
/// assessed and approved or not at all.
fn wanted(a: &ScalePlaceholder, per_pod: Res) -> ToolResult<i64> {
    let by_vcpus = a.vcpus.map(|v| pods_for(v, per_pod)).transpose()?;
    let n = match (a.replicas.map(i64::from), by_vcpus) {
        (Some(r), None) => r,
        (None, Some(n)) => n,
        (Some(r), Some(n)) if r == n => r,
        (Some(r), Some(n)) => {
            return Err(ToolFailure::BadArgument(format!(
                "vcpus {} now resolve to {n} placeholder pods of {}m CPU, but replicas is {r} (what the dry run assessed, pinned): the placeholder's CPU request changed since, so nothing was scaled; dry-run again with vcpus alone",
                a.vcpus.unwrap_or_default(),
                per_pod.cpu
            )));
        }
        (None, None) => {
            return Err(ToolFailure::BadArgument(
                "give replicas or vcpus (the placeholder pods or the vCPUs to reserve)".into(),
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

/// What a call was assessed on: the Deployment as checked (the patch's precondition), the
/// estimate, and every placeholder's reservation after it.
struct Assessed {
    resource_version: String,
    p: Placeholder,
    after: i64,
    estimate: Plan,
    whole: Reservation,
    cluster: Cluster,
}

/// `scale_placeholder_capacity`
pub async fn scale(client: &kube::Client, a: ScalePlaceholder) -> ToolResult<CallToolResult> {
    let x = assess(client, &a).await?;
    within_assessed(&a, &x.cluster)?;
    patch_checked(client, &a, &x).await?;
    let imp = impact(&a, &x);
    Ok(outcome_pinned(
        a.dry_run,
        &summary(&a, &x),
        &imp,
        pin(&a, &x),
    ))
}

/// What the gate pins from the dry run: the replicas a count by vCPUs resolved to (the pods'
/// CPU request can change before the real call), and the cluster's total cost after the call
/// (other placeholders can be scaled in between, by a call assessed at the same time).
fn pin(a: &ScalePlaceholder, x: &Assessed) -> Option<serde_json::Value> {
    let mut pin = serde_json::Map::new();
    if a.replicas.is_none() {
        pin.insert("replicas".into(), json!(x.after));
    }
    if let Some(cost) = x.cluster.total.hourly_cost_usd {
        pin.insert("cluster_hourly_cost_usd_at_most".into(), json!(cost));
    }
    (!pin.is_empty()).then_some(serde_json::Value::Object(pin))
}

/// Refuses a call whose cluster total passed the one its dry run assessed (and the policy
/// decided on): two calls assessed side by side each see the other's placeholder as it was.
fn within_assessed(a: &ScalePlaceholder, cluster: &Cluster) -> ToolResult<()> {
    let Some(bound) = a.cluster_hourly_cost_usd_at_most else {
        return Ok(());
    };
    match cluster.total.hourly_cost_usd {
        Some(now) if now <= bound + 1e-9 => Ok(()),
        now => Err(ToolFailure::BadArgument(format!(
            "every placeholder in the cluster together would cost {} an hour after this call, more than the ${bound:.4} its dry run assessed (another placeholder was scaled since), so nothing was scaled; dry-run the call again without cluster_hourly_cost_usd_at_most to assess the cluster as it is now",
            now.map_or("an unknown amount".into(), |c| format!("${c:.4}"))
        ))),
    }
}

/// Reads and checks the placeholder, estimates what Karpenter launches for it, and adds up
/// what every placeholder in the cluster reserves after the call.
async fn assess(client: &kube::Client, a: &ScalePlaceholder) -> ToolResult<Assessed> {
    let (d, p) = placeholder(client, a).await?;
    let resource_version = d.metadata.resource_version.clone().ok_or_else(|| {
        ToolFailure::Transport(format!(
            "the API server answered Deployment {}/{} without metadata.resourceVersion, so it cannot be scaled only as checked",
            a.namespace, a.name
        ))
    })?;
    let after = wanted(a, p.per_pod)?;
    let added = (after - p.replicas).max(0);
    let mut pools = nodepools(client).await?;
    cluster::ordered(&mut pools);
    let claims = nodeclaims(client).await?;
    let rooms = cluster::rooms(client, &claims, p.anywhere).await?;
    let pools: Vec<_> = pools.iter().map(|np| cluster::pool(np, &claims)).collect();
    let estimate = plan(added, p.per_pod, &rooms, &pools);
    let whole = reservation(after, p.per_pod, &pools);
    let others = reserved::others(client, &a.namespace, &a.name).await?;
    let cluster = reserved::cluster(&whole, &others, &pools);
    Ok(Assessed {
        resource_version,
        p,
        after,
        estimate,
        whole,
        cluster,
    })
}

/// Scales (or dry-runs) to the replicas assessed, on the Deployment as it was checked: the
/// merge patch carries the `resourceVersion` read, so the API server refuses it (409 Conflict)
/// if the Deployment changed in between (its image swapped for real work, say).
async fn patch_checked(
    client: &kube::Client,
    a: &ScalePlaceholder,
    x: &Assessed,
) -> ToolResult<()> {
    let params = PatchParams {
        field_manager: Some("mcp-kubectl".into()),
        ..PatchParams::default()
    };
    let params = if a.dry_run { params.dry_run() } else { params };
    let body = json!({
        "metadata": {"resourceVersion": x.resource_version},
        "spec": {"replicas": x.after},
    });
    match Api::<Deployment>::namespaced(client.clone(), &a.namespace)
        .patch(&a.name, &params, &Patch::Merge(&body))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if api_code(&e) == Some(409) => Err(ToolFailure::Refused(format!(
            "Deployment {}/{} changed since it was checked as a capacity placeholder (resourceVersion {} is no longer current), so nothing was scaled; call again to check it as it is now",
            a.namespace, a.name, x.resource_version
        ))),
        Err(e) => Err(e.into()),
    }
}

/// How the estimate leans, for whoever reads the impact.
const CONSERVATIVE: &str = "conservative: existing room counts only on Ready, untainted nodes and taint-free launching NodeClaims, after the pods already Pending take theirs (launching NodeClaims first), and none when the placeholder has a nodeSelector, affinity or tolerations; reserved_hourly_cost_usd_after prices the whole reservation on nodes of its own, since the real pods it is for take any room it borrows; cluster_reserved_hourly_cost_usd_after adds every other placeholder Deployment in the cluster, each priced the same way";

fn impact(a: &ScalePlaceholder, x: &Assessed) -> Impact {
    let Assessed {
        p,
        after,
        estimate,
        whole,
        cluster,
        ..
    } = x;
    let after = *after;
    let mut karpenter = serde_json::to_value(estimate).unwrap_or_default();
    karpenter["priority_class"] = json!(p.priority_class);
    karpenter["priority"] = json!(p.priority);
    karpenter["pod_requests"] =
        json!({"cpu_millicores": p.per_pod.cpu, "memory_bytes": p.per_pod.memory});
    karpenter["pods_added"] = json!((after - p.replicas).max(0));
    karpenter["images"] = json!(p.images);
    karpenter["reserved_pods_after"] = json!(whole.pods);
    karpenter["reserved_vcpus_after"] = json!(whole.vcpus);
    karpenter["reserved_nodes_after"] = json!(whole.nodes);
    karpenter["reserved_hourly_cost_usd_after"] = json!(whole.hourly_cost_usd);
    karpenter["cluster_reserved_pods_after"] = json!(cluster.total.pods);
    karpenter["cluster_reserved_vcpus_after"] = json!(cluster.total.vcpus);
    karpenter["cluster_reserved_nodes_after"] = json!(cluster.total.nodes);
    karpenter["cluster_reserved_hourly_cost_usd_after"] = json!(cluster.total.hourly_cost_usd);
    karpenter["other_placeholders"] = json!(cluster.others);
    karpenter["estimate"] = json!(CONSERVATIVE);
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
        // Checked above: pause containers only, no ports, no data volumes, negative priority.
        // Removing them takes no capacity from a real workload.
        replicas_affected: Some(0),
        fraction_affected: Some(0.0),
        stateful: Some(false),
        data_loss_risk: Some(false),
        extra,
        ..Impact::default()
    }
}

fn summary(a: &ScalePlaceholder, x: &Assessed) -> String {
    let Assessed {
        p,
        after,
        estimate: e,
        whole,
        cluster,
        ..
    } = x;
    let after = *after;
    let mut text = format!(
        "scale placeholder {}/{} {} -> {after} pods ({} vCPU reserved; the whole reservation on nodes of its own: {} node(s), est. {}/h)",
        a.namespace,
        a.name,
        p.replicas,
        whole.vcpus,
        whole.nodes,
        whole
            .hourly_cost_usd
            .map_or("unknown".into(), |c| format!("${c:.4}"))
    );
    if !cluster.others.is_empty() {
        text.push_str(&format!(
            "; every placeholder in the cluster together ({} more Deployment(s)): {} pods, {} vCPU, est. {}/h",
            cluster.others.len(),
            cluster.total.pods,
            cluster.total.vcpus,
            cluster
                .total
                .hourly_cost_usd
                .map_or("unknown".into(), |c| format!("${c:.4}"))
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, ContainerPort, Volume};

    fn spec(images: &[&str]) -> PodSpec {
        PodSpec {
            containers: images
                .iter()
                .enumerate()
                .map(|(i, image)| Container {
                    name: format!("c{i}"),
                    image: Some((*image).to_owned()),
                    ..Container::default()
                })
                .collect(),
            ..PodSpec::default()
        }
    }

    fn args(replicas: Option<i32>, vcpus: Option<f64>) -> ScalePlaceholder {
        ScalePlaceholder {
            namespace: "scaling".into(),
            name: "capacity-reservation".into(),
            replicas,
            vcpus,
            dry_run: true,
            cluster_hourly_cost_usd_at_most: None,
        }
    }

    /// The race between the check and the patch: the placeholder is assessed, then someone
    /// swaps its image for real work before the patch. The patch carries the resourceVersion
    /// that was checked, so the API server refuses it and nothing is scaled.
    #[tokio::test]
    async fn a_deployment_changed_after_its_check_is_not_scaled() {
        let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let scenario =
            sopilot_sim_env::Scenario::from_file(repo.join("scenarios/karpenter-peak.yaml"))
                .unwrap();
        let sim = sopilot_sim_env::start(scenario, sopilot_sim_env::SimOptions::default())
            .await
            .unwrap();
        let client = crate::connect(Some(sim.kubeconfig().to_owned()), None)
            .await
            .unwrap();
        let real = |n: i32| ScalePlaceholder {
            dry_run: false,
            ..args(Some(n), None)
        };
        let replicas = || {
            sim.get("Deployment", Some("scaling"), "capacity-reservation")
                .unwrap()["spec"]["replicas"]
                .clone()
        };
        // Unchanged in between: the checked patch scales.
        let x = assess(&client, &real(2)).await.unwrap();
        patch_checked(&client, &real(2), &x).await.unwrap();
        assert_eq!(replicas(), 2);

        let x = assess(&client, &real(7)).await.unwrap();
        let mut d = sim
            .get("Deployment", Some("scaling"), "capacity-reservation")
            .unwrap();
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("acme/batch-worker:2");
        sim.kube().apply(d).unwrap();
        let err = patch_checked(&client, &real(7), &x).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("changed since it was checked")
                && text.contains("nothing was scaled")
                && text.contains("call again"),
            "{text}"
        );
        assert_eq!(replicas(), 2, "the swapped Deployment was not scaled");
        // Called again, it is checked as it is now: no longer a placeholder.
        let again = assess(&client, &real(7)).await.err().map(|e| e.to_string());
        assert!(
            again
                .as_deref()
                .is_some_and(|e| e.contains("not a capacity placeholder")),
            "{again:?}"
        );
    }

    #[test]
    fn vcpus_resolve_by_the_pod_request_and_must_agree_with_pinned_replicas() {
        let one = Res {
            cpu: 1000,
            memory: 1 << 31,
        };
        let half = Res { cpu: 500, ..one };
        assert_eq!(wanted(&args(None, Some(6.5)), one).ok(), Some(7));
        assert_eq!(wanted(&args(Some(7), None), half).ok(), Some(7));
        assert_eq!(wanted(&args(Some(7), Some(7.0)), one).ok(), Some(7));
        // The request halved after the dry run: 7 vCPU are 14 pods now, not the 7 pinned.
        let moved = wanted(&args(Some(7), Some(7.0)), half);
        assert!(
            moved
                .as_ref()
                .is_err_and(|e| e.to_string().contains("resolve to 14")),
            "{moved:?}"
        );
        assert!(wanted(&args(None, None), one).is_err());
        assert!(wanted(&args(None, Some(-1.0)), one).is_err());
        assert!(wanted(&args(Some(1001), None), one).is_err());
    }

    #[test]
    fn pause_images_are_told_by_their_repository_name_not_their_tag() {
        for image in [
            "registry.k8s.io/pause:3.10",
            "public.ecr.aws/eks-distro/kubernetes/pause:v1.29.0-eks-1-29-1",
            "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/pause:3.5",
            "registry.local:5000/pause",
            "pause@sha256:0123abcd",
        ] {
            assert!(is_pause_image(image), "{image}");
        }
        for image in [
            "busybox:pause",
            "registry.k8s.io/pause-worker:3.10",
            "pause/worker:1",
            "registry.local:5000/batch:pause",
            "",
        ] {
            assert!(!is_pause_image(image), "{image}");
        }
    }

    #[test]
    fn only_pause_containers_without_command_ports_or_data_volumes_are_placeholders() {
        assert_eq!(
            pause_only(&spec(&["registry.k8s.io/pause:3.10"])),
            Ok(vec!["registry.k8s.io/pause:3.10".to_owned()])
        );
        let real = pause_only(&spec(&[
            "registry.k8s.io/pause:3.10",
            "acme/batch-worker:2",
        ]));
        assert!(
            real.as_ref()
                .is_err_and(|e| e.contains("\"c1\"") && e.contains("acme/batch-worker:2")),
            "{real:?}"
        );
        let mut init = spec(&["registry.k8s.io/pause:3.10"]);
        init.init_containers = spec(&["acme/migrate:1"]).containers.into();
        assert!(pause_only(&init).is_err_and(|e| e.starts_with("init container")));
        let mut command = spec(&["registry.k8s.io/pause:3.10"]);
        command.containers[0].command = Some(vec!["/bin/worker".into()]);
        assert!(pause_only(&command).is_err_and(|e| e.contains("command")));
        let mut ports = spec(&["registry.k8s.io/pause:3.10"]);
        ports.containers[0].ports = Some(vec![ContainerPort {
            container_port: 8080,
            ..ContainerPort::default()
        }]);
        assert!(pause_only(&ports).is_err_and(|e| e.contains("ports")));
        let volume = |v: serde_json::Value| -> Volume { serde_json::from_value(v).unwrap() };
        let mut data = spec(&["registry.k8s.io/pause:3.10"]);
        data.volumes = Some(vec![
            volume(json!({"name": "scratch", "emptyDir": {}})),
            volume(json!({"name": "queue", "persistentVolumeClaim": {"claimName": "q"}})),
        ]);
        assert!(pause_only(&data).is_err_and(|e| e.contains("\"queue\"")));
        data.volumes = Some(vec![
            volume(json!({"name": "scratch", "emptyDir": {}})),
            volume(json!({"name": "conf", "configMap": {"name": "c"}})),
        ]);
        assert!(pause_only(&data).is_ok());
        assert!(pause_only(&spec(&[])).is_err());
    }

    #[test]
    fn only_unconstrained_placeholders_may_borrow_room_on_existing_nodes() {
        let mut s = spec(&["registry.k8s.io/pause:3.10"]);
        assert!(anywhere(&s));
        s.node_selector = Some([("pool".to_owned(), "gpu".to_owned())].into());
        assert!(!anywhere(&s));
        let mut s = spec(&["registry.k8s.io/pause:3.10"]);
        s.tolerations = Some(vec![Default::default()]);
        assert!(!anywhere(&s));
        let mut s = spec(&["registry.k8s.io/pause:3.10"]);
        s.affinity = Some(Default::default());
        assert!(!anywhere(&s));
    }
}
