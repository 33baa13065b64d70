//! A NodePool's `spec.limits` (cpu, memory, nodes) against the capacity of its NodeClaims,
//! launched or launching: what Karpenter checks before it launches another node.

use serde_json::Value;

use super::catalogue::{InstanceType, bytes, bytes_text, cpu_millis, cpu_text};
use super::fit::Resources;
use crate::k8s::obj;
use crate::k8s::store::Store;

/// A NodePool's limits and what its NodeClaims already hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Left {
    pub cpu_limit: Option<i64>,
    pub memory_limit: Option<i64>,
    pub nodes_limit: Option<i64>,
    pub used: Resources,
    pub nodes: i64,
}

impl Left {
    /// Whether one more node of this type stays within every limit.
    pub fn admits(&self, t: &InstanceType) -> bool {
        let (cpu, memory) = t.capacity();
        self.cpu_limit.is_none_or(|l| self.used.cpu + cpu <= l)
            && self
                .memory_limit
                .is_none_or(|l| self.used.memory + memory <= l)
            && self.nodes_limit.is_none_or(|l| self.nodes < l)
    }

    /// `limits cpu 20, memory 80Gi; in use or launching cpu 16, memory 64Gi, 4 nodes`.
    pub fn describe(&self) -> String {
        let mut limits = Vec::new();
        if let Some(l) = self.cpu_limit {
            limits.push(format!("cpu {}", cpu_text(l)));
        }
        if let Some(l) = self.memory_limit {
            limits.push(format!("memory {}", bytes_text(l)));
        }
        if let Some(l) = self.nodes_limit {
            limits.push(format!("nodes {l}"));
        }
        format!(
            "limits {}; in use or launching cpu {}, memory {}, {} nodes",
            limits.join(", "),
            cpu_text(self.used.cpu),
            bytes_text(self.used.memory),
            self.nodes
        )
    }
}

/// The NodeClaims of a NodePool.
pub fn claims_of<'a>(store: &'a Store, pool: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    store.list("nodeclaims", None).filter(move |c| {
        obj::labels(c)
            .get("karpenter.sh/nodepool")
            .and_then(Value::as_str)
            == Some(pool)
    })
}

/// A NodeClaim's `status.capacity`.
pub fn capacity(claim: &Value) -> Resources {
    let q = |k: &str| obj::str_at(claim, &format!("/status/capacity/{k}"));
    Resources {
        cpu: q("cpu").and_then(cpu_millis).unwrap_or(0),
        memory: q("memory").and_then(bytes).unwrap_or(0),
    }
}

/// What a NodePool may still launch.
pub fn left(store: &Store, pool: &Value) -> Left {
    let limit = |k: &str| obj::str_at(pool, &format!("/spec/limits/{k}")).map(str::to_owned);
    let (used, nodes) = claims_of(store, obj::name(pool))
        .fold((Resources::default(), 0), |(r, n), c| {
            (r.add(capacity(c)), n + 1)
        });
    Left {
        cpu_limit: limit("cpu").as_deref().and_then(cpu_millis),
        memory_limit: limit("memory").as_deref().and_then(bytes),
        nodes_limit: limit("nodes").and_then(|n| n.parse().ok()),
        used,
        nodes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::controllers::karpenter::catalogue::by_name;

    #[test]
    fn admits_within_limits_only() {
        let left = Left {
            cpu_limit: Some(20_000),
            memory_limit: None,
            nodes_limit: None,
            used: Resources {
                cpu: 16_000,
                memory: 0,
            },
            nodes: 4,
        };
        assert!(left.admits(by_name("m7i.xlarge").unwrap()));
        assert!(!left.admits(by_name("m7i.2xlarge").unwrap()));
        assert!(
            left.describe().contains("limits cpu 20"),
            "{}",
            left.describe()
        );
    }
}
