//! The workload side of `recent_changes`: which workloads are in scope, their rollouts
//! (ReplicaSets of Deployments, ControllerRevisions of StatefulSets and DaemonSets, each
//! revision diffed against the one before), replica and HPA changes (managed fields, the
//! HPA's last scale), and ConfigMap updates (managed fields: which keys, by whom, when).

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams};

use crate::changes::{
    Change, ChangeKind, Scope, Window, managed_in_window, managed_paths, manager_of,
    template_of_data,
};
use crate::changes_diff::template_diff;
use crate::discovery::Resolver;
use crate::error::{ToolFailure, ToolResult};
use crate::format;
use crate::lookup::{get_namespaced, get_pod};
use crate::workloads::revisions;

/// A workload in scope.
#[derive(Debug, Clone)]
pub struct Workload {
    pub kind: &'static str,
    pub name: String,
    pub object: Option<Object>,
}

/// The workload as read from the API.
#[derive(Debug, Clone)]
pub enum Object {
    Deployment(Box<Deployment>),
    StatefulSet(Box<StatefulSet>),
    DaemonSet(Box<DaemonSet>),
}

impl Workload {
    /// A workload known by name only (tests).
    #[cfg(test)]
    pub fn named(kind: &'static str, name: &str) -> Self {
        Workload {
            kind,
            name: name.to_owned(),
            object: None,
        }
    }

    fn of(object: Object) -> Self {
        let (kind, meta) = match &object {
            Object::Deployment(d) => ("Deployment", &d.metadata),
            Object::StatefulSet(s) => ("StatefulSet", &s.metadata),
            Object::DaemonSet(d) => ("DaemonSet", &d.metadata),
        };
        Workload {
            kind,
            name: meta.name.clone().unwrap_or_default(),
            object: Some(object),
        }
    }

    fn meta(&self) -> Option<&ObjectMeta> {
        Some(match self.object.as_ref()? {
            Object::Deployment(d) => &d.metadata,
            Object::StatefulSet(s) => &s.metadata,
            Object::DaemonSet(d) => &d.metadata,
        })
    }

    fn template(&self) -> Option<&PodTemplateSpec> {
        Some(match self.object.as_ref()? {
            Object::Deployment(d) => &d.spec.as_ref()?.template,
            Object::StatefulSet(s) => &s.spec.as_ref()?.template,
            Object::DaemonSet(d) => &d.spec.as_ref()?.template,
        })
    }

    fn replicas(&self) -> Option<i32> {
        match self.object.as_ref()? {
            Object::Deployment(d) => d.spec.as_ref()?.replicas,
            Object::StatefulSet(s) => s.spec.as_ref()?.replicas,
            Object::DaemonSet(_) => None,
        }
    }

    fn label(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// The workloads a call looks at: the one named (`NAME`, `KIND/NAME` or `pod/NAME`, whose
/// owner is used), or every Deployment, StatefulSet and DaemonSet of the namespace.
pub async fn scope(
    client: &kube::Client,
    resolver: &Resolver,
    ns: &str,
    workload: Option<&str>,
) -> ToolResult<Scope> {
    let Some(spelling) = workload else {
        return Ok(Scope {
            namespace: ns.to_owned(),
            workloads: all_workloads(client, ns).await?,
            focused: false,
        });
    };
    let (kind, name) = match spelling.rsplit_once('/') {
        Some((k, n)) => (resolver.resolve_for("recent_changes", k).await?.kind, n),
        None => ("Deployment".to_owned(), spelling),
    };
    let one = one_workload(client, ns, &kind, name).await?;
    Ok(Scope {
        namespace: ns.to_owned(),
        workloads: vec![one],
        focused: true,
    })
}

async fn one_workload(
    client: &kube::Client,
    ns: &str,
    kind: &str,
    name: &str,
) -> ToolResult<Workload> {
    let hint = "list workloads with get_resource {kind: Deployment} (or StatefulSet, DaemonSet), or omit workload for the whole namespace";
    Ok(match kind {
        "Deployment" => Workload::of(Object::Deployment(Box::new(
            get_namespaced(client, "deployment", ns, name, hint).await?,
        ))),
        "StatefulSet" => Workload::of(Object::StatefulSet(Box::new(
            get_namespaced(client, "statefulset", ns, name, hint).await?,
        ))),
        "DaemonSet" => Workload::of(Object::DaemonSet(Box::new(
            get_namespaced(client, "daemonset", ns, name, hint).await?,
        ))),
        "Pod" => {
            let pod = get_pod(client, ns, name).await?;
            let owner = crate::impact::workload_of_pod(client, &pod).await?;
            match owner {
                Some(o)
                    if ["Deployment", "StatefulSet", "DaemonSet"].contains(&o.kind.as_str()) =>
                {
                    Box::pin(one_workload(client, ns, &o.kind, &o.name)).await?
                }
                // A pod no workload owns: its own events, and the nodes.
                _ => Workload {
                    kind: "Pod",
                    name: name.to_owned(),
                    object: None,
                },
            }
        }
        other => {
            return Err(ToolFailure::BadArgument(format!(
                "workload kind {other} is not supported: give a Deployment (NAME or deploy/NAME), a StatefulSet (sts/NAME), a DaemonSet (ds/NAME) or a pod (pod/NAME, its owner is used)"
            )));
        }
    })
}

async fn all_workloads(client: &kube::Client, ns: &str) -> ToolResult<Vec<Workload>> {
    let lp = ListParams::default();
    let mut out: Vec<Workload> = Api::<Deployment>::namespaced(client.clone(), ns)
        .list(&lp)
        .await?
        .items
        .into_iter()
        .map(|d| Workload::of(Object::Deployment(Box::new(d))))
        .collect();
    out.extend(
        Api::<StatefulSet>::namespaced(client.clone(), ns)
            .list(&lp)
            .await?
            .items
            .into_iter()
            .map(|s| Workload::of(Object::StatefulSet(Box::new(s)))),
    );
    out.extend(
        Api::<DaemonSet>::namespaced(client.clone(), ns)
            .list(&lp)
            .await?
            .items
            .into_iter()
            .map(|d| Workload::of(Object::DaemonSet(Box::new(d)))),
    );
    Ok(out)
}

/// One revision of a workload: number, where it lives, when it was made, its template.
struct Rev {
    number: i64,
    holder: String,
    at: i64,
    cause: Option<String>,
    template: Option<PodTemplateSpec>,
}

/// Rollouts within the window, each diffed against the revision before it.
pub async fn rollouts(client: &kube::Client, scope: &Scope, w: &Window) -> ToolResult<Vec<Change>> {
    let mut out = Vec::new();
    let mut controller_revisions: Option<Vec<ControllerRevision>> = None;
    for wl in &scope.workloads {
        let revs = match &wl.object {
            Some(Object::Deployment(d)) => deployment_revisions(client, d).await?,
            Some(Object::StatefulSet(_) | Object::DaemonSet(_)) => {
                if controller_revisions.is_none() {
                    controller_revisions = Some(
                        Api::<ControllerRevision>::namespaced(client.clone(), &scope.namespace)
                            .list(&ListParams::default())
                            .await?
                            .items,
                    );
                }
                owned_revisions(wl, controller_revisions.as_deref().unwrap_or_default())
            }
            None => Vec::new(),
        };
        out.extend(rollout_lines(wl, &revs, w));
    }
    Ok(out)
}

async fn deployment_revisions(client: &kube::Client, d: &Deployment) -> ToolResult<Vec<Rev>> {
    let now = format::now();
    Ok(revisions(client, d)
        .await?
        .into_iter()
        .map(|r| Rev {
            number: r.revision,
            holder: format!("ReplicaSet {}", r.replica_set),
            at: now - r.age_seconds,
            cause: r.change_cause,
            template: r.template,
        })
        .collect())
}

fn owned_revisions(wl: &Workload, all: &[ControllerRevision]) -> Vec<Rev> {
    let uid = wl.meta().and_then(|m| m.uid.clone());
    let mut revs: Vec<Rev> = all
        .iter()
        .filter(|cr| {
            cr.metadata.owner_references.iter().flatten().any(|o| {
                o.kind == wl.kind
                    && o.name == wl.name
                    && (uid.is_none() || Some(&o.uid) == uid.as_ref())
            })
        })
        .map(|cr| Rev {
            number: cr.revision,
            holder: format!(
                "ControllerRevision {}",
                cr.metadata.name.as_deref().unwrap_or("?")
            ),
            at: cr
                .metadata
                .creation_timestamp
                .as_ref()
                .map_or(0, format::epoch),
            cause: None,
            template: template_of_data(cr.data.as_ref().map(|d| &d.0)),
        })
        .collect();
    revs.sort_by_key(|r| r.number);
    revs
}

fn rollout_lines(wl: &Workload, revs: &[Rev], w: &Window) -> Vec<Change> {
    let mut out = Vec::new();
    for (i, r) in revs.iter().enumerate() {
        if !w.contains(r.at) {
            continue;
        }
        let cause = r
            .cause
            .as_ref()
            .map(|c| format!("; change-cause {c:?}"))
            .unwrap_or_default();
        let summary = match i.checked_sub(1).and_then(|p| revs.get(p)) {
            Some(prev) => {
                let diff = match (&prev.template, &r.template) {
                    (Some(a), Some(b)) => template_diff(a, b),
                    _ => vec!["templates not readable".to_owned()],
                };
                let diff = if diff.is_empty() {
                    "no difference in the pod template".to_owned()
                } else {
                    diff.join("; ")
                };
                format!(
                    "rollout: revision {} -> {} ({}{cause}): {diff}",
                    prev.number, r.number, r.holder
                )
            }
            None => format!(
                "revision {} rolled out ({}{cause}); no earlier revision is kept to compare with",
                r.number, r.holder
            ),
        };
        out.push(Change::new(r.at, ChangeKind::Rollout, wl.label(), summary));
    }
    out
}

/// Replica changes written by a person or a tool (managed fields of `spec.replicas`), and
/// the HPAs of the scope: created, bounds changed, last rescale.
pub async fn scaling(client: &kube::Client, scope: &Scope, w: &Window) -> ToolResult<Vec<Change>> {
    let mut out = Vec::new();
    for wl in &scope.workloads {
        let Some(meta) = wl.meta() else { continue };
        for (at, e) in managed_in_window(meta.managed_fields.as_ref(), w) {
            if managed_paths(e).contains("spec.replicas") {
                let now = wl.replicas().map_or("?".to_owned(), |r| r.to_string());
                out.push(Change::new(
                    at,
                    ChangeKind::Scaling,
                    wl.label(),
                    format!("replicas written by {} (now {now})", manager_of(e)),
                ));
            }
        }
    }
    let hpas = Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), &scope.namespace)
        .list(&ListParams::default())
        .await?
        .items;
    for h in &hpas {
        out.extend(hpa_lines(h, scope, w));
    }
    Ok(out)
}

fn hpa_lines(h: &HorizontalPodAutoscaler, scope: &Scope, w: &Window) -> Vec<Change> {
    let Some(spec) = h.spec.as_ref() else {
        return Vec::new();
    };
    let target = format!(
        "{}/{}",
        spec.scale_target_ref.kind, spec.scale_target_ref.name
    );
    if scope.focused
        && !scope.workloads.iter().any(|wl| {
            wl.kind == spec.scale_target_ref.kind && wl.name == spec.scale_target_ref.name
        })
    {
        return Vec::new();
    }
    let object = format!(
        "HorizontalPodAutoscaler/{}",
        h.metadata.name.as_deref().unwrap_or("?")
    );
    let bounds = format!(
        "min {} max {}",
        spec.min_replicas.unwrap_or(1),
        spec.max_replicas
    );
    let mut out = Vec::new();
    let created = h.metadata.creation_timestamp.as_ref().map(format::epoch);
    if let Some(at) = created.filter(|at| w.contains(*at)) {
        out.push(Change::new(
            at,
            ChangeKind::Scaling,
            &object,
            format!("created for {target}: {bounds}"),
        ));
    }
    for (at, e) in managed_in_window(h.metadata.managed_fields.as_ref(), w) {
        let paths = managed_paths(e);
        let touched: Vec<&str> = [
            "spec.minReplicas",
            "spec.maxReplicas",
            "spec.metrics",
            "spec.behavior",
        ]
        .into_iter()
        .filter(|p| paths.iter().any(|x| x.starts_with(p)))
        .map(|p| p.trim_start_matches("spec."))
        .collect();
        if !touched.is_empty() && created.is_none_or(|c| at > c + 2) {
            out.push(Change::new(
                at,
                ChangeKind::Scaling,
                &object,
                format!(
                    "{} written by {} (now {bounds}, target {target})",
                    touched.join(", "),
                    manager_of(e)
                ),
            ));
        }
    }
    if let Some(st) = h.status.as_ref()
        && w.has(st.last_scale_time.as_ref())
    {
        let at = st.last_scale_time.as_ref().map_or(w.now, format::epoch);
        out.push(Change::new(
            at,
            ChangeKind::Scaling,
            &object,
            format!(
                "last rescale of {target}: {} -> {} desired replicas ({bounds})",
                st.current_replicas
                    .map_or("?".to_owned(), |c| c.to_string()),
                st.desired_replicas
            ),
        ));
    }
    out
}

/// ConfigMaps the scope's workloads use (every ConfigMap of the namespace when unfocused):
/// created, or data keys written, within the window. Values are never read out.
pub async fn config_maps(
    client: &kube::Client,
    scope: &Scope,
    w: &Window,
) -> ToolResult<Vec<Change>> {
    let maps = Api::<ConfigMap>::namespaced(client.clone(), &scope.namespace)
        .list(&ListParams::default())
        .await?
        .items;
    let mut out = Vec::new();
    for cm in &maps {
        let name = cm.metadata.name.clone().unwrap_or_default();
        let users = users_of(&name, &scope.workloads);
        if name == "kube-root-ca.crt" || (scope.focused && users.is_empty()) {
            continue;
        }
        let used = if users.is_empty() {
            String::new()
        } else {
            format!(" (used by {})", users.join(", "))
        };
        let object = format!("ConfigMap/{name}");
        let created = cm.metadata.creation_timestamp.as_ref().map(format::epoch);
        if let Some(at) = created.filter(|at| w.contains(*at)) {
            let keys: Vec<&String> = cm
                .data
                .iter()
                .flat_map(|d| d.keys())
                .chain(cm.binary_data.iter().flat_map(|d| d.keys()))
                .collect();
            out.push(Change::new(
                at,
                ChangeKind::Config,
                &object,
                format!("created with keys {}{used}", join(&keys)),
            ));
        }
        for (at, e) in managed_in_window(cm.metadata.managed_fields.as_ref(), w) {
            if created.is_some_and(|c| at <= c + 2) {
                continue;
            }
            let keys: Vec<String> = managed_paths(e)
                .into_iter()
                .filter_map(|p| {
                    p.strip_prefix("data.")
                        .or_else(|| p.strip_prefix("binaryData."))
                        .map(str::to_owned)
                })
                .collect();
            if !keys.is_empty() {
                out.push(Change::new(
                    at,
                    ChangeKind::Config,
                    &object,
                    format!(
                        "keys {} written by {} (values not shown){used}",
                        join(&keys),
                        manager_of(e)
                    ),
                ));
            }
        }
    }
    Ok(out)
}

fn join<T: AsRef<str>>(items: &[T]) -> String {
    if items.is_empty() {
        return "<none>".to_owned();
    }
    items
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The workloads whose pod template references ConfigMap `name` (env, envFrom, volumes).
fn users_of(name: &str, workloads: &[Workload]) -> Vec<String> {
    workloads
        .iter()
        .filter(|wl| {
            wl.template()
                .is_some_and(|t| config_maps_of(t).contains(name))
        })
        .map(Workload::label)
        .collect()
}

/// The ConfigMaps a pod template reads.
pub fn config_maps_of(t: &PodTemplateSpec) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(spec) = t.spec.as_ref() else {
        return out;
    };
    let containers = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten());
    for c in containers {
        for e in c.env_from.iter().flatten() {
            if let Some(r) = &e.config_map_ref {
                out.insert(r.name.clone());
            }
        }
        for e in c.env.iter().flatten() {
            if let Some(r) = e
                .value_from
                .as_ref()
                .and_then(|v| v.config_map_key_ref.as_ref())
            {
                out.insert(r.name.clone());
            }
        }
    }
    for v in spec.volumes.iter().flatten() {
        if let Some(cm) = &v.config_map {
            out.insert(cm.name.clone());
        }
        for s in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
            if let Some(cm) = &s.config_map {
                out.insert(cm.name.clone());
            }
        }
    }
    out
}
