//! The impact of a mutating tool call, as its dry run reports it.
//!
//! Every mutating tool returns this JSON (the design's CONTRACTS.md, "Impact") when called with
//! `dry_run: true`; the gate asks for it before every policy decision and policies read it as
//! `impact.*`. Fields that do not apply are omitted, so a policy that reads a missing field
//! fails closed rather than seeing a default.

use serde::{Deserialize, Serialize};

/// What a mutating call would do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Impact {
    /// The tool's action, e.g. `delete_pod`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<ObjectRef>,
    /// The workload that owns the target (the Deployment of a pod, not its ReplicaSet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<Workload>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas_before: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas_after: Option<i64>,
    /// Replicas that may be unavailable at the same time because of the call. For a rolling
    /// change (restart, rollback) this is the rollout's `maxUnavailable`, not every replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas_affected: Option<i64>,
    /// `replicas_affected / workload replicas`, between 0 and 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction_affected: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdb: Option<PdbImpact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodImpact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeImpact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hpa: Option<HpaImpact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<RevisionImpact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stateful: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_loss_risk: Option<bool>,
    /// Fields a server adds beyond this contract; kept so policies can read them.
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Impact {
    /// Why this impact cannot be relied on, if it cannot: every impact names its action and
    /// its target, or nothing about it can be judged.
    pub fn problem(&self) -> Option<&'static str> {
        if self.action.trim().is_empty() {
            Some("the impact names no action")
        } else if self
            .target
            .as_ref()
            .is_none_or(|t| t.kind.trim().is_empty() || t.name.trim().is_empty())
        {
            Some("the impact names no target")
        } else {
            None
        }
    }
}

/// A Kubernetes object named by kind, namespace and name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

/// The owning workload and its size when the call was assessed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub replicas: i64,
    pub ready: i64,
}

/// The PodDisruptionBudget covering the target, and whether it allows this disruption.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PdbImpact {
    pub name: String,
    pub disruptions_allowed: i64,
    pub allows: bool,
}

/// The target pod's health.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodImpact {
    pub restart_count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_termination_reason: Option<String>,
}

/// The target node and its abnormal conditions (`MemoryPressure`, `DiskPressure`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeImpact {
    pub name: String,
    #[serde(default)]
    pub conditions: Vec<String>,
}

/// An HPA's bounds before and after the call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HpaImpact {
    pub min_before: i64,
    pub min_after: i64,
    pub max_before: i64,
    pub max_after: i64,
}

/// A rollout's revision before and after the call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionImpact {
    pub from: i64,
    pub to: i64,
    /// How many recorded revisions back `to` is (1 = the previous one). Revision numbers are
    /// not contiguous after an undo, so this, not `from - to`, says "previous".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps_back: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact example of the design's CONTRACTS.md.
    const CONTRACT_EXAMPLE: &str = r#"{
      "action": "delete_pod",
      "target": {"kind": "Pod", "namespace": "payment", "name": "payment-7d8f-xyz"},
      "workload": {"kind": "Deployment", "namespace": "payment", "name": "payment-service",
                   "replicas": 5, "ready": 4},
      "replicas_before": 5, "replicas_after": 5,
      "replicas_affected": 1, "fraction_affected": 0.2,
      "pdb": {"name": "payment-pdb", "disruptions_allowed": 1, "allows": true},
      "pod": {"restart_count": 7, "waiting_reason": "CrashLoopBackOff",
              "last_termination_reason": "OOMKilled"},
      "node": {"name": "ip-10-0-1-45", "conditions": ["MemoryPressure"]},
      "hpa": {"min_before": 2, "min_after": 3, "max_before": 10, "max_after": 14},
      "revision": {"from": 15, "to": 14},
      "stateful": false,
      "data_loss_risk": false
    }"#;

    #[test]
    fn contract_example_round_trips_exactly() {
        let v: serde_json::Value = serde_json::from_str(CONTRACT_EXAMPLE).unwrap();
        let impact: Impact = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(impact.pod.as_ref().unwrap().restart_count, 7);
        assert_eq!(serde_json::to_value(&impact).unwrap(), v);
    }

    #[test]
    fn absent_fields_are_omitted_and_extras_kept() {
        let v = serde_json::json!({"action": "cordon", "node": {"name": "n1", "conditions": []},
                                   "taints_added": 1});
        let impact: Impact = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(
            impact.extra.get("taints_added"),
            Some(&serde_json::json!(1))
        );
        assert_eq!(serde_json::to_value(&impact).unwrap(), v);
    }
}
