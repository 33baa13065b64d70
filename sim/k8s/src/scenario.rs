//! The `kubernetes` section of a scenario file: the cluster the simulator starts with
//! (manifests, container logs, `kubectl top` numbers). The file itself, with its other
//! sections, is `sopilot-sim-env`'s. Errors name the line of the offending key or value.

use std::collections::BTreeSet;

use serde_json::Value;
use sopilot_yaml::{Node, NodeValue};

use crate::k8s::pods::CrashMode;
use crate::k8s::resources;
use crate::{K8sSimError, quantity, time};

/// The `kubernetes` section.
#[derive(Debug, Clone, Default)]
pub struct KubernetesScenario {
    /// Manifests, in file order. Relative times are resolved when the simulator starts.
    pub objects: Vec<ScenarioObject>,
    /// Container logs, current and previous.
    pub logs: Vec<LogSource>,
    /// `kubectl top` numbers.
    pub metrics: Metrics,
    /// The simulated Karpenter's settings (`karpenter:`); it runs once a NodePool exists.
    pub karpenter: KarpenterSettings,
}

/// The simulated Karpenter's settings (`kubernetes.karpenter` in a scenario).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KarpenterSettings {
    /// From a NodeClaim's launch to its node Ready (`node_startup: 60s`, the default).
    pub node_startup: chrono::Duration,
}

impl Default for KarpenterSettings {
    fn default() -> Self {
        KarpenterSettings {
            node_startup: chrono::Duration::seconds(60),
        }
    }
}

/// One manifest and the line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioObject {
    /// 1-based line of the manifest in the scenario file.
    pub line: usize,
    /// The manifest as written (relative times unresolved).
    pub object: Value,
}

/// The log text of one container (or of every pod whose name matches a `*` pattern).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSource {
    /// The pod's namespace.
    pub namespace: String,
    /// A pod name; `*` matches any run of characters.
    pub pod: String,
    /// The container's name.
    pub container: String,
    /// Whether this is the previous (terminated) instance's log.
    pub previous: bool,
    /// The log lines.
    pub text: String,
}

/// Resource usage of one container or node, as quantities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// CPU in cores (`250m`, `1.5`).
    pub cpu: String,
    /// Memory in bytes (`512Mi`).
    pub memory: String,
}

/// Metrics served by `metrics.k8s.io`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Per pod (name may hold `*`), per container.
    pub pods: Vec<PodMetricsSource>,
    /// Per node.
    pub nodes: Vec<(String, Usage)>,
}

/// The usage of the containers of the pods a pattern names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodMetricsSource {
    /// The pods' namespace.
    pub namespace: String,
    /// A pod name; `*` matches any run of characters.
    pub pod: String,
    /// Usage per container name.
    pub containers: Vec<(String, Usage)>,
}

const KUBERNETES_KEYS: &[&str] = &["objects", "logs", "previous_logs", "metrics", "karpenter"];

impl KubernetesScenario {
    /// Parses the `kubernetes` section of a scenario file (errors name the line).
    pub fn from_node(node: &Node) -> Result<Self, K8sSimError> {
        kubernetes(node)
    }
}

fn entries<'a>(node: &'a Node, what: &str) -> Result<&'a [(sopilot_yaml::Key, Node)], K8sSimError> {
    match &node.value {
        NodeValue::Map(entries) => Ok(entries),
        NodeValue::Null => Ok(&[]),
        _ => Err(K8sSimError::scenario(
            node.line,
            format!("`{what}` must be a mapping"),
        )),
    }
}

fn string<'a>(node: &'a Node, what: &str) -> Result<&'a str, K8sSimError> {
    match &node.value {
        NodeValue::Str(s) => Ok(s),
        _ => Err(K8sSimError::scenario(
            node.line,
            format!("`{what}` must be a string"),
        )),
    }
}

fn kubernetes(node: &Node) -> Result<KubernetesScenario, K8sSimError> {
    let mut out = KubernetesScenario::default();
    for (key, value) in entries(node, "kubernetes")? {
        match key.name.as_str() {
            "objects" => out.objects = objects(value)?,
            "logs" => out.logs.extend(logs(value, false)?),
            "previous_logs" => out.logs.extend(logs(value, true)?),
            "metrics" => out.metrics = metrics(value)?,
            "karpenter" => out.karpenter = karpenter(value)?,
            other => {
                return Err(K8sSimError::scenario(
                    key.line,
                    format!(
                        "unknown key `kubernetes.{other}`; expected one of: {}",
                        KUBERNETES_KEYS.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// `karpenter: {node_startup: 90s}`.
fn karpenter(node: &Node) -> Result<KarpenterSettings, K8sSimError> {
    let mut out = KarpenterSettings::default();
    for (key, value) in entries(node, "kubernetes.karpenter")? {
        match key.name.as_str() {
            "node_startup" => {
                let text = string(value, "kubernetes.karpenter.node_startup")?;
                out.node_startup = crate::time::parse_relative(&format!("+{text}"))
                    .filter(|d| *d >= chrono::Duration::zero())
                    .ok_or_else(|| {
                        K8sSimError::scenario(
                            value.line,
                            format!("`node_startup: {text}` is not a duration; write e.g. 45s, 2m or 1m30s"),
                        )
                    })?;
            }
            other => {
                return Err(K8sSimError::scenario(
                    key.line,
                    format!("unknown key `kubernetes.karpenter.{other}`; expected: node_startup"),
                ));
            }
        }
    }
    Ok(out)
}

fn objects(node: &Node) -> Result<Vec<ScenarioObject>, K8sSimError> {
    let items = match &node.value {
        NodeValue::Seq(items) => items.as_slice(),
        NodeValue::Null => &[],
        _ => {
            return Err(K8sSimError::scenario(
                node.line,
                "`kubernetes.objects` must be a list of manifests",
            ));
        }
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let object = manifest(item)?;
        let id = (
            object["apiVersion"].to_string(),
            object["kind"].to_string(),
            object["metadata"]["namespace"].to_string(),
            object["metadata"]["name"].to_string(),
        );
        if !seen.insert(id) {
            return Err(K8sSimError::scenario(
                item.line,
                format!(
                    "{} {:?} is listed twice",
                    object["kind"].as_str().unwrap_or(""),
                    object["metadata"]["name"].as_str().unwrap_or("")
                ),
            ));
        }
        out.push(ScenarioObject {
            line: item.line,
            object,
        });
    }
    Ok(out)
}

/// Checks one manifest: a mapping with a known `apiVersion`/`kind` and a name.
fn manifest(item: &Node) -> Result<Value, K8sSimError> {
    if !item.is_map() {
        return Err(K8sSimError::scenario(
            item.line,
            "an object must be a mapping",
        ));
    }
    let field = |name: &str| -> Result<&str, K8sSimError> {
        match item.get(name) {
            Some(n) => string(n, name),
            None => Err(K8sSimError::scenario(
                item.line,
                format!("object without `{name}`"),
            )),
        }
    };
    let api_version = field("apiVersion")?;
    let kind = field("kind")?;
    let Some(rt) = resources::by_kind(api_version, kind) else {
        return Err(K8sSimError::scenario(
            item.line,
            format!("the simulator does not serve kind {kind} in {api_version}"),
        ));
    };
    let metadata = item.get("metadata").filter(|m| m.is_map()).ok_or_else(|| {
        K8sSimError::scenario(item.line, format!("{kind} without a `metadata` mapping"))
    })?;
    let name = metadata.get("name").ok_or_else(|| {
        K8sSimError::scenario(metadata.line, format!("{kind} without `metadata.name`"))
    })?;
    if string(name, "metadata.name")?.is_empty() {
        return Err(K8sSimError::scenario(name.line, "`metadata.name` is empty"));
    }
    let namespace = metadata.get("namespace");
    if let Some(ns) = namespace {
        string(ns, "metadata.namespace")?;
        if !rt.namespaced {
            return Err(K8sSimError::scenario(
                ns.line,
                format!("{kind} is cluster-scoped and takes no namespace"),
            ));
        }
    }
    check_times(item)?;
    check_crash_annotations(item)?;
    let mut object = item.to_json();
    if rt.namespaced && namespace.is_none() {
        crate::k8s::obj::set(
            &mut object,
            &["metadata", "namespace"],
            Value::from("default"),
        );
    }
    Ok(object)
}

/// Refuses relative times that do not parse (`-5x`), pointing at their line.
fn check_times(node: &Node) -> Result<(), K8sSimError> {
    match &node.value {
        NodeValue::Map(entries) => {
            for (key, value) in entries {
                if time::is_time_key(&key.name)
                    && let NodeValue::Str(text) = &value.value
                    && (text.starts_with('-') || text.starts_with('+') || text == "now")
                    && time::parse_relative(text).is_none()
                {
                    return Err(K8sSimError::scenario(
                        value.line,
                        format!(
                            "`{}`: {text:?} is not a relative time (write e.g. `-5m`, `-2h30m`, `-1d`, `now`)",
                            key.name
                        ),
                    ));
                }
                check_times(value)?;
            }
            Ok(())
        }
        NodeValue::Seq(items) => items.iter().try_for_each(check_times),
        NodeValue::Null
        | NodeValue::Bool(_)
        | NodeValue::Int(_)
        | NodeValue::Float(_)
        | NodeValue::Str(_) => Ok(()),
    }
}

/// Refuses a crash annotation with an unknown mode anywhere in the manifest.
fn check_crash_annotations(node: &Node) -> Result<(), K8sSimError> {
    match &node.value {
        NodeValue::Map(entries) => {
            for (key, value) in entries {
                if key.name == crate::k8s::pods::CRASH_ANNOTATION {
                    let mode = string(value, &key.name)?;
                    if CrashMode::parse(mode).is_none() {
                        return Err(K8sSimError::scenario(
                            value.line,
                            format!(
                                "unknown crash mode {mode:?}; expected one of: {}",
                                CrashMode::NAMES.join(", ")
                            ),
                        ));
                    }
                }
                check_crash_annotations(value)?;
            }
            Ok(())
        }
        NodeValue::Seq(items) => items.iter().try_for_each(check_crash_annotations),
        NodeValue::Null
        | NodeValue::Bool(_)
        | NodeValue::Int(_)
        | NodeValue::Float(_)
        | NodeValue::Str(_) => Ok(()),
    }
}

fn logs(node: &Node, previous: bool) -> Result<Vec<LogSource>, K8sSimError> {
    let section = if previous { "previous_logs" } else { "logs" };
    let mut out = Vec::new();
    for (key, value) in entries(node, section)? {
        let parts: Vec<&str> = key.name.split('/').collect();
        let [namespace, pod, container] = parts.as_slice() else {
            return Err(K8sSimError::scenario(
                key.line,
                format!(
                    "`kubernetes.{section}` keys are NAMESPACE/POD/CONTAINER, got {:?}",
                    key.name
                ),
            ));
        };
        if namespace.is_empty() || pod.is_empty() || container.is_empty() {
            return Err(K8sSimError::scenario(
                key.line,
                format!("empty part in {:?}", key.name),
            ));
        }
        out.push(LogSource {
            namespace: (*namespace).to_owned(),
            pod: (*pod).to_owned(),
            container: (*container).to_owned(),
            previous,
            text: string(value, &key.name)?.to_owned(),
        });
    }
    Ok(out)
}

fn metrics(node: &Node) -> Result<Metrics, K8sSimError> {
    let mut out = Metrics::default();
    for (key, value) in entries(node, "metrics")? {
        match key.name.as_str() {
            "nodes" => {
                for (node_name, usage_node) in entries(value, "metrics.nodes")? {
                    out.nodes.push((node_name.name.clone(), usage(usage_node)?));
                }
            }
            "pods" => {
                for (pod_key, containers) in entries(value, "metrics.pods")? {
                    let Some((namespace, pod)) = pod_key.name.split_once('/') else {
                        return Err(K8sSimError::scenario(
                            pod_key.line,
                            format!(
                                "`metrics.pods` keys are NAMESPACE/POD, got {:?}",
                                pod_key.name
                            ),
                        ));
                    };
                    let mut source = PodMetricsSource {
                        namespace: namespace.to_owned(),
                        pod: pod.to_owned(),
                        containers: Vec::new(),
                    };
                    for (container, usage_node) in entries(containers, &pod_key.name)? {
                        source
                            .containers
                            .push((container.name.clone(), usage(usage_node)?));
                    }
                    out.pods.push(source);
                }
            }
            other => {
                return Err(K8sSimError::scenario(
                    key.line,
                    format!("unknown key `metrics.{other}`; expected `pods` or `nodes`"),
                ));
            }
        }
    }
    Ok(out)
}

fn usage(node: &Node) -> Result<Usage, K8sSimError> {
    let mut cpu = None;
    let mut memory = None;
    for (key, value) in entries(node, "usage")? {
        let text = match &value.value {
            NodeValue::Str(s) => s.clone(),
            NodeValue::Int(i) => i.to_string(),
            NodeValue::Float(f) => f.to_string(),
            _ => {
                return Err(K8sSimError::scenario(
                    value.line,
                    "a quantity must be a string or a number",
                ));
            }
        };
        if quantity::parse(&text).is_none() {
            return Err(K8sSimError::scenario(
                value.line,
                format!("{text:?} is not a quantity (write e.g. 250m, 1.5, 512Mi)"),
            ));
        }
        match key.name.as_str() {
            "cpu" => cpu = Some(text),
            "memory" => memory = Some(text),
            other => {
                return Err(K8sSimError::scenario(
                    key.line,
                    format!("unknown usage key `{other}`; expected `cpu` and `memory`"),
                ));
            }
        }
    }
    match (cpu, memory) {
        (Some(cpu), Some(memory)) => Ok(Usage { cpu, memory }),
        _ => Err(K8sSimError::scenario(
            node.line,
            "usage needs both `cpu` and `memory`",
        )),
    }
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("web-*", "web-abc"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "aXbY"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(!glob_match("a*a", "a"));
    }
}
