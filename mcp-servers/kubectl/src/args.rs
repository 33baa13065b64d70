//! Tool arguments. The doc comments become the JSON Schema the model reads: they are prompt
//! text, written for a model and an SRE.

use schemars::JsonSchema;
use serde::Deserialize;

/// Arguments of `list_pods`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPods {
    /// Namespace to list. Required unless all_namespaces is true.
    pub namespace: Option<String>,
    /// List the pods of every namespace.
    #[serde(default)]
    pub all_namespaces: bool,
    /// Label selector, e.g. "app=payment-service" or "tier in (web,api)".
    pub label_selector: Option<String>,
    /// Field selector, e.g. "spec.nodeName=ip-10-0-1-45" or "status.phase!=Running".
    pub field_selector: Option<String>,
    /// Keep only pods whose phase, status, waiting reason or last termination reason equals
    /// this (case-insensitive), e.g. "CrashLoopBackOff", "OOMKilled", "Pending"; "NotReady"
    /// keeps pods with an unready container.
    pub status: Option<String>,
}

/// A namespaced object named by namespace and name.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Named {
    /// Namespace of the object.
    pub namespace: String,
    /// Name of the object.
    pub name: String,
}

/// Arguments of `pod_logs`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PodLogs {
    /// Namespace of the pod.
    pub namespace: String,
    /// Name of the pod.
    pub name: String,
    /// Container name; required when the pod has several containers.
    pub container: Option<String>,
    /// Logs of the previous (crashed) container instead of the running one.
    #[serde(default)]
    pub previous: bool,
    /// Only the last N lines (default 200).
    pub tail_lines: Option<i64>,
    /// Only lines from the last N seconds.
    pub since_seconds: Option<i64>,
    /// Keep only lines matching this case-insensitive regular expression, e.g. "error|exception".
    pub grep: Option<String>,
}

/// Arguments of `list_events`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListEvents {
    /// Namespace; omit for every namespace.
    pub namespace: Option<String>,
    /// Only events about this object: "NAME" or "KIND/NAME", e.g. "Pod/payment-7d8f-xyz"
    /// (KIND is any resource spelling, e.g. "deploy/payment-service").
    pub involved_object: Option<String>,
    /// Only events with this reason, e.g. "BackOff", "OOMKilling", "FailedScheduling".
    pub reason: Option<String>,
    /// Only events seen in the last N seconds.
    pub since_seconds: Option<i64>,
}

/// Arguments of `list_nodes`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListNodes {
    /// Label selector, e.g. "topology.kubernetes.io/zone=ap-northeast-2a".
    pub label_selector: Option<String>,
}

/// Arguments of `describe_node`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeName {
    /// Name of the node, e.g. "ip-10-0-1-45".
    pub node: String,
}

/// Arguments of `cordon` and `uncordon`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeArg {
    /// Name of the node, e.g. "ip-10-0-1-45".
    pub node: String,
    /// Report the impact without changing anything (server-side dry run).
    #[serde(default)]
    pub dry_run: bool,
}

/// Arguments of `top_pods`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopPods {
    /// Namespace. Required unless all_namespaces is true.
    pub namespace: Option<String>,
    /// Every namespace.
    #[serde(default)]
    pub all_namespaces: bool,
    /// Label selector, e.g. "app=payment-service".
    pub label_selector: Option<String>,
    /// Sort by "cpu" or "memory" (default memory), highest first.
    pub sort_by: Option<String>,
}

/// Arguments of `top_nodes`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopNodes {
    /// Only nodes whose CPU use is at least this percent of allocatable, e.g. 80.
    pub cpu_threshold_percent: Option<f64>,
    /// Only nodes whose memory use is at least this percent of allocatable.
    pub memory_threshold_percent: Option<f64>,
}

/// Arguments of `oom_killed_pods`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OomPods {
    /// Namespace; omit to search every namespace.
    pub namespace: Option<String>,
}

/// Arguments of `resolve_resource`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveResource {
    /// The resource spelling to resolve: a kind, plural, singular or short name ("deploy",
    /// "Deployment", "hpa"), optionally qualified as NAME.GROUP ("deployments.apps"),
    /// NAME.VERSION.GROUP ("deployments.v1.apps"), NAME.VERSION for the core group
    /// ("pods.v1"), GROUP/VERSION/KIND ("apps/v1/Deployment") or VERSION/KIND ("v1/Pod").
    pub kind: String,
}

/// Arguments of `get_resource`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetResource {
    /// Kind, plural or short name: "Service", "configmaps", "pdb", "hpa", "netpol", a custom
    /// resource's kind; qualify it when a name exists in several groups
    /// ("widgets.v1.example.com", "apps/v1/Deployment"). Secrets are refused.
    pub kind: String,
    /// Namespace (for namespaced kinds); omit to list every namespace.
    pub namespace: Option<String>,
    /// Name of one object; omit to list.
    pub name: Option<String>,
    /// Label selector when listing.
    pub label_selector: Option<String>,
}

/// Arguments of `check_network_policy`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckNetworkPolicy {
    /// Namespace of the source pod.
    pub source_namespace: String,
    /// The source pod's name (its labels are what policies match).
    pub source_pod: String,
    /// Namespace of the destination; defaults to the source's.
    pub destination_namespace: Option<String>,
    /// The destination Service (its selector finds the destination pods).
    pub destination_service: Option<String>,
    /// Or the destination pod, when there is no Service.
    pub destination_pod: Option<String>,
    /// Destination port number or name, e.g. 5432; omit to consider any port.
    pub port: Option<String>,
}

/// Arguments of `recent_changes`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecentChanges {
    /// Namespace to look at, e.g. "payment".
    pub namespace: String,
    /// Only this workload: "NAME" (a Deployment), "KIND/NAME" ("deploy/payment-service",
    /// "sts/postgres", "ds/fluent-bit") or "pod/NAME" (the pod's owning workload). Omit for
    /// every workload, HPA and ConfigMap of the namespace.
    pub workload: Option<String>,
    /// How far back to look, in minutes (default 120, at most 10080 = 7 days).
    pub since_minutes: Option<i64>,
}

/// Arguments of `delete_pod`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletePod {
    /// Namespace of the pod.
    pub namespace: String,
    /// Name of the pod. Its controller (ReplicaSet, StatefulSet) recreates it.
    pub name: String,
    /// Report the impact without deleting (server-side dry run).
    #[serde(default)]
    pub dry_run: bool,
}

/// Arguments of `rollout_restart`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutRestart {
    /// Namespace of the workload.
    pub namespace: String,
    /// Name of the workload.
    pub name: String,
    /// "Deployment" (default), "StatefulSet" or "DaemonSet" (any spelling that resolves to
    /// one of them, e.g. "sts", "apps/v1/DaemonSet").
    pub kind: Option<String>,
    /// Report the impact without restarting (server-side dry run).
    #[serde(default)]
    pub dry_run: bool,
}

/// Arguments of `rollout_undo`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutUndo {
    /// Namespace of the Deployment.
    pub namespace: String,
    /// Name of the Deployment.
    pub name: String,
    /// Revision to roll back to (see rollout_history); default: the previous revision. A dry
    /// run returns the revision it assessed as pin.to_revision: pass it here on the real call.
    pub to_revision: Option<i64>,
    /// Report the impact without rolling back (server-side dry run).
    #[serde(default)]
    pub dry_run: bool,
}

/// Arguments of `scale`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    /// "Deployment" or "StatefulSet" (any spelling that resolves to one of them, e.g.
    /// "deploy", "statefulsets.v1.apps").
    pub kind: String,
    /// Namespace of the workload.
    pub namespace: String,
    /// Name of the workload.
    pub name: String,
    /// The desired number of replicas.
    pub replicas: i32,
    /// Report the impact without scaling (server-side dry run).
    #[serde(default)]
    pub dry_run: bool,
}

/// Arguments of `patch_hpa`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchHpa {
    /// Namespace of the HorizontalPodAutoscaler.
    pub namespace: String,
    /// Name of the HorizontalPodAutoscaler.
    pub name: String,
    /// New minReplicas; omit to keep it.
    pub min_replicas: Option<i32>,
    /// New maxReplicas; omit to keep it.
    pub max_replicas: Option<i32>,
    /// Report the impact without patching (server-side dry run).
    #[serde(default)]
    pub dry_run: bool,
}

/// Arguments of `drain`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Drain {
    /// Name of the node to drain.
    pub node: String,
    /// Report the impact (pods to evict, their PDBs) without cordoning or evicting.
    #[serde(default)]
    pub dry_run: bool,
    /// Give up after this many seconds of PodDisruptionBudget refusals (default 60).
    pub timeout_seconds: Option<u64>,
}
