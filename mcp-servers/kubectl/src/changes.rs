//! `recent_changes`: what changed in a namespace (or one workload) within a window, as one
//! timeline, oldest first and newest last: rollouts with the difference between consecutive
//! revisions ([`crate::changes_diff`]), replica, HPA and ConfigMap changes (from managed
//! fields and events), nodes joining, leaving, tainted or unhealthy, and warning events.
//! The sources live in `changes_workloads` (rollouts, scaling, HPAs, ConfigMaps) and
//! `changes_cluster` (nodes, events); here: the window, the scope, the merge and the bound.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, Time};
use rmcp::model::CallToolResult;
use serde::Serialize;
use serde_json::json;
use sopilot_mcp_common::{age, ok_json};

use crate::args;
use crate::changes_cluster;
use crate::changes_workloads::{self, Workload};
use crate::discovery::Resolver;
use crate::error::{ToolFailure, ToolResult};
use crate::format;
use crate::lookup::ensure_namespace;

/// The default window: two hours.
const DEFAULT_MINUTES: i64 = 120;
/// The longest window: seven days.
const MAX_MINUTES: i64 = 7 * 24 * 60;
/// At most this many timeline lines; the model reads them all.
const MAX_ENTRIES: usize = 40;
/// One line's longest text.
const MAX_LINE: usize = 600;
/// The whole answer's budget (under the runtime's default 8 KiB per call).
const MAX_BYTES: usize = 7 * 1024;

/// What kind of change a line reports; also its rank when the timeline must be cut (the
/// first kinds are kept first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Rollout,
    Config,
    Scaling,
    Node,
    Warning,
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Epoch seconds.
    #[serde(skip)]
    pub at: i64,
    /// RFC 3339.
    pub time: String,
    pub kind: ChangeKind,
    /// `Kind/name`.
    pub object: String,
    pub summary: String,
}

impl Change {
    pub fn new(at: i64, kind: ChangeKind, object: impl Into<String>, summary: String) -> Self {
        Change {
            at,
            time: rfc3339(at),
            kind,
            object: object.into(),
            summary,
        }
    }
}

fn rfc3339(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| at.to_string())
}

/// The window: from `start` to `now`, epoch seconds.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: i64,
    pub now: i64,
}

impl Window {
    pub fn contains(&self, at: i64) -> bool {
        at >= self.start && at <= self.now + 60
    }

    /// Whether an API time is inside the window.
    pub fn has(&self, t: Option<&Time>) -> bool {
        t.is_some_and(|t| self.contains(format::epoch(t)))
    }
}

/// What the call looks at: the namespace, and the workloads in it (one when named).
#[derive(Debug)]
pub struct Scope {
    pub namespace: String,
    pub workloads: Vec<Workload>,
    /// A workload was named: ConfigMaps, HPAs and events are those of that workload.
    pub focused: bool,
}

impl Scope {
    /// Whether an object named `name` belongs to the scope's workloads (the workload itself,
    /// its ReplicaSets and pods, which carry its name as a prefix), or any when unfocused.
    pub fn covers(&self, name: &str) -> bool {
        !self.focused
            || self.workloads.iter().any(|w| {
                name == w.name
                    || name
                        .strip_prefix(w.name.as_str())
                        .is_some_and(|rest| rest.starts_with('-'))
            })
    }
}

/// The fields a managed-fields entry owns, as dotted paths of `f:` keys (`spec.replicas`,
/// `data.application.yaml`); list items (`k:`/`v:`/`i:`) end a path.
pub fn managed_paths(entry: &ManagedFieldsEntry) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(v) = entry.fields_v1.as_ref() {
        walk_fields(&v.0, "", &mut out);
    }
    out
}

fn walk_fields(v: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    let Some(map) = v.as_object() else { return };
    for (k, child) in map {
        let Some(name) = k.strip_prefix("f:") else {
            if k != "." && !prefix.is_empty() {
                out.insert(prefix.to_owned());
            }
            continue;
        };
        let path = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        };
        if child.as_object().is_none_or(|m| m.is_empty()) {
            out.insert(path);
        } else {
            walk_fields(child, &path, out);
        }
    }
}

/// The managed-fields entries written within the window, with their time.
pub fn managed_in_window<'a>(
    entries: Option<&'a Vec<ManagedFieldsEntry>>,
    w: &Window,
) -> Vec<(i64, &'a ManagedFieldsEntry)> {
    entries
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let at = format::epoch(e.time.as_ref()?);
            w.contains(at).then_some((at, e))
        })
        .collect()
}

/// `manager` (and `/subresource`) of an entry, for "set by ..." text.
pub fn manager_of(e: &ManagedFieldsEntry) -> String {
    let m = e.manager.clone().unwrap_or_else(|| "unknown".into());
    match e.subresource.as_deref().filter(|s| !s.is_empty()) {
        Some(sub) => format!("{m} (/{sub})"),
        None => m,
    }
}

/// A template from a ControllerRevision's `data` (`{"spec": {"template": ...}}`).
pub fn template_of_data(data: Option<&serde_json::Value>) -> Option<PodTemplateSpec> {
    serde_json::from_value(data?.pointer("/spec/template")?.clone()).ok()
}

/// Parses `since_minutes` into a window ending now.
fn window(since_minutes: Option<i64>, now: i64) -> ToolResult<Window> {
    let minutes = since_minutes.unwrap_or(DEFAULT_MINUTES);
    if !(1..=MAX_MINUTES).contains(&minutes) {
        return Err(ToolFailure::BadArgument(format!(
            "since_minutes {minutes} is out of range: give 1 to {MAX_MINUTES} (7 days); the default is {DEFAULT_MINUTES}"
        )));
    }
    Ok(Window {
        start: now - minutes * 60,
        now,
    })
}

/// Sorts oldest first and keeps what fits: at most [`MAX_ENTRIES`] lines and
/// [`MAX_BYTES`], dropping warnings before node, scaling, config and rollout lines, the
/// oldest first within a kind. Returns the timeline and how many lines were left out.
pub fn bound(mut changes: Vec<Change>) -> (Vec<Change>, usize) {
    for c in &mut changes {
        // Redacted before the cut: a cut credential no longer has a shape to recognise.
        if let std::borrow::Cow::Owned(r) = sopilot_mcp_common::redact(&c.summary) {
            c.summary = r;
        }
        if c.summary.len() > MAX_LINE {
            let mut end = MAX_LINE;
            while !c.summary.is_char_boundary(end) {
                end -= 1;
            }
            c.summary.truncate(end);
            c.summary.push_str(" ...");
        }
    }
    changes.sort_by(|a, b| (a.at, &a.object).cmp(&(b.at, &b.object)));
    changes.dedup();
    let total = changes.len();
    let size = |cs: &[Change]| cs.iter().map(|c| line(c, 0).len() + 1).sum::<usize>();
    while changes.len() > MAX_ENTRIES || size(&changes) > MAX_BYTES {
        // The least important kind present, its oldest line.
        let Some(worst) = changes.iter().map(|c| c.kind).max() else {
            break;
        };
        if let Some(i) = changes.iter().position(|c| c.kind == worst) {
            changes.remove(i);
        }
    }
    let left_out = total - changes.len();
    (changes, left_out)
}

/// One timeline line: time (and how long ago), object, what changed.
fn line(c: &Change, now: i64) -> String {
    format!(
        "{} ({} ago)  {}  {}",
        c.time,
        age((now - c.at).max(0)),
        c.object,
        c.summary
    )
}

/// `recent_changes`
pub async fn recent_changes(
    client: &kube::Client,
    resolver: &Resolver,
    a: args::RecentChanges,
) -> ToolResult<CallToolResult> {
    let now = format::now();
    let w = window(a.since_minutes, now)?;
    let ns = a.namespace.trim().to_owned();
    if ns.is_empty() {
        return Err(ToolFailure::BadArgument(
            "namespace is required, e.g. \"payment\"".into(),
        ));
    }
    ensure_namespace(client, &ns).await?;
    let workload = a
        .workload
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let scope = changes_workloads::scope(client, resolver, &ns, workload).await?;
    let mut changes = Vec::new();
    changes.extend(changes_workloads::rollouts(client, &scope, &w).await?);
    changes.extend(changes_workloads::scaling(client, &scope, &w).await?);
    changes.extend(changes_workloads::config_maps(client, &scope, &w).await?);
    changes.extend(changes_cluster::nodes(client, &w).await?);
    changes.extend(changes_cluster::events(client, &scope, &w).await?);
    let (timeline, left_out) = bound(changes);
    Ok(render(&scope, &w, timeline, left_out))
}

fn render(scope: &Scope, w: &Window, timeline: Vec<Change>, left_out: usize) -> CallToolResult {
    let what = if scope.focused {
        let names: Vec<String> = scope
            .workloads
            .iter()
            .map(|w| format!("{}/{}", w.kind, w.name))
            .collect();
        format!(
            "{} (namespace {}, and the nodes)",
            names.join(", "),
            scope.namespace
        )
    } else {
        format!("namespace {} (and the nodes)", scope.namespace)
    };
    let mut text = format!(
        "{} change{} in {what} over the last {} (since {}), oldest first, newest last. Env values are never shown: a changed env var is named and marked changed.\n",
        timeline.len(),
        if timeline.len() == 1 { "" } else { "s" },
        age(w.now - w.start),
        rfc3339(w.start)
    );
    if timeline.is_empty() {
        text.push_str("No rollout, scaling, ConfigMap, node or warning event in the window; widen it with since_minutes.\n");
    }
    for c in &timeline {
        text.push_str(&line(c, w.now));
        text.push('\n');
    }
    if left_out > 0 {
        text.push_str(&format!(
            "{left_out} older or less important line(s) left out (warnings first); narrow with workload or since_minutes.\n"
        ));
    }
    ok_json(
        text,
        &json!({
            "namespace": scope.namespace,
            "workloads": scope.workloads.iter().map(|w| format!("{}/{}", w.kind, w.name)).collect::<Vec<_>>(),
            "since": rfc3339(w.start),
            "changes": timeline,
            "left_out": left_out,
        }),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn change(at: i64, kind: ChangeKind, summary: &str) -> Change {
        Change::new(at, kind, "Deployment/x", summary.to_owned())
    }

    #[test]
    fn a_credential_across_the_line_cut_is_redacted_before_cutting() {
        let token = format!("ghp_{}", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8");
        let summary = format!(
            "{} change-cause: deploy with token {token}",
            "x".repeat(MAX_LINE - 40)
        );
        let (kept, _) = bound(vec![change(1, ChangeKind::Rollout, &summary)]);
        assert!(!kept[0].summary.contains("ghp_a1B2"), "{}", kept[0].summary);
    }

    #[test]
    fn the_timeline_is_oldest_first_and_cut_warnings_first() {
        let mut cs = vec![change(30, ChangeKind::Rollout, "rollout")];
        for i in 0..100 {
            cs.push(change(i, ChangeKind::Warning, &format!("warning {i}")));
        }
        cs.push(change(10, ChangeKind::Config, "config"));
        let (kept, left_out) = bound(cs);
        assert_eq!(kept.len(), MAX_ENTRIES);
        assert_eq!(left_out, 102 - MAX_ENTRIES);
        assert!(kept.windows(2).all(|p| p[0].at <= p[1].at));
        assert!(kept.iter().any(|c| c.kind == ChangeKind::Rollout));
        assert!(kept.iter().any(|c| c.kind == ChangeKind::Config));
        // The newest warnings stay.
        assert_eq!(kept.last().unwrap().summary, "warning 99");
    }

    #[test]
    fn long_lines_are_cut_and_the_answer_stays_in_budget() {
        let cs: Vec<Change> = (0..40)
            .map(|i| change(i, ChangeKind::Rollout, &"é".repeat(1000)))
            .collect();
        let (kept, left_out) = bound(cs);
        assert!(left_out > 0);
        let size: usize = kept.iter().map(|c| line(c, 0).len() + 1).sum();
        assert!(size <= MAX_BYTES, "{size}");
        assert!(kept[0].summary.ends_with(" ..."));
    }

    #[test]
    fn windows_are_checked() {
        assert!(window(Some(0), 1000).is_err());
        assert!(window(Some(MAX_MINUTES + 1), 1000).is_err());
        let w = window(None, 10_000).unwrap();
        assert_eq!(w.start, 10_000 - 7200);
        assert!(w.contains(9_000) && !w.contains(2_000));
    }

    #[test]
    fn managed_paths_read_fields_v1() {
        let e: ManagedFieldsEntry = serde_json::from_value(serde_json::json!({
            "manager": "kubectl-edit", "operation": "Update", "time": "2025-01-01T00:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:application.yaml": {}, "f:POOL": {}}, "f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"a\"}": {".": {}, "f:image": {}}}}}}}
        }))
        .unwrap();
        let p = managed_paths(&e);
        assert!(
            p.contains("data.application.yaml") && p.contains("data.POOL"),
            "{p:?}"
        );
        assert!(p.contains("spec.template.spec.containers"), "{p:?}");
        let scope = Scope {
            namespace: "n".into(),
            workloads: vec![Workload::named("Deployment", "pay")],
            focused: true,
        };
        assert!(scope.covers("pay") && scope.covers("pay-7d8f-x2k9p"));
        assert!(!scope.covers("payment") && !scope.covers("order"));
    }
}
