//! NodePool requirements (`In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt`, `Lt`) over the labels
//! a node would have, and whether a pending pod can go to a NodePool at all (its
//! nodeSelector, the NodePool's taints).

use serde_json::{Map, Value, json};

use crate::k8s::obj;

/// The requirements of a NodePool's template (`spec.template.spec.requirements`).
pub fn of_pool(pool: &Value) -> Vec<Value> {
    pool.pointer("/spec/template/spec/requirements")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Whether labels satisfy one requirement. A requirement on a label the node does not have
/// is met only by `NotIn` and `DoesNotExist`.
pub fn satisfied(requirement: &Value, labels: &Map<String, Value>) -> bool {
    let key = obj::str_at(requirement, "/key").unwrap_or("");
    let op = obj::str_at(requirement, "/operator").unwrap_or("In");
    let values: Vec<&str> = requirement
        .get("values")
        .and_then(Value::as_array)
        .map(|vs| vs.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let label = labels.get(key).and_then(Value::as_str);
    let number = |v: &str| v.parse::<i64>().ok();
    match (op, label) {
        ("In", Some(l)) => values.contains(&l),
        ("NotIn", Some(l)) => !values.contains(&l),
        ("NotIn" | "DoesNotExist", None) => true,
        ("Exists", Some(_)) => true,
        ("Gt", Some(l)) => {
            matches!((number(l), values.first().and_then(|v| number(v))), (Some(a), Some(b)) if a > b)
        }
        ("Lt", Some(l)) => {
            matches!((number(l), values.first().and_then(|v| number(v))), (Some(a), Some(b)) if a < b)
        }
        _ => false,
    }
}

/// Whether labels satisfy every requirement.
pub fn all_satisfied(requirements: &[Value], labels: &Map<String, Value>) -> bool {
    requirements.iter().all(|r| satisfied(r, labels))
}

/// Whether a pod's nodeSelector is met by these labels.
pub fn selector_met(pod: &Value, labels: &Map<String, Value>) -> bool {
    pod.pointer("/spec/nodeSelector")
        .and_then(Value::as_object)
        .is_none_or(|sel| sel.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// The labels of a NodePool's nodes that do not depend on the instance type: its template's
/// labels and `karpenter.sh/nodepool`.
pub fn pool_labels(pool: &Value) -> Map<String, Value> {
    let mut labels = pool
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    labels.insert("karpenter.sh/nodepool".into(), json!(obj::name(pool)));
    labels
}

/// The capacity types a NodePool allows, cheapest first (`spot` when allowed, as Karpenter's
/// price-capacity-optimized choice usually lands there).
pub fn capacity_types(requirements: &[Value]) -> Vec<&'static str> {
    ["spot", "on-demand"]
        .into_iter()
        .filter(|ct| {
            let mut labels = Map::new();
            labels.insert("karpenter.sh/capacity-type".into(), json!(ct));
            requirements
                .iter()
                .filter(|r| obj::str_at(r, "/key") == Some("karpenter.sh/capacity-type"))
                .all(|r| satisfied(r, &labels))
        })
        .filter(|ct| *ct == "on-demand" || requirements.iter().any(|r| mentions(r, ct)))
        .collect()
}

/// Whether a capacity-type requirement names this type (spot is used only when asked for).
fn mentions(requirement: &Value, value: &str) -> bool {
    obj::str_at(requirement, "/key") == Some("karpenter.sh/capacity-type")
        && requirement
            .get("values")
            .and_then(Value::as_array)
            .is_some_and(|vs| vs.iter().any(|v| v.as_str() == Some(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect()
    }

    #[test]
    fn operators() {
        let l = labels(&[
            ("karpenter.k8s.aws/instance-family", "m7i"),
            ("karpenter.k8s.aws/instance-cpu", "4"),
        ]);
        let r = |op: &str, key: &str, values: &[&str]| json!({"key": key, "operator": op, "values": values});
        assert!(satisfied(
            &r("In", "karpenter.k8s.aws/instance-family", &["m7i", "c7i"]),
            &l
        ));
        assert!(!satisfied(
            &r("NotIn", "karpenter.k8s.aws/instance-family", &["m7i"]),
            &l
        ));
        assert!(satisfied(&r("NotIn", "missing", &["x"]), &l));
        assert!(!satisfied(&r("In", "missing", &["x"]), &l));
        assert!(satisfied(
            &r("Gt", "karpenter.k8s.aws/instance-cpu", &["2"]),
            &l
        ));
        assert!(!satisfied(
            &r("Lt", "karpenter.k8s.aws/instance-cpu", &["4"]),
            &l
        ));
        assert!(satisfied(
            &r("Exists", "karpenter.k8s.aws/instance-cpu", &[]),
            &l
        ));
    }

    #[test]
    fn capacity_type_choice() {
        let both = [
            json!({"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand", "spot"]}),
        ];
        assert_eq!(capacity_types(&both), ["spot", "on-demand"]);
        let od = [
            json!({"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]}),
        ];
        assert_eq!(capacity_types(&od), ["on-demand"]);
        assert_eq!(capacity_types(&[]), ["on-demand"]);
    }
}
