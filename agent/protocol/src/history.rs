//! What already happened to a call's target: the facts behind cumulative limits.
//!
//! Judged alone, every step of a ratchet looks small: an HPA taken 10 → 15 → 22 → 33 moves
//! 50 % each time, and a second "one step back" rollback flips a Deployment back to the bad
//! revision. The gate therefore tells the policy, as `history.*`, what executed changes the
//! store recorded for the same object and workload within a window, by this run and by
//! others, and the values at the window's start. A policy judges the change against that
//! baseline instead of against the previous call.

use serde::{Deserialize, Serialize};

use crate::Impact;

/// The facts a policy reads as `history.*`. Every field is always present, so a policy never
/// needs `is defined` to read one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The window the counts below cover, in minutes.
    pub window_minutes: u64,
    /// Executed changes to the same object within the window, by this run.
    pub changes_this_run: u64,
    /// Executed changes to the same object within the window, by other runs.
    pub changes_other_runs: u64,
    /// Executed rollbacks (`rollout_undo`) of the same workload within the window.
    pub rollbacks: u64,
    /// Executed pod deletions (restarts) of pods of the same workload within the window.
    pub pod_deletions: u64,
    /// Other nodes cordoned or drained within the window (for node calls): capacity already
    /// taken out of the cluster.
    pub other_nodes_disrupted: u64,
    /// The HPA's bounds at the window's start: before the first change within the window, or
    /// the current bounds when nothing changed them. Absent (null) for calls without an HPA.
    pub hpa_baseline: Option<HpaBounds>,
    /// The workload's replicas at the window's start, for calls that change replicas.
    pub replicas_baseline: Option<i64>,
}

/// An HPA's `minReplicas` and `maxReplicas`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HpaBounds {
    pub min: i64,
    pub max: i64,
}

/// The window used when none is configured: one hour.
pub const DEFAULT_HISTORY_WINDOW_MINUTES: u64 = 60;

impl History {
    /// The history of a call nothing preceded: no changes, and baselines taken from the
    /// call's own impact (its "before" values). What `sopilot policy check` assumes unless
    /// told otherwise, and what the gate starts from.
    pub fn fresh(impact: Option<&Impact>, window_minutes: u64) -> History {
        History {
            window_minutes,
            changes_this_run: 0,
            changes_other_runs: 0,
            rollbacks: 0,
            pod_deletions: 0,
            other_nodes_disrupted: 0,
            hpa_baseline: impact.and_then(|i| i.hpa.as_ref()).map(|h| HpaBounds {
                min: h.min_before,
                max: h.max_before,
            }),
            replicas_baseline: impact.and_then(|i| i.replicas_before),
        }
    }

    /// Executed changes to the same object within the window, by anyone.
    pub fn changes(&self) -> u64 {
        self.changes_this_run + self.changes_other_runs
    }
}

impl Default for History {
    fn default() -> Self {
        History::fresh(None, DEFAULT_HISTORY_WINDOW_MINUTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HpaImpact;

    #[test]
    fn a_fresh_history_takes_its_baselines_from_the_impact() {
        let impact = Impact {
            action: "patch_hpa".into(),
            hpa: Some(HpaImpact {
                min_before: 2,
                min_after: 3,
                max_before: 10,
                max_after: 15,
            }),
            replicas_before: Some(4),
            ..Impact::default()
        };
        let h = History::fresh(Some(&impact), 30);
        assert_eq!(h.hpa_baseline, Some(HpaBounds { min: 2, max: 10 }));
        assert_eq!(h.replicas_baseline, Some(4));
        assert_eq!(h.changes(), 0);
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["window_minutes"], 30);
        assert_eq!(serde_json::from_value::<History>(v).unwrap(), h);
        assert_eq!(History::default().hpa_baseline, None);
    }
}
