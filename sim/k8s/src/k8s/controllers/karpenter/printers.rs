//! The columns `kubectl get` shows for Karpenter's kinds and PriorityClasses, as their CRDs'
//! `additionalPrinterColumns` (and the built-in printer) define them; priority 1 is `-o wide`.

use serde_json::{Value, json};

use crate::k8s::obj;

/// (name, type, priority) of each column after NAME, AGE placed where the real one is.
pub fn columns(kind: &str) -> Option<Vec<(&'static str, &'static str, u8)>> {
    Some(match kind {
        "NodePool" => vec![
            ("Name", "string", 0),
            ("NodeClass", "string", 0),
            ("Nodes", "string", 0),
            ("Ready", "string", 0),
            ("Age", "date", 0),
            ("Weight", "integer", 1),
            ("CPU", "string", 1),
            ("Memory", "string", 1),
        ],
        "NodeClaim" => vec![
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Capacity", "string", 0),
            ("Zone", "string", 0),
            ("Node", "string", 0),
            ("Ready", "string", 0),
            ("Age", "date", 0),
            ("ID", "string", 1),
            ("NodePool", "string", 1),
            ("NodeClass", "string", 1),
        ],
        "EC2NodeClass" => vec![
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Age", "date", 0),
            ("Role", "string", 1),
        ],
        "PriorityClass" => vec![
            ("Name", "string", 0),
            ("Value", "integer", 0),
            ("Global-Default", "boolean", 0),
            ("Age", "string", 0),
            ("PreemptionPolicy", "string", 0),
        ],
        _ => return None,
    })
}

fn ready(o: &Value) -> String {
    o.pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| obj::str_at(c, "/type") == Some("Ready")))
        .and_then(|c| obj::str_at(c, "/status"))
        .unwrap_or("Unknown")
        .to_owned()
}

/// The cells of one object, matching [`columns`].
pub fn cells(kind: &str, o: &Value, name: Value, age: Value) -> Option<Vec<Value>> {
    let at = |p: &str| json!(obj::str_at(o, p).unwrap_or(""));
    let label = |k: &str| json!(obj::labels(o).get(k).and_then(Value::as_str).unwrap_or(""));
    Some(match kind {
        "NodePool" => vec![
            name,
            at("/spec/template/spec/nodeClassRef/name"),
            at("/status/resources/nodes"),
            json!(ready(o)),
            age,
            json!(obj::i64_at(o, "/spec/weight").unwrap_or(0)),
            at("/status/resources/cpu"),
            at("/status/resources/memory"),
        ],
        "NodeClaim" => vec![
            name,
            label("node.kubernetes.io/instance-type"),
            label("karpenter.sh/capacity-type"),
            label("topology.kubernetes.io/zone"),
            at("/status/nodeName"),
            json!(ready(o)),
            age,
            at("/status/providerID"),
            label("karpenter.sh/nodepool"),
            at("/spec/nodeClassRef/name"),
        ],
        "EC2NodeClass" => vec![name, json!(ready(o)), age, at("/spec/role")],
        "PriorityClass" => vec![
            name,
            json!(obj::i64_at(o, "/value").unwrap_or(0)),
            json!(
                o.get("globalDefault")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            ),
            age,
            json!(obj::str_at(o, "/preemptionPolicy").unwrap_or("PreemptLowerPriority")),
        ],
        _ => return None,
    })
}
