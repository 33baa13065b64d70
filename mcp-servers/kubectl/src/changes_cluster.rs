//! The cluster side of `recent_changes`: nodes that joined, left, were tainted, cordoned or
//! became unhealthy, and the namespace's events (warnings grouped by object and reason;
//! the scaling events of Deployments and HPAs one by one).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Event, Node};
use kube::api::{Api, ListParams};
use sopilot_mcp_common::redact;

use crate::changes::{
    Change, ChangeKind, Scope, Window, managed_in_window, managed_paths, manager_of,
};
use crate::error::ToolResult;
use crate::format;

/// Normal events that record a change of scale.
const SCALING_REASONS: &[&str] = &["ScalingReplicaSet", "SuccessfulRescale"];
/// Node events that record a node leaving or changing state.
const NODE_REASONS: &[&str] = &[
    "RemovingNode",
    "DeletingNode",
    "NodeNotReady",
    "Rebooted",
    "NodeNotSchedulable",
    "NodeSchedulable",
];
/// The longest event message kept.
const MESSAGE_CHARS: usize = 200;

/// Nodes: joined (created), tainted, cordoned, unhealthy, and their events (left, rebooted).
pub async fn nodes(client: &kube::Client, w: &Window) -> ToolResult<Vec<Change>> {
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    let mut out: Vec<Change> = nodes.iter().flat_map(|n| node_lines(n, w)).collect();
    let events = Api::<Event>::all(client.clone())
        .list(&ListParams::default().fields("involvedObject.kind=Node"))
        .await?
        .items;
    for e in &events {
        let reason = e.reason.as_deref().unwrap_or("");
        let warning = e.type_.as_deref() == Some("Warning");
        if !(warning || NODE_REASONS.contains(&reason)) {
            continue;
        }
        let (_, last) = seen(e);
        if !w.contains(last) {
            continue;
        }
        let node = e.involved_object.name.as_deref().unwrap_or("?");
        out.push(Change::new(
            last,
            ChangeKind::Node,
            format!("Node/{node}"),
            format!("event {reason}: {}", message(e)),
        ));
    }
    Ok(out)
}

fn node_lines(n: &Node, w: &Window) -> Vec<Change> {
    let name = n.metadata.name.clone().unwrap_or_default();
    let object = format!("Node/{name}");
    let mut out = Vec::new();
    let created = n.metadata.creation_timestamp.as_ref().map(format::epoch);
    if let Some(at) = created.filter(|at| w.contains(*at)) {
        let labels = n.metadata.labels.clone().unwrap_or_default();
        let about: Vec<String> = [
            ("zone", "topology.kubernetes.io/zone"),
            ("type", "node.kubernetes.io/instance-type"),
            ("nodegroup", "eks.amazonaws.com/nodegroup"),
            ("capacity", "eks.amazonaws.com/capacityType"),
        ]
        .iter()
        .filter_map(|(k, l)| labels.get(*l).map(|v| format!("{k} {v}")))
        .collect();
        out.push(Change::new(
            at,
            ChangeKind::Node,
            &object,
            format!("node joined ({})", about.join(", ")),
        ));
    }
    for t in n.spec.iter().flat_map(|s| s.taints.iter().flatten()) {
        if let Some(at) = t
            .time_added
            .as_ref()
            .map(format::epoch)
            .filter(|at| w.contains(*at))
        {
            let value = t
                .value
                .as_deref()
                .map(|v| format!("={v}"))
                .unwrap_or_default();
            out.push(Change::new(
                at,
                ChangeKind::Node,
                &object,
                format!("taint {}{value}:{} added", t.key, t.effect),
            ));
        }
    }
    for (at, e) in managed_in_window(n.metadata.managed_fields.as_ref(), w) {
        if managed_paths(e).contains("spec.unschedulable") {
            let now = n.spec.as_ref().and_then(|s| s.unschedulable) == Some(true);
            let what = if now { "cordoned" } else { "uncordoned" };
            out.push(Change::new(
                at,
                ChangeKind::Node,
                &object,
                format!("{what} (spec.unschedulable written by {})", manager_of(e)),
            ));
        }
    }
    for c in n.status.iter().flat_map(|s| s.conditions.iter().flatten()) {
        let Some(at) = c
            .last_transition_time
            .as_ref()
            .map(format::epoch)
            .filter(|at| w.contains(*at))
        else {
            continue;
        };
        if created.is_some_and(|cr| at <= cr + 120) {
            continue;
        }
        let state = match (c.type_.as_str(), c.status.as_str()) {
            ("Ready", "True") => "became Ready".to_owned(),
            ("Ready", s) => format!("became NotReady (Ready={s})"),
            (t, "True") => format!("{t} began"),
            (t, _) => format!("{t} ended"),
        };
        let reason = c
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        out.push(Change::new(
            at,
            ChangeKind::Node,
            &object,
            format!("{state}{reason}"),
        ));
    }
    out
}

/// First and last time an event was seen, epoch seconds.
fn seen(e: &Event) -> (i64, i64) {
    let first = e
        .first_timestamp
        .as_ref()
        .map(format::epoch)
        .or_else(|| e.event_time.as_ref().map(|t| t.0.as_second()))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(format::epoch))
        .unwrap_or(0);
    let last = e
        .last_timestamp
        .as_ref()
        .map(format::epoch)
        .or_else(|| {
            e.series
                .as_ref()
                .and_then(|s| s.last_observed_time.as_ref())
                .map(|t| t.0.as_second())
        })
        .unwrap_or(first);
    (first, last.max(first))
}

fn message(e: &Event) -> String {
    let m = redact(e.message.as_deref().unwrap_or("").trim()).into_owned();
    let mut short: String = m.chars().take(MESSAGE_CHARS).collect();
    if short.len() < m.len() {
        short.push_str(" ...");
    }
    short
}

/// A warning's aggregate over one object and reason.
struct Group {
    count: i64,
    first: i64,
    last: i64,
    message: String,
}

/// The namespace's events about the scope: scaling events one by one, warnings grouped by
/// object and reason (count, first and last seen, newest message).
pub async fn events(client: &kube::Client, scope: &Scope, w: &Window) -> ToolResult<Vec<Change>> {
    let events = Api::<Event>::namespaced(client.clone(), &scope.namespace)
        .list(&ListParams::default())
        .await?
        .items;
    let mut out = Vec::new();
    let mut warnings: BTreeMap<(String, String), Group> = BTreeMap::new();
    for e in &events {
        let name = e.involved_object.name.as_deref().unwrap_or("?");
        let kind = e.involved_object.kind.as_deref().unwrap_or("?");
        if kind == "Node" || !scope.covers(name) {
            continue;
        }
        let (first, last) = seen(e);
        if !w.contains(last) {
            continue;
        }
        let reason = e.reason.clone().unwrap_or_default();
        let object = format!("{kind}/{name}");
        if e.type_.as_deref() == Some("Warning") {
            let g = warnings.entry((object, reason)).or_insert(Group {
                count: 0,
                first,
                last,
                message: String::new(),
            });
            g.count += i64::from(e.count.unwrap_or(1).max(1));
            g.first = g.first.min(first);
            if last >= g.last || g.message.is_empty() {
                g.last = g.last.max(last);
                g.message = message(e);
            }
        } else if SCALING_REASONS.contains(&reason.as_str()) {
            out.push(Change::new(
                last,
                ChangeKind::Scaling,
                object,
                format!("event {reason}: {}", message(e)),
            ));
        }
    }
    for ((object, reason), g) in warnings {
        let at = g.first.max(w.start);
        let since = if g.first < w.start {
            " (began before the window)"
        } else {
            ""
        };
        out.push(Change::new(
            at,
            ChangeKind::Warning,
            object,
            format!(
                "Warning {reason} x{}{since}, last {} ago: {}",
                g.count,
                sopilot_mcp_common::age((w.now - g.last).max(0)),
                g.message
            ),
        ));
    }
    Ok(out)
}
