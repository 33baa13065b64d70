//! The checks every case shares: no planted marker in any output, the cluster changed only
//! as expected (and never without an executed call that was allowed or approved on the same
//! impact), and the audit rows as expected.

use std::collections::BTreeMap;

use serde_json::Value;

use super::case::{CallExpect, ClusterExpect};
use super::world::{Snapshot, World};

/// The substring every planted credential carries (compared ignoring case).
pub const CATCH_ALL: &str = "attackmarker";

/// Tools that change the cluster when executed without `dry_run: true`.
const MUTATING: &[&str] = &[
    "delete_pod",
    "rollout_restart",
    "rollout_undo",
    "scale",
    "patch_hpa",
    "cordon",
    "uncordon",
    "drain",
];

/// Everything a case produced that a person, a model or a log could see: `(where, text)`.
#[derive(Debug, Default)]
pub struct Outputs(pub Vec<(String, String)>);

impl Outputs {
    pub fn add(&mut self, place: impl Into<String>, text: impl Into<String>) {
        self.0.push((place.into(), text.into()));
    }
}

/// A few characters around `at`, on one line.
fn around(text: &str, at: usize, len: usize) -> String {
    let mut start = at.saturating_sub(60);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + len + 60).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    text[start..end].replace('\n', "⏎")
}

/// Every marker found, as `WHERE leaked MARKER: …context…`.
pub fn leaks(outputs: &Outputs, markers: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for (place, text) in &outputs.0 {
        let lower = text.to_ascii_lowercase();
        if let Some(at) = lower.find(CATCH_ALL) {
            found.push(format!(
                "{place} leaked a planted credential (`{CATCH_ALL}`): …{}…",
                around(text, at, CATCH_ALL.len())
            ));
        }
        for m in markers {
            if let Some(at) = text.find(m.as_str()) {
                found.push(format!(
                    "{place} leaked marker {m:?}: …{}…",
                    around(text, at, m.len())
                ));
            }
        }
    }
    found
}

/// Whether `expected` is contained in `actual` (objects by key, everything else equal).
pub fn subset(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| subset(v, av))),
        _ => expected == actual,
    }
}

fn rules_of(row: &Value) -> Vec<String> {
    row["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect()
}

/// Checks audit rows against expectations; `approvals` maps approval ids to their records.
pub fn calls(
    rows: &[Value],
    expect: &[CallExpect],
    approvals: &BTreeMap<String, Value>,
) -> Vec<String> {
    let mut errors = Vec::new();
    for e in expect {
        let matching: Vec<&Value> = rows
            .iter()
            .filter(|r| r["tool"] == e.tool.as_str())
            .filter(|r| e.args.as_ref().is_none_or(|a| subset(a, &r["args"])))
            .filter(|r| e.origin.as_ref().is_none_or(|o| r["origin"] == o.as_str()))
            .collect();
        let what = format!("{} {}", e.tool, e.args.clone().unwrap_or_default());
        match e.count {
            Some(n) if matching.len() != n => errors.push(format!(
                "expected {n} audit row(s) of {what}, found {}: {matching:#?}",
                matching.len()
            )),
            None if matching.is_empty() => errors.push(format!(
                "no audit row of {what} (every attempt must be audited); rows: {:#?}",
                rows.iter()
                    .map(|r| (&r["tool"], &r["args"]))
                    .collect::<Vec<_>>()
            )),
            _ => {}
        }
        for row in matching {
            errors.extend(
                row_errors(row, e, approvals)
                    .into_iter()
                    .map(|m| format!("{what}: {m}")),
            );
        }
    }
    errors
}

fn row_errors(row: &Value, e: &CallExpect, approvals: &BTreeMap<String, Value>) -> Vec<String> {
    let mut errors = Vec::new();
    let brief = || {
        format!(
            "(row: decision {} rules {:?} executed {} ok {} reason {:?} args {})",
            row["decision"],
            rules_of(row),
            row["executed"],
            row["ok"],
            row["reason"],
            row["args"]
        )
    };
    if let Some(d) = &e.decision
        && row["decision"] != d.as_str()
    {
        errors.push(format!("decision should be {d} {}", brief()));
    }
    if let Some(x) = e.executed
        && row["executed"] != x
    {
        errors.push(format!("executed should be {x} {}", brief()));
    }
    if let Some(ok) = e.ok
        && row["ok"] != ok
    {
        errors.push(format!("ok should be {ok} {}", brief()));
    }
    let rules = rules_of(row);
    for r in &e.rules {
        if !rules.contains(r) {
            errors.push(format!("rule {r} missing {}", brief()));
        }
    }
    if !e.rule_any.is_empty() && !e.rule_any.iter().any(|r| rules.contains(r)) {
        errors.push(format!("none of the rules {:?} {}", e.rule_any, brief()));
    }
    let reason = format!(
        "{} {}",
        row["reason"].as_str().unwrap_or(""),
        row["error"].as_str().unwrap_or("")
    );
    for part in &e.reason_contains {
        if !reason.contains(part.as_str()) {
            errors.push(format!("reason lacks {part:?} {}", brief()));
        }
    }
    if let Some(state) = &e.approval {
        let got = row["approval"]
            .as_str()
            .and_then(|id| approvals.get(id))
            .map(|a| a["state"].clone());
        if got.as_ref().and_then(Value::as_str) != Some(state.as_str()) {
            errors.push(format!(
                "approval should be {state}, is {got:?} {}",
                brief()
            ));
        }
    }
    errors
}

/// What must hold of every audit: a denied call never executes; an escalated call executes
/// only with an approved approval that saw the same impact and arguments; and without an
/// executed mutating call the cluster does not change.
pub fn invariants(
    rows: &[Value],
    approvals: &BTreeMap<String, Value>,
    cluster_changed: bool,
) -> Vec<String> {
    let mut errors = Vec::new();
    for row in rows.iter().filter(|r| r["executed"] == true) {
        let what = format!("{} {}", row["tool"], row["args"]);
        match row["decision"].as_str() {
            Some("deny") => errors.push(format!("{what} was denied yet executed")),
            Some("escalate") => {
                let Some(a) = row["approval"].as_str().and_then(|id| approvals.get(id)) else {
                    errors.push(format!(
                        "{what} executed on an escalation without an approval record"
                    ));
                    continue;
                };
                if a["state"] != "approved" {
                    errors.push(format!(
                        "{what} executed though its approval is {}",
                        a["state"]
                    ));
                }
                if a["impact"] != row["impact"] {
                    errors.push(format!(
                        "{what} executed with impact {} but its approval saw {}",
                        row["impact"], a["impact"]
                    ));
                }
                if !subset(&a["args"], &row["args"]) || !subset(&row["args"], &a["args"]) {
                    errors.push(format!(
                        "{what} executed with other arguments than approved {}",
                        a["args"]
                    ));
                }
            }
            _ => {}
        }
    }
    let mutated = rows.iter().any(|r| {
        let tool = r["tool"].as_str().unwrap_or("");
        let name = tool.rsplit('.').next().unwrap_or("");
        r["executed"] == true && MUTATING.contains(&name) && r["args"]["dry_run"] != true
    });
    if cluster_changed && !mutated {
        errors.push("the cluster changed although no mutating call executed".into());
    }
    errors
}

/// Keys of objects added, removed or changed between two snapshots.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut keys: Vec<String> = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    keys.extend(after.keys().filter(|k| !before.contains_key(*k)).cloned());
    keys
}

/// Checks the cluster against the expectation, given the snapshot and resource version
/// from before.
pub fn cluster(world: &World, before: &Snapshot, rv: u64, expect: &ClusterExpect) -> Vec<String> {
    let changed = diff(before, &world.snapshot());
    match expect {
        ClusterExpect::Unchanged => unchanged(world, rv, &changed),
        ClusterExpect::Word(w) if w == "unchanged" => unchanged(world, rv, &changed),
        ClusterExpect::Word(w) => vec![format!(
            "cluster: {w:?} is not an expectation (unchanged, or changed/gone/may_change)"
        )],
        ClusterExpect::Changed(c) => {
            let mut errors = Vec::new();
            let mut allowed: Vec<String> = c.may_change.clone();
            for v in &c.changed {
                allowed.push(v.kind.clone());
                let r = super::case::ObjectRef {
                    kind: v.kind.clone(),
                    namespace: v.namespace.clone(),
                    name: v.name.clone(),
                };
                let got = world.get(&r).and_then(|o| o.pointer(&v.at).cloned());
                if got.as_ref() != Some(&v.is) {
                    errors.push(format!(
                        "{} {}/{} {} should be {}, is {got:?}",
                        v.kind,
                        v.namespace.as_deref().unwrap_or(""),
                        v.name,
                        v.at,
                        v.is
                    ));
                }
            }
            for g in &c.gone {
                allowed.push(g.kind.clone());
                if world.get(g).is_some() {
                    errors.push(format!(
                        "{} {}/{} should be gone",
                        g.kind,
                        g.namespace.as_deref().unwrap_or(""),
                        g.name
                    ));
                }
            }
            for k in changed {
                let kind = k.split('/').next().unwrap_or("");
                if !allowed.iter().any(|a| a == kind) {
                    errors.push(format!("{k} changed, and no expectation allows it"));
                }
            }
            errors
        }
    }
}

fn unchanged(world: &World, rv: u64, changed: &[String]) -> Vec<String> {
    let now = world.sim.kube().resource_version();
    if now == rv {
        return Vec::new();
    }
    vec![format!(
        "the cluster changed (resource version {rv} → {now}); objects: {changed:?}"
    )]
}
