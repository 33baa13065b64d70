//! The built-in list of common kinds (core and built-in groups in their preferred versions),
//! which answers most spellings without a discovery round trip.

use super::Candidate;

/// (group, version, kind, plural, singular, short names, namespaced)
type Known = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    bool,
);

/// Common kinds, as every conformant API server serves them: resolved without a discovery
/// round trip. Core and built-in groups only (which win over custom groups anyway), in
/// their preferred versions; Secrets are here so a refusal needs no round trip either.
const KNOWN: &[Known] = &[
    ("", "v1", "Pod", "pods", "pod", &["po"], true),
    ("", "v1", "Service", "services", "service", &["svc"], true),
    (
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        "configmap",
        &["cm"],
        true,
    ),
    ("", "v1", "Secret", "secrets", "secret", &[], true),
    (
        "",
        "v1",
        "Namespace",
        "namespaces",
        "namespace",
        &["ns"],
        false,
    ),
    ("", "v1", "Node", "nodes", "node", &["no"], false),
    ("", "v1", "Event", "events", "event", &["ev"], true),
    (
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        &["pvc"],
        true,
    ),
    (
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        "persistentvolume",
        &["pv"],
        false,
    ),
    (
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        &["sa"],
        true,
    ),
    (
        "",
        "v1",
        "Endpoints",
        "endpoints",
        "endpoints",
        &["ep"],
        true,
    ),
    (
        "apps",
        "v1",
        "Deployment",
        "deployments",
        "deployment",
        &["deploy"],
        true,
    ),
    (
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        "replicaset",
        &["rs"],
        true,
    ),
    (
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        "statefulset",
        &["sts"],
        true,
    ),
    (
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        "daemonset",
        &["ds"],
        true,
    ),
    ("batch", "v1", "Job", "jobs", "job", &[], true),
    (
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        "cronjob",
        &["cj"],
        true,
    ),
    (
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        &["hpa"],
        true,
    ),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        &["pdb"],
        true,
    ),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        "networkpolicy",
        &["netpol"],
        true,
    ),
    (
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        "ingress",
        &["ing"],
        true,
    ),
];

/// The built-in list of common kinds, as candidates.
pub fn known() -> Vec<Candidate> {
    KNOWN
        .iter()
        .map(
            |(group, version, kind, plural, singular, short, namespaced)| Candidate {
                group: (*group).to_owned(),
                version: (*version).to_owned(),
                kind: (*kind).to_owned(),
                plural: (*plural).to_owned(),
                singular: (*singular).to_owned(),
                short_names: short.iter().map(|s| (*s).to_owned()).collect(),
                namespaced: *namespaced,
                preferred: true,
            },
        )
        .collect()
}
