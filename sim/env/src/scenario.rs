//! The scenario file: what the simulated world contains when it starts.
//!
//! Sections are all optional. `kubernetes` is read by `sopilot-sim-k8s`; `cloudwatch`,
//! `logs`, `cost`, `xray`, `arc`, `eks`, `slack` and `model` are kept as opaque JSON for the simulators that read
//! them when the environment starts. Errors name the line of the offending key or value.

use std::path::Path;

use serde_json::Value;
use sopilot_sim_k8s::KubernetesScenario;
use sopilot_yaml::{Node, NodeValue};

use crate::SimError;

/// A parsed scenario.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    /// A one-line description for people (optional).
    pub description: Option<String>,
    /// The simulated cluster (`sopilot-sim-k8s`).
    pub kubernetes: KubernetesScenario,
    /// CloudWatch metrics and alarms (`sopilot-sim-aws`); kept as written.
    pub cloudwatch: Option<Value>,
    /// CloudWatch Logs (`sopilot-sim-aws`); kept as written.
    pub logs: Option<Value>,
    /// Cost Explorer (`sopilot-sim-aws`); kept as written.
    pub cost: Option<Value>,
    /// X-Ray's service graph and traces (`sopilot-sim-aws`); kept as written.
    pub xray: Option<Value>,
    /// ARC zonal shift's managed resources and the account's zone IDs (`sopilot-sim-aws`);
    /// kept as written.
    pub arc: Option<Value>,
    /// EKS clusters DescribeCluster answers (`sopilot-sim-aws`); kept as written.
    pub eks: Option<Value>,
    /// Series and rules only a Prometheus has (`openmetrics`); kept as written.
    pub prometheus: Option<Value>,
    /// The Slack workspace (`sopilot-sim-slack`); kept as written.
    pub slack: Option<Value>,
    /// The scripted model (`sopilot-sim-model`); kept as written.
    pub model: Option<Value>,
    /// The Jira site (`sopilot-sim-jira`); kept as written. A scenario with this section
    /// (even empty: `jira: {}` is the default site, project OPS) gets a simulated Jira.
    pub jira: Option<Value>,
}

const TOP_LEVEL: &[&str] = &[
    "description",
    "kubernetes",
    "cloudwatch",
    "logs",
    "cost",
    "xray",
    "arc",
    "eks",
    "prometheus",
    "slack",
    "model",
    "jira",
];

impl Scenario {
    /// Parses a scenario from YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, SimError> {
        let root = sopilot_yaml::parse(text)?;
        Self::from_node(&root)
    }

    /// Reads and parses a scenario file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SimError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SimError::ReadScenario {
            path: path.to_owned(),
            source,
        })?;
        Self::from_yaml(&text)
    }

    /// Builds a scenario from an already parsed YAML document.
    pub fn from_node(root: &Node) -> Result<Self, SimError> {
        let mut scenario = Scenario::default();
        let entries = match &root.value {
            NodeValue::Null => return Ok(scenario),
            NodeValue::Map(entries) => entries,
            _ => {
                return Err(SimError::scenario(
                    root.line,
                    "a scenario must be a mapping",
                ));
            }
        };
        for (key, node) in entries {
            let opaque = || (!matches!(node.value, NodeValue::Null)).then(|| node.to_json());
            match key.name.as_str() {
                "description" => {
                    scenario.description = Some(string(node, "description")?.to_owned());
                }
                "kubernetes" => scenario.kubernetes = KubernetesScenario::from_node(node)?,
                "cloudwatch" => scenario.cloudwatch = opaque(),
                "logs" => scenario.logs = opaque(),
                "cost" => scenario.cost = opaque(),
                "xray" => scenario.xray = opaque(),
                "arc" => scenario.arc = opaque(),
                "eks" => scenario.eks = opaque(),
                "prometheus" => scenario.prometheus = opaque(),
                "slack" => scenario.slack = opaque(),
                "model" => scenario.model = opaque(),
                // Present even when empty: `jira: {}` asks for the default site.
                "jira" => scenario.jira = Some(node.to_json()),
                other => {
                    return Err(SimError::scenario(
                        key.line,
                        format!(
                            "unknown top-level key `{other}`; expected one of: {}",
                            TOP_LEVEL.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(scenario)
    }
}

fn string<'a>(node: &'a Node, what: &str) -> Result<&'a str, SimError> {
    match &node.value {
        NodeValue::Str(s) => Ok(s),
        _ => Err(SimError::scenario(
            node.line,
            format!("`{what}` must be a string"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (usize, String) {
        match Scenario::from_yaml(text).unwrap_err() {
            SimError::Scenario { line, message } => (line, message),
            SimError::Yaml(e) => (e.line, e.message),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn empty_and_opaque_sections() {
        let s = Scenario::from_yaml("").unwrap();
        assert!(s.kubernetes.objects.is_empty());
        let s = Scenario::from_yaml(
            "cloudwatch: {alarms: [a]}\nslack:\n  channels: [x]\nmodel: null\n",
        )
        .unwrap();
        assert_eq!(s.cloudwatch.unwrap()["alarms"][0], "a");
        assert!(s.slack.is_some());
        assert!(s.model.is_none());
    }

    #[test]
    fn errors_name_the_line() {
        let (line, msg) = err("kubernetes:\n  objects: []\nkubernets: {}\n");
        assert_eq!(line, 3);
        assert!(msg.contains("kubernets"), "{msg}");
        let (line, _) = err("kubernetes:\n  objects:\n    - [1\n");
        assert!(line >= 3);
        let (line, msg) = err(
            "kubernetes:\n  objects:\n    - apiVersion: v1\n      kind: Pod\n      metadata: {namespace: x}\n",
        );
        assert_eq!(line, 5);
        assert!(msg.contains("metadata.name"), "{msg}");
        let (line, msg) =
            err("kubernetes:\n  objects:\n    - apiVersion: v1\n      metadata: {name: x}\n");
        assert_eq!(line, 3);
        assert!(msg.contains("kind"), "{msg}");
        let (_, msg) = err(
            "kubernetes:\n  objects:\n    - {apiVersion: v1, kind: Gadget, metadata: {name: x}}\n",
        );
        assert!(msg.contains("Gadget"), "{msg}");
        let (line, msg) = err(
            "kubernetes:\n  objects:\n    - apiVersion: v1\n      kind: Node\n      metadata:\n        name: n\n        creationTimestamp: -5q\n",
        );
        assert_eq!(line, 7);
        assert!(msg.contains("relative"), "{msg}");
        let (line, msg) = err("kubernetes:\n  logs:\n    ns/pod: hi\n");
        assert_eq!(line, 3);
        assert!(msg.contains("NAMESPACE/POD/CONTAINER"), "{msg}");
        let (line, msg) =
            err("kubernetes:\n  metrics:\n    nodes:\n      n1: {cpu: 1, memory: lots}\n");
        assert_eq!(line, 4);
        assert!(msg.contains("lots"), "{msg}");
        let (_, msg) = err(
            "kubernetes:\n  objects:\n    - {apiVersion: v1, kind: Node, metadata: {name: n}}\n    - {apiVersion: v1, kind: Node, metadata: {name: n}}\n",
        );
        assert!(msg.contains("twice"), "{msg}");
        let (_, msg) = err(
            "kubernetes:\n  objects:\n    - {apiVersion: v1, kind: Node, metadata: {name: n, namespace: x}}\n",
        );
        assert!(msg.contains("cluster-scoped"), "{msg}");
        let (line, msg) = err(
            "kubernetes:\n  objects:\n    - apiVersion: v1\n      kind: Pod\n      metadata:\n        name: p\n        annotations:\n          sim.sopilot.dev/crash: Meltdown\n",
        );
        assert_eq!(line, 8);
        assert!(msg.contains("Meltdown"), "{msg}");
    }

    #[test]
    fn parses_logs_and_metrics() {
        let s = Scenario::from_yaml(
            "kubernetes:\n  objects:\n    - {apiVersion: v1, kind: Pod, metadata: {name: p}}\n  logs:\n    ns/p-*/app: \"a\\nb\\n\"\n  previous_logs:\n    ns/p/app: boom\n  metrics:\n    nodes:\n      n1: {cpu: 2, memory: 4Gi}\n    pods:\n      ns/p: {app: {cpu: 100m, memory: 128Mi}}\n",
        )
        .unwrap();
        assert_eq!(
            s.kubernetes.objects[0].object["metadata"]["namespace"],
            "default"
        );
        assert_eq!(s.kubernetes.logs.len(), 2);
        assert!(s.kubernetes.logs[1].previous);
        assert_eq!(s.kubernetes.metrics.nodes[0].1.cpu, "2");
        assert_eq!(s.kubernetes.metrics.pods[0].containers[0].0, "app");
    }
}
