//! Discovery and scrape health: `series`, `label_values` and `targets`.

use std::collections::BTreeMap;

use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_mcp_common::{Table, age, cap, ok_json};

use crate::args;
use crate::client::{Call, Prom};
use crate::error::{ToolFailure, ToolResult};
use crate::query::{MAX_TEXT, Range};
use crate::series::labels_text;

/// Series `series` lists at most (counted in full).
const MAX_LISTED: usize = 200;

fn window_params(range: &Range) -> [(&'static str, String); 2] {
    [
        ("start", crate::window::epoch(range.start)),
        ("end", crate::window::epoch(range.end)),
    ]
}

pub async fn series(p: &Prom, a: args::SeriesArgs) -> ToolResult<CallToolResult> {
    if a.matchers.iter().all(|m| m.trim().is_empty()) {
        return Err(ToolFailure::BadArgument(
            "match needs at least one series selector, e.g. [\"up\"] or [\"{namespace=\\\"payment\\\"}\"]".into(),
        ));
    }
    let range = Range::new(a.minutes, a.end.as_deref(), None)?;
    let mut params: Vec<(&str, String)> =
        a.matchers.iter().map(|m| ("match[]", m.clone())).collect();
    params.extend(window_params(&range));
    let joined = a.matchers.join(", ");
    let what = format!("the series of {joined}");
    let answer = p
        .post(Call {
            path: "series",
            params: &params,
            what: &what,
            query: Some(&joined),
        })
        .await?;
    let list = answer.data.as_array().cloned().unwrap_or_default();
    let mut per_metric: BTreeMap<String, usize> = BTreeMap::new();
    for s in &list {
        *per_metric
            .entry(s["__name__"].as_str().unwrap_or("(no name)").to_owned())
            .or_default() += 1;
    }
    let counts: Vec<String> = per_metric
        .iter()
        .map(|(k, n)| format!("{k} ({n})"))
        .collect();
    let mut text = format!("{} series matching {joined}", list.len());
    if !counts.is_empty() {
        text.push_str(&format!("; by metric: {}", counts.join(", ")));
    }
    text.push('\n');
    for s in list.iter().take(MAX_LISTED) {
        text.push_str(&labels_text(s));
        text.push('\n');
    }
    if list.len() > MAX_LISTED {
        text.push_str(&format!(
            "[{} more series not listed; narrow the selector]\n",
            list.len() - MAX_LISTED
        ));
    }
    let capped = cap(&text, MAX_TEXT, "narrow the selector");
    let shown: Vec<&Value> = list.iter().take(MAX_LISTED).collect();
    Ok(ok_json(
        capped.text,
        &json!({"count": list.len(), "series": shown, "per_metric": per_metric}),
    ))
}

fn check_label(label: &str) -> ToolResult<()> {
    let mut chars = label.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ToolFailure::BadArgument(format!(
            "label {label:?} is not a Prometheus label name: letters, digits and _ (e.g. \"namespace\", \"pod\", or \"__name__\" for metric names)"
        )))
    }
}

pub async fn label_values(p: &Prom, a: args::LabelValues) -> ToolResult<CallToolResult> {
    check_label(&a.label)?;
    let range = Range::new(a.minutes, a.end.as_deref(), None)?;
    let matchers = a.matchers.unwrap_or_default();
    let mut params: Vec<(&str, String)> = matchers.iter().map(|m| ("match[]", m.clone())).collect();
    params.extend(window_params(&range));
    let path = format!("label/{}/values", a.label);
    let joined = matchers.join(", ");
    let what = format!("the values of label {}", a.label);
    let answer = p
        .get(Call {
            path: &path,
            params: &params,
            what: &what,
            query: (!joined.is_empty()).then_some(joined.as_str()),
        })
        .await?;
    let values: Vec<String> = answer
        .data
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let scope = if joined.is_empty() {
        String::new()
    } else {
        format!(" on {joined}")
    };
    let text = format!(
        "{} values of {}{scope}: {}\n",
        values.len(),
        a.label,
        values.join(", ")
    );
    let capped = cap(&text, MAX_TEXT, "add a match selector");
    Ok(ok_json(
        capped.text,
        &json!({"label": a.label, "values": values}),
    ))
}

fn check_health(h: Option<&str>) -> ToolResult<Option<&'static str>> {
    match h.map(str::to_lowercase).as_deref() {
        None | Some("") => Ok(None),
        Some("up") => Ok(Some("up")),
        Some("down") => Ok(Some("down")),
        Some(other) => Err(ToolFailure::BadArgument(format!(
            "health {other:?} is not valid: use \"up\" or \"down\", or omit it for all"
        ))),
    }
}

pub async fn targets(p: &Prom, a: args::Targets) -> ToolResult<CallToolResult> {
    let health = check_health(a.health.as_deref())?;
    let params = [("state", "active".to_owned())];
    let answer = p
        .get(Call { path: "targets", params: &params, what: "the scrape targets (/api/v1/targets)", query: None })
        .await
        .map_err(|e| match e {
            ToolFailure::Api { status: 404, .. } => ToolFailure::BadArgument(
                "this server does not serve /api/v1/targets (Amazon Managed Prometheus has no scrape targets of its own: its collectors are elsewhere); query `up == 0` with the query tool to find targets that fail to scrape".into(),
            ),
            other => other,
        })?;
    let now = crate::clock::now();
    let all = answer.data["activeTargets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut per_job: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for t in &all {
        let e = per_job
            .entry(t["labels"]["job"].as_str().unwrap_or("").to_owned())
            .or_default();
        if t["health"] == "up" {
            e.0 += 1
        } else {
            e.1 += 1
        }
    }
    let mut picked: Vec<&Value> = all
        .iter()
        .filter(|t| a.job.as_deref().is_none_or(|j| t["labels"]["job"] == j))
        .filter(|t| health.is_none_or(|h| t["health"] == h))
        .collect();
    picked.sort_by_key(|t| {
        (
            t["health"] == "up",
            t["labels"]["job"].as_str().unwrap_or_default().to_owned(),
        )
    });
    let jobs: Vec<String> = per_job
        .iter()
        .map(|(j, (up, down))| format!("{j}: {up} up, {down} down"))
        .collect();
    let mut text = format!("{} active targets; {}\n", all.len(), jobs.join("; "));
    let mut table = Table::new([
        "JOB",
        "INSTANCE",
        "HEALTH",
        "LAST SCRAPE",
        "DURATION",
        "ERROR",
    ]);
    let mut out = Vec::new();
    for t in &picked {
        let last = t["lastScrape"]
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
        let ago = last.map_or_else(
            || "-".to_owned(),
            |l| {
                format!(
                    "{} ago",
                    age((now - l.with_timezone(&chrono::Utc)).num_seconds())
                )
            },
        );
        let duration = t["lastScrapeDuration"]
            .as_f64()
            .map_or_else(String::new, |d| format!("{:.3}s", d));
        table.row([
            t["labels"]["job"].as_str().unwrap_or_default(),
            t["labels"]["instance"].as_str().unwrap_or_default(),
            t["health"].as_str().unwrap_or_default(),
            ago.as_str(),
            duration.as_str(),
            t["lastError"].as_str().unwrap_or_default(),
        ]);
        out.push(json!({
            "job": t["labels"]["job"], "instance": t["labels"]["instance"], "health": t["health"],
            "last_scrape": t["lastScrape"], "last_error": t["lastError"], "scrape_url": t["scrapeUrl"],
            "labels": t["labels"],
        }));
    }
    if !picked.is_empty() {
        text.push_str(&table.render());
    }
    let capped = cap(&text, MAX_TEXT, "filter by job or health");
    Ok(ok_json(
        capped.text,
        &json!({"targets": out, "per_job": per_job}),
    ))
}
