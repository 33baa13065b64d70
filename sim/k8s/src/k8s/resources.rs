//! The resource types the simulated API serves, and how discovery describes them.

/// One subresource of a resource type (`pods/log`, `deployments/scale`, ...).
#[derive(Debug, Clone, Copy)]
pub struct Subresource {
    pub name: &'static str,
    /// Group, version and kind of the subresource's body when it differs from the parent.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

/// One resource type: where it is served, what it is called, what may be done to it.
#[derive(Debug, Clone, Copy)]
pub struct ResourceType {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    pub subresources: &'static [Subresource],
    /// The store objects live in. Two views of one store (core and events.k8s.io events)
    /// share it; virtual resources (metrics) have none.
    pub storage: Storage,
}

/// Where a resource type's objects live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Stored under this key, in the resource's own shape.
    Own(&'static str),
    /// Stored under this key in another version's shape, converted on the way in and out
    /// (one store, two API views, as in the real API server).
    Converted(&'static str, View),
    /// Computed from the scenario's metrics; read-only.
    Metrics,
}

/// An API version served by conversion from the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// events.k8s.io/v1 Events over core/v1 Events.
    EventsV1,
    /// autoscaling/v1 HorizontalPodAutoscalers over autoscaling/v2 ones.
    AutoscalingV1,
}

const RW: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const READ: &[&str] = &["get", "list"];
const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

const fn status(kind: &'static str) -> Subresource {
    Subresource {
        name: "status",
        group: "",
        version: "",
        kind,
        verbs: STATUS_VERBS,
    }
}

const fn scale() -> Subresource {
    Subresource {
        name: "scale",
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
        verbs: STATUS_VERBS,
    }
}

#[allow(clippy::too_many_arguments)]
const fn rt(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    subresources: &'static [Subresource],
) -> ResourceType {
    ResourceType {
        group,
        version,
        plural,
        singular,
        kind,
        namespaced,
        short_names,
        categories,
        verbs: RW,
        subresources,
        storage: Storage::Own(plural),
    }
}

const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];

/// Every resource type served, in discovery order.
pub static RESOURCES: &[ResourceType] = &[
    rt(
        "",
        "v1",
        "pods",
        "pod",
        "Pod",
        true,
        &["po"],
        ALL,
        &[
            status("Pod"),
            Subresource {
                name: "log",
                group: "",
                version: "",
                kind: "Pod",
                verbs: &["get"],
            },
            Subresource {
                name: "eviction",
                group: "policy",
                version: "v1",
                kind: "Eviction",
                verbs: &["create"],
            },
        ],
    ),
    rt(
        "",
        "v1",
        "nodes",
        "node",
        "Node",
        false,
        &["no"],
        NONE,
        &[status("Node")],
    ),
    rt(
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        &["ns"],
        NONE,
        &[status("Namespace")],
    ),
    rt(
        "",
        "v1",
        "services",
        "service",
        "Service",
        true,
        &["svc"],
        ALL,
        &[status("Service")],
    ),
    rt(
        "",
        "v1",
        "endpoints",
        "endpoints",
        "Endpoints",
        true,
        &["ep"],
        NONE,
        &[],
    ),
    rt(
        "",
        "v1",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        &["cm"],
        NONE,
        &[],
    ),
    rt(
        "",
        "v1",
        "secrets",
        "secret",
        "Secret",
        true,
        &[],
        NONE,
        &[],
    ),
    rt(
        "",
        "v1",
        "events",
        "event",
        "Event",
        true,
        &["ev"],
        NONE,
        &[],
    ),
    rt(
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        &["sa"],
        NONE,
        &[Subresource {
            name: "token",
            group: "authentication.k8s.io",
            version: "v1",
            kind: "TokenRequest",
            verbs: &["create"],
        }],
    ),
    rt(
        "",
        "v1",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        true,
        &["pvc"],
        NONE,
        &[status("PersistentVolumeClaim")],
    ),
    rt(
        "",
        "v1",
        "persistentvolumes",
        "persistentvolume",
        "PersistentVolume",
        false,
        &["pv"],
        NONE,
        &[status("PersistentVolume")],
    ),
    rt(
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        true,
        &["deploy"],
        ALL,
        &[status("Deployment"), scale()],
    ),
    rt(
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        true,
        &["rs"],
        ALL,
        &[status("ReplicaSet"), scale()],
    ),
    rt(
        "apps",
        "v1",
        "statefulsets",
        "statefulset",
        "StatefulSet",
        true,
        &["sts"],
        ALL,
        &[status("StatefulSet"), scale()],
    ),
    rt(
        "apps",
        "v1",
        "daemonsets",
        "daemonset",
        "DaemonSet",
        true,
        &["ds"],
        ALL,
        &[status("DaemonSet")],
    ),
    rt(
        "apps",
        "v1",
        "controllerrevisions",
        "controllerrevision",
        "ControllerRevision",
        true,
        &[],
        NONE,
        &[],
    ),
    rt(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        "PodDisruptionBudget",
        true,
        &["pdb"],
        NONE,
        &[status("PodDisruptionBudget")],
    ),
    rt(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        "HorizontalPodAutoscaler",
        true,
        &["hpa"],
        ALL,
        &[status("HorizontalPodAutoscaler")],
    ),
    ResourceType {
        storage: Storage::Converted("horizontalpodautoscalers", View::AutoscalingV1),
        ..rt(
            "autoscaling",
            "v1",
            "horizontalpodautoscalers",
            "horizontalpodautoscaler",
            "HorizontalPodAutoscaler",
            true,
            &["hpa"],
            ALL,
            &[status("HorizontalPodAutoscaler")],
        )
    },
    rt(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "networkpolicy",
        "NetworkPolicy",
        true,
        &["netpol"],
        NONE,
        &[],
    ),
    rt(
        "networking.k8s.io",
        "v1",
        "ingresses",
        "ingress",
        "Ingress",
        true,
        &["ing"],
        NONE,
        &[status("Ingress")],
    ),
    rt(
        "batch",
        "v1",
        "jobs",
        "job",
        "Job",
        true,
        &[],
        ALL,
        &[status("Job")],
    ),
    rt(
        "batch",
        "v1",
        "cronjobs",
        "cronjob",
        "CronJob",
        true,
        &["cj"],
        ALL,
        &[status("CronJob")],
    ),
    rt(
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "endpointslice",
        "EndpointSlice",
        true,
        &[],
        NONE,
        &[],
    ),
    rt(
        "coordination.k8s.io",
        "v1",
        "leases",
        "lease",
        "Lease",
        true,
        &[],
        NONE,
        &[],
    ),
    // The Prometheus operator's custom resource, as if its CRD were installed.
    rt(
        "monitoring.coreos.com",
        "v1",
        "servicemonitors",
        "servicemonitor",
        "ServiceMonitor",
        true,
        &["smon"],
        &["prometheus-operator"],
        &[],
    ),
    rt(
        "scheduling.k8s.io",
        "v1",
        "priorityclasses",
        "priorityclass",
        "PriorityClass",
        false,
        &["pc"],
        NONE,
        &[],
    ),
    // Karpenter's custom resources, as if its CRDs were installed (karpenter.sh/v1 and the
    // AWS provider's karpenter.k8s.aws/v1); see controllers::karpenter.
    rt(
        "karpenter.sh",
        "v1",
        "nodepools",
        "nodepool",
        "NodePool",
        false,
        &[],
        &["karpenter"],
        &[status("NodePool")],
    ),
    rt(
        "karpenter.sh",
        "v1",
        "nodeclaims",
        "nodeclaim",
        "NodeClaim",
        false,
        &[],
        &["karpenter"],
        &[status("NodeClaim")],
    ),
    rt(
        "karpenter.k8s.aws",
        "v1",
        "ec2nodeclasses",
        "ec2nodeclass",
        "EC2NodeClass",
        false,
        &["ec2nc", "ec2ncs"],
        &["karpenter"],
        &[status("EC2NodeClass")],
    ),
    rt(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        false,
        &[],
        NONE,
        &[],
    ),
    rt(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "clusterrole",
        "ClusterRole",
        false,
        &[],
        NONE,
        &[],
    ),
    rt(
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        true,
        &[],
        NONE,
        &[],
    ),
    rt(
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "role",
        "Role",
        true,
        &[],
        NONE,
        &[],
    ),
    ResourceType {
        storage: Storage::Converted("events", View::EventsV1),
        ..rt(
            "events.k8s.io",
            "v1",
            "events",
            "event",
            "Event",
            true,
            &["ev"],
            NONE,
            &[],
        )
    },
    ResourceType {
        verbs: READ,
        storage: Storage::Metrics,
        ..rt(
            "metrics.k8s.io",
            "v1beta1",
            "pods",
            "",
            "PodMetrics",
            true,
            &[],
            NONE,
            &[],
        )
    },
    ResourceType {
        verbs: READ,
        storage: Storage::Metrics,
        ..rt(
            "metrics.k8s.io",
            "v1beta1",
            "nodes",
            "",
            "NodeMetrics",
            false,
            &[],
            NONE,
            &[],
        )
    },
];

impl ResourceType {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The storage key of a stored type (`None` for virtual ones).
    pub fn store_key(&self) -> Option<&'static str> {
        match self.storage {
            Storage::Own(key) | Storage::Converted(key, _) => Some(key),
            Storage::Metrics => None,
        }
    }

    pub fn subresource(&self, name: &str) -> Option<&'static Subresource> {
        // The table is 'static, so look the subresource up there rather than in `self`.
        find(self.group, self.version, self.plural)
            .and_then(|rt| rt.subresources.iter().find(|s| s.name == name))
    }
}

/// The resource type served at `group/version/plural`.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The stored resource type for an `apiVersion` + `kind` pair (what a manifest names).
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static ResourceType> {
    let (group, version) = split_api_version(api_version);
    RESOURCES.iter().find(|r| {
        r.group == group && r.version == version && r.kind == kind && r.storage != Storage::Metrics
    })
}

/// The stored resource type a person means by `name`: a kind (`Deployment`), a plural
/// (`deployments`), a singular or a short name (`deploy`), case-insensitive; the stored
/// version wins over converted views.
pub fn lookup(name: &str) -> Option<&'static ResourceType> {
    let name = name.to_ascii_lowercase();
    RESOURCES.iter().find(|r| {
        matches!(r.storage, Storage::Own(_))
            && (r.kind.to_ascii_lowercase() == name
                || r.plural == name
                || r.singular == name
                || r.short_names.contains(&name.as_str()))
    })
}

/// `apps/v1` → (`apps`, `v1`); `v1` → (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// The group versions served, in discovery order (a group's preferred version first).
pub fn groups() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in RESOURCES {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(lookup("deploy").map(|r| r.kind), Some("Deployment"));
        assert_eq!(lookup("Pod").map(|r| r.plural), Some("pods"));
        assert_eq!(lookup("ev").map(|r| r.group), Some(""));
        assert_eq!(lookup("pdb").map(|r| r.group), Some("policy"));
        assert!(lookup("nothing").is_none());
        assert_eq!(
            by_kind("events.k8s.io/v1", "Event").map(|r| r.storage),
            Some(Storage::Converted("events", View::EventsV1))
        );
        assert_eq!(lookup("hpa").map(|r| r.version), Some("v2"));
        assert_eq!(
            find("apps", "v1", "deployments")
                .and_then(|r| r.subresource("scale"))
                .map(|s| s.kind),
            Some("Scale")
        );
    }
}
