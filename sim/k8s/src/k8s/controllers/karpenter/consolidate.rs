//! Consolidation of empty nodes: a NodeClaim whose node runs no pods (but DaemonSet pods) is
//! marked `Consolidatable`; once it has been so for the NodePool's `consolidateAfter`, its node
//! and NodeClaim are removed, no more at once than the NodePool's disruption budgets allow.
//! (Moving pods off under-utilised nodes is not simulated.)

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::fit::pods_on;
use super::limits::claims_of;
use crate::k8s::controllers::{set_condition, write_status};
use crate::k8s::events::{self, EventType, Source};
use crate::k8s::obj;
use crate::k8s::store::Store;
use crate::time;

/// A Go duration such as `30s`, `5m`, `1h30m`; `None` for `Never` or nonsense.
pub fn duration(text: &str) -> Option<chrono::Duration> {
    time::parse_relative(&format!("+{}", text.trim()))
}

/// How many nodes a NodePool's budgets let go at once (`nodes: "10%"` or `"2"`; the
/// smallest budget wins, 10 % when none is set; percentages round up).
pub fn allowed(pool: &Value, nodes: usize) -> usize {
    let budgets: Vec<String> = pool
        .pointer("/spec/disruption/budgets")
        .and_then(Value::as_array)
        .map(|bs| {
            bs.iter()
                .filter(|b| b.get("schedule").is_none())
                .filter_map(|b| obj::str_at(b, "/nodes").map(str::to_owned))
                .collect()
        })
        .unwrap_or_else(|| vec!["10%".to_owned()]);
    budgets
        .iter()
        .map(
            |b| match b.strip_suffix('%').and_then(|p| p.parse::<usize>().ok()) {
                Some(percent) => (nodes * percent).div_ceil(100),
                None => b.parse().unwrap_or(0),
            },
        )
        .min()
        .unwrap_or(0)
}

fn empty(store: &Store, node: &str) -> bool {
    pods_on(store, node).all(|p| matches!(obj::controller_of(p), Some(("DaemonSet", _, _))))
}

pub fn reconcile(store: &mut Store) {
    let now = store.now();
    for pool in store.list_owned("nodepools", None) {
        let after = obj::str_at(&pool, "/spec/disruption/consolidateAfter").and_then(duration);
        let claims: Vec<Value> = claims_of(store, obj::name(&pool))
            .filter(|c| obj::str_at(c, "/status/nodeName").is_some_and(|n| !n.is_empty()))
            .cloned()
            .collect();
        let mut budget = allowed(&pool, claims.len());
        for claim in claims {
            let node = obj::str_at(&claim, "/status/nodeName")
                .unwrap_or("")
                .to_owned();
            let since = mark(store, &claim, empty(store, &node), now);
            if let (Some(since), Some(after)) = (since, after)
                && since + after <= now
                && budget > 0
            {
                budget -= 1;
                remove(store, &claim, &node);
            }
        }
    }
}

/// Sets `Consolidatable`; returns since when the node has been empty.
fn mark(
    store: &mut Store,
    claim: &Value,
    is_empty: bool,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let now_text = time::rfc3339(now);
    let mut status = claim.get("status").cloned().unwrap_or_default();
    let mut conditions: Vec<Value> = status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let (state, reason) = if is_empty {
        ("True", "Empty")
    } else {
        ("False", "PodsRunning")
    };
    set_condition(
        &mut conditions,
        "Consolidatable",
        state,
        reason,
        "",
        &now_text,
    );
    let since = conditions
        .iter()
        .find(|c| obj::str_at(c, "/type") == Some("Consolidatable"))
        .and_then(|c| obj::str_at(c, "/lastTransitionTime"))
        .and_then(time::parse);
    status["conditions"] = Value::from(conditions);
    write_status(store, "nodeclaims", claim, status);
    since.filter(|_| is_empty)
}

fn remove(store: &mut Store, claim: &Value, node: &str) {
    events::record(
        store,
        claim,
        EventType::Normal,
        "DisruptionTerminating",
        "Disrupting NodeClaim: Empty/Delete",
        Source::controller("karpenter"),
    );
    store.remove("nodes", "", node);
    store.remove("nodeclaims", "", obj::name(claim));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn budgets_and_durations() {
        assert_eq!(duration("30s").map(|d| d.num_seconds()), Some(30));
        assert_eq!(duration("1h30m").map(|d| d.num_seconds()), Some(5400));
        assert_eq!(duration("Never"), None);
        let pool = |b: Value| json!({"spec": {"disruption": {"budgets": b}}});
        assert_eq!(allowed(&json!({}), 4), 1);
        assert_eq!(
            allowed(&pool(json!([{"nodes": "50%"}, {"nodes": "1"}])), 10),
            1
        );
        assert_eq!(allowed(&pool(json!([{"nodes": "0"}])), 10), 0);
        assert_eq!(
            allowed(
                &pool(
                    json!([{"nodes": "20%"}, {"nodes": "0", "schedule": "@daily", "duration": "1h"}])
                ),
                10
            ),
            2
        );
    }
}
