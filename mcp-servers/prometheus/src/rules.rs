//! `alerts` and `rules`, both from `/api/v1/rules` (Prometheus and Amazon Managed
//! Prometheus): every active alert with the rule behind it (expression, `for`, group), and
//! the rule groups with their health.

use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_mcp_common::{Table, age, cap, ok_json};

use crate::args;
use crate::client::{Call, Prom};
use crate::error::{ToolFailure, ToolResult};
use crate::query::MAX_TEXT;
use crate::series::{labels_text, num, rfc3339};
use crate::window;

/// One rule of a group, flattened.
struct Rule<'a> {
    group: &'a str,
    file: &'a str,
    rule: &'a Value,
}

async fn groups(p: &Prom, kind: Option<&str>) -> ToolResult<Value> {
    let params: Vec<(&str, String)> = kind.map(|k| ("type", k.to_owned())).into_iter().collect();
    let answer = p
        .get(Call {
            path: "rules",
            params: &params,
            what: "the rules and alerts (/api/v1/rules)",
            query: None,
        })
        .await?;
    Ok(answer.data)
}

fn flatten(data: &Value) -> Vec<Rule<'_>> {
    let mut out = Vec::new();
    for g in data["groups"].as_array().into_iter().flatten() {
        for r in g["rules"].as_array().into_iter().flatten() {
            out.push(Rule {
                group: g["name"].as_str().unwrap_or_default(),
                file: g["file"].as_str().unwrap_or_default(),
                rule: r,
            });
        }
    }
    out
}

fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// `for 5m` or nothing.
fn for_text(rule: &Value) -> String {
    match rule["duration"].as_f64() {
        #[allow(clippy::cast_possible_truncation)]
        Some(d) if d > 0.0 => format!("  for {}", window::duration(d as i64)),
        _ => String::new(),
    }
}

/// `a="b", c="d"` without `alertname` (the line already says it).
fn pairs(v: &Value) -> String {
    let kept: serde_json::Map<String, Value> = v
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "alertname")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let t = labels_text(&Value::Object(kept));
    t.strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(&t)
        .to_owned()
}

fn check_state(state: Option<&str>) -> ToolResult<Option<String>> {
    match state.map(str::to_lowercase).as_deref() {
        None | Some("") => Ok(None),
        Some(s @ ("firing" | "pending")) => Ok(Some(s.to_owned())),
        Some(other) => Err(ToolFailure::BadArgument(format!(
            "state {other:?} is not valid: use \"firing\" or \"pending\", or omit it for both"
        ))),
    }
}

pub async fn alerts(p: &Prom, a: args::Alerts) -> ToolResult<CallToolResult> {
    let state = check_state(a.state.as_deref())?;
    let data = groups(p, Some("alert")).await?;
    let rules = flatten(&data);
    let now = crate::clock::now();
    let mut active: Vec<(&Rule<'_>, &Value)> = Vec::new();
    for r in &rules {
        for alert in r.rule["alerts"].as_array().into_iter().flatten() {
            let s = alert["state"].as_str().unwrap_or_default();
            let name = r.rule["name"].as_str().unwrap_or_default();
            let keep = state.as_deref().is_none_or(|want| want == s)
                && a.name.as_deref().is_none_or(|n| contains(name, n))
                && a.labels
                    .iter()
                    .flatten()
                    .all(|(k, v)| alert["labels"][k] == *v);
            if keep && matches!(s, "firing" | "pending") {
                active.push((r, alert));
            }
        }
    }
    active.sort_by_key(|(_, al)| {
        (
            al["state"] != "firing",
            al["activeAt"].as_str().unwrap_or_default().to_owned(),
        )
    });
    let firing = active
        .iter()
        .filter(|(_, al)| al["state"] == "firing")
        .count();
    let mut text = format!(
        "{firing} firing, {} pending (of {} alerting rules)\n",
        active.len() - firing,
        rules.len()
    );
    if active.is_empty() {
        text.push_str("no active alerts match; rules lists every alerting rule and its health\n");
    }
    let mut out = Vec::new();
    for (r, al) in &active {
        let active_at = al["activeAt"].as_str().unwrap_or_default();
        let since = chrono::DateTime::parse_from_rfc3339(active_at).map_or_else(
            |_| active_at.to_owned(),
            |t| {
                let t = t.with_timezone(&chrono::Utc);
                format!(
                    "{} ({} ago)",
                    rfc3339(t.timestamp() as f64),
                    age((now - t).num_seconds())
                )
            },
        );
        let value = al["value"]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok())
            .map_or_else(String::new, |v| format!("  value {}", num(v)));
        text.push_str(&format!(
            "{}  {}  since {since}{value}\n  labels: {}\n  rule: {}{}  (group {})\n",
            al["state"].as_str().unwrap_or_default().to_uppercase(),
            r.rule["name"].as_str().unwrap_or_default(),
            pairs(&al["labels"]),
            r.rule["query"].as_str().unwrap_or_default(),
            for_text(r.rule),
            r.group,
        ));
        for (k, v) in al["annotations"].as_object().into_iter().flatten() {
            text.push_str(&format!("  {k}: {}\n", v.as_str().unwrap_or_default()));
        }
        out.push(json!({
            "alert": r.rule["name"], "state": al["state"], "active_at": al["activeAt"],
            "value": al["value"], "labels": al["labels"], "annotations": al["annotations"],
            "rule": {"query": r.rule["query"], "for_seconds": r.rule["duration"],
                     "group": r.group, "file": r.file},
        }));
    }
    let capped = cap(&text, MAX_TEXT, "filter by state, name or labels");
    Ok(ok_json(
        capped.text,
        &json!({"alerts": out, "firing": firing, "pending": active.len() - firing}),
    ))
}

fn check_kind(kind: Option<&str>) -> ToolResult<Option<&'static str>> {
    match kind.map(str::to_lowercase).as_deref() {
        None | Some("") => Ok(None),
        Some("alert" | "alerting") => Ok(Some("alert")),
        Some("record" | "recording") => Ok(Some("record")),
        Some(other) => Err(ToolFailure::BadArgument(format!(
            "type {other:?} is not valid: use \"alert\" or \"record\", or omit it for both"
        ))),
    }
}

pub async fn rules(p: &Prom, a: args::Rules) -> ToolResult<CallToolResult> {
    let kind = check_kind(a.kind.as_deref())?;
    let data = groups(p, kind).await?;
    let all = flatten(&data);
    let picked: Vec<&Rule<'_>> = all
        .iter()
        .filter(|r| {
            a.name.as_deref().is_none_or(|n| {
                contains(r.rule["name"].as_str().unwrap_or_default(), n) || contains(r.group, n)
            })
        })
        .collect();
    let mut table = Table::new(["GROUP", "RULE", "TYPE", "STATE", "HEALTH", "EXPRESSION"]);
    let mut broken = String::new();
    let mut out = Vec::new();
    for r in &picked {
        let rule = r.rule;
        let kind = rule["type"].as_str().unwrap_or_default();
        let state = rule["state"].as_str().unwrap_or("-");
        let health = rule["health"].as_str().unwrap_or("unknown");
        let expr = format!(
            "{}{}",
            rule["query"].as_str().unwrap_or_default(),
            for_text(rule)
        );
        table.row([
            r.group,
            rule["name"].as_str().unwrap_or_default(),
            kind,
            state,
            health,
            expr.as_str(),
        ]);
        if let Some(e) = rule["lastError"].as_str().filter(|e| !e.is_empty()) {
            broken.push_str(&format!(
                "{} ({}): last evaluation failed: {e}\n",
                rule["name"].as_str().unwrap_or_default(),
                r.group
            ));
        }
        out.push(json!({
            "group": r.group, "file": r.file, "name": rule["name"], "type": kind,
            "query": rule["query"], "for_seconds": rule["duration"], "state": rule["state"],
            "health": health, "last_error": rule["lastError"], "labels": rule["labels"],
            "annotations": rule["annotations"],
            "active_alerts": rule["alerts"].as_array().map_or(0, Vec::len),
        }));
    }
    let groups = data["groups"].as_array().map_or(0, Vec::len);
    let mut text = format!("{} rules in {groups} groups\n", picked.len());
    if !picked.is_empty() {
        text.push_str(&table.render());
    }
    text.push_str(&broken);
    let capped = cap(&text, MAX_TEXT, "filter by type or name");
    Ok(ok_json(capped.text, &json!({"rules": out})))
}
