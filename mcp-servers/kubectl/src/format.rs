//! Reading Kubernetes objects the way `kubectl` shows them: pod status, readiness,
//! restarts, last termination, quantities and ages; and the output budget of list-style tools.

use k8s_openapi::api::core::v1::{ContainerStatus, Node, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::Serialize;
use sopilot_mcp_common::age;

/// Output budget of list-style tools.
pub const LIST_BYTES: usize = 24 * 1024;

/// Now, in epoch seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Epoch seconds of an API time.
pub fn epoch(t: &Time) -> i64 {
    t.0.as_second()
}

/// Seconds since `t`, for ages.
pub fn since(t: Option<&Time>, now: i64) -> Option<i64> {
    t.map(|t| now - epoch(t))
}

/// A Kubernetes-style age, or `<unknown>`.
pub fn age_of(t: Option<&Time>, now: i64) -> String {
    since(t, now).map_or_else(|| "<unknown>".to_owned(), age)
}

/// A parsed quantity: CPU in cores, memory in bytes.
pub fn quantity(q: &Quantity) -> Option<f64> {
    parse_quantity(&q.0)
}

/// Parses `250m`, `1.5`, `512Mi`, `1G`, `100k`, `2e3`.
pub fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let suffixes: [(&str, f64); 15] = [
        ("Ki", 1024.0),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("Pi", 1024f64.powi(5)),
        ("Ei", 1024f64.powi(6)),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    for (suffix, factor) in suffixes {
        if let Some(number) = s.strip_suffix(suffix) {
            return number.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    s.parse::<f64>().ok()
}

/// `512Mi` style memory.
pub fn mib(bytes: f64) -> String {
    format!("{:.0}Mi", bytes / 1024.0 / 1024.0)
}

/// `250m` style CPU.
pub fn millicores(cores: f64) -> String {
    format!("{:.0}m", cores * 1000.0)
}

/// The last termination of a container: reason and exit code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Termination {
    pub reason: String,
    pub exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// What an operator reads first about a pod.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodSummary {
    pub namespace: String,
    pub name: String,
    /// `ready/total` containers.
    pub ready: String,
    pub ready_containers: usize,
    pub containers: usize,
    /// What `kubectl get pods` shows in STATUS.
    pub status: String,
    pub phase: String,
    pub restarts: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_termination: Option<Termination>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub age_seconds: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

fn statuses(pod: &Pod) -> &[ContainerStatus] {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or(&[])
}

/// The termination to report: that of the container with the most restarts.
pub fn last_termination(pod: &Pod) -> Option<Termination> {
    statuses(pod)
        .iter()
        .filter_map(|c| {
            let t = c
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .or_else(|| c.state.as_ref().and_then(|s| s.terminated.as_ref()))?;
            Some((c.restart_count, t))
        })
        .max_by_key(|(restarts, _)| *restarts)
        .map(|(_, t)| Termination {
            reason: t.reason.clone().unwrap_or_else(|| "Error".to_owned()),
            exit_code: t.exit_code,
            finished_at: t.finished_at.as_ref().map(|f| f.0.to_string()),
        })
}

/// The first waiting reason of any container (CrashLoopBackOff, ImagePullBackOff, ...).
pub fn waiting_reason(pod: &Pod) -> Option<String> {
    statuses(pod)
        .iter()
        .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
}

/// Total restarts over all containers, as `kubectl get pods` counts them.
pub fn restarts(pod: &Pod) -> i32 {
    statuses(pod).iter().map(|c| c.restart_count).sum()
}

/// Whether every container is ready (and there is at least one).
pub fn is_ready(pod: &Pod) -> bool {
    let s = statuses(pod);
    !s.is_empty() && s.iter().all(|c| c.ready)
}

/// The STATUS column of `kubectl get pods`.
pub fn status_text(pod: &Pod) -> String {
    if pod.metadata.deletion_timestamp.is_some() {
        return "Terminating".to_owned();
    }
    let st = pod.status.as_ref();
    if let Some(reason) = st.and_then(|s| s.reason.clone()) {
        return reason;
    }
    for c in statuses(pod) {
        let state = c.state.as_ref();
        if let Some(w) = state
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.clone())
        {
            return w;
        }
        if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
            return t
                .reason
                .clone()
                .unwrap_or_else(|| format!("ExitCode:{}", t.exit_code));
        }
    }
    st.and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Unknown".to_owned())
}

/// The pod's controller, as `Kind/name`.
pub fn owner(pod: &Pod) -> Option<String> {
    pod.metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true))
        .or_else(|| pod.metadata.owner_references.as_ref()?.first())
        .map(|o| format!("{}/{}", o.kind, o.name))
}

/// Summarises a pod.
pub fn summarize(pod: &Pod, now: i64) -> PodSummary {
    let s = statuses(pod);
    let ready_containers = s.iter().filter(|c| c.ready).count();
    let containers = pod.spec.as_ref().map_or(s.len(), |sp| sp.containers.len());
    PodSummary {
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone().unwrap_or_default(),
        ready: format!("{ready_containers}/{containers}"),
        ready_containers,
        containers,
        status: status_text(pod),
        phase: pod
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default(),
        restarts: restarts(pod),
        waiting_reason: waiting_reason(pod),
        last_termination: last_termination(pod),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        age_seconds: since(pod.metadata.creation_timestamp.as_ref(), now).unwrap_or(0),
        owner: owner(pod),
    }
}

/// Node conditions that are not healthy: pressure conditions that are True, Ready not True.
pub fn abnormal_conditions(node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    for c in node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or(&[])
    {
        match (c.type_.as_str(), c.status.as_str()) {
            ("Ready", "True") => {}
            ("Ready", _) => out.push("NotReady".to_owned()),
            (t, "True") => out.push(t.to_owned()),
            _ => {}
        }
    }
    out
}

/// `Ready`, `NotReady`, plus `SchedulingDisabled` when cordoned.
pub fn node_status(node: &Node) -> String {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True");
    let mut s = if ready {
        "Ready".to_owned()
    } else {
        "NotReady".to_owned()
    };
    if node.spec.as_ref().and_then(|sp| sp.unschedulable) == Some(true) {
        s.push_str(",SchedulingDisabled");
    }
    s
}

/// `ready` in a short, comparable form for tables: `LAST-EXIT` like `OOMKilled(137)`.
pub fn termination_text(t: Option<&Termination>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| format!("{}({})", t.reason, t.exit_code),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("250m"), Some(0.25));
        assert_eq!(parse_quantity("512Mi"), Some(512.0 * 1024.0 * 1024.0));
        assert_eq!(parse_quantity("1"), Some(1.0));
        assert_eq!(parse_quantity("1.5Gi"), Some(1.5 * 1024f64.powi(3)));
        assert_eq!(parse_quantity("100k"), Some(100_000.0));
        assert_eq!(parse_quantity("abc"), None);
        assert_eq!(mib(536_870_912.0), "512Mi");
        assert_eq!(millicores(0.94), "940m");
    }
}
