//! `query` (instant) and `query_range`: PromQL evaluated by the server, its answer shaped
//! for a reader (a table of values; a summary line per series then bounded points), the
//! values in structured content.

use chrono::{DateTime, Duration, Utc};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_mcp_common::{Table, cap, ok_json};

use crate::args;
use crate::client::{Answer, Call, Prom};
use crate::error::{ToolFailure, ToolResult};
use crate::series::{self, Series, labels_text, line, num, points_text, round, spread, summarise};
use crate::window;

/// Bytes of text a tool returns at most.
pub const MAX_TEXT: usize = 16 * 1024;
/// Series a range answer shows at most.
const MAX_SERIES: usize = 30;
/// Rows an instant answer shows at most.
const MAX_ROWS: usize = 200;
/// Points per series in the structured content at most.
const MAX_POINTS: usize = 60;
const HINT: &str = "add label matchers, aggregate with sum by (...), or use topk(10, ...)";

/// PromQL's own evaluation timeout: a little under the request's.
fn engine_timeout(p: &Prom) -> String {
    format!("{}s", p.timeout().as_secs().saturating_sub(1).max(1))
}

fn empty_hint(query: &str) -> String {
    format!(
        "no series: `{query}` matched nothing. Check metric and label names with series {{match: [\"METRIC\"]}} or label_values {{label: \"__name__\"}}; a counter needs rate(...[5m]) and data in the window"
    )
}

fn warnings_text(a: &Answer) -> String {
    a.warnings
        .iter()
        .map(|w| format!("warning from Prometheus: {w}\n"))
        .collect()
}

pub async fn query(p: &Prom, a: args::Query) -> ToolResult<CallToolResult> {
    let at = window::instant(a.time.as_deref(), "time")?;
    let what = format!("the query `{}`", a.query);
    let params = [
        ("query", a.query.clone()),
        ("time", window::epoch(at)),
        ("timeout", engine_timeout(p)),
    ];
    let answer = p
        .post(Call {
            path: "query",
            params: &params,
            what: &what,
            query: Some(&a.query),
        })
        .await?;
    let data = &answer.data;
    let at_text = series::rfc3339(at.timestamp() as f64);
    let (body, structured) = match data["resultType"].as_str().unwrap_or_default() {
        "vector" => vector(&a.query, &data["result"]),
        "matrix" => {
            let s = series::matrix(&data["result"]);
            ranges(&a.query, &s, None)
        }
        kind @ ("scalar" | "string") => {
            let v = series::sample(&data["result"]).map_or_else(
                || data["result"][1].as_str().unwrap_or_default().to_owned(),
                |(_, v)| num(v),
            );
            (format!("{kind}: {v}\n"), json!({kind: v}))
        }
        other => {
            return Err(ToolFailure::NotPrometheus {
                url: p.url().to_owned(),
                what,
                message: format!("unknown resultType {other:?}"),
            });
        }
    };
    let text = format!(
        "`{}` at {at_text}\n{}{body}",
        a.query,
        warnings_text(&answer)
    );
    let capped = cap(&text, MAX_TEXT, HINT);
    let structured = json!({
        "query": a.query, "time": at_text, "result": structured,
        "warnings": answer.warnings, "truncated": capped.truncated,
    });
    Ok(ok_json(capped.text, &structured))
}

/// An instant vector: a table in Prometheus's order.
fn vector(query: &str, result: &Value) -> (String, Value) {
    let rows = result.as_array().cloned().unwrap_or_default();
    if rows.is_empty() {
        return (format!("{}\n", empty_hint(query)), json!([]));
    }
    let mut table = Table::new(["SERIES", "VALUE"]);
    let mut out = Vec::new();
    for r in rows.iter().take(MAX_ROWS) {
        let v = series::sample(&r["value"]).map_or(f64::NAN, |s| s.1);
        table.row([labels_text(&r["metric"]), num(v)]);
        out.push(json!({"labels": r["metric"], "value": num(v)}));
    }
    let mut text = format!("{} series\n{}", rows.len(), table.render());
    if rows.len() > MAX_ROWS {
        text.push_str(&format!(
            "[{} more series not shown; {HINT}]\n",
            rows.len() - MAX_ROWS
        ));
    }
    (text, Value::Array(out))
}

/// Range series: a summary line each, then bounded points.
fn ranges(query: &str, all: &[Series], step: Option<i64>) -> (String, Value) {
    if all.is_empty() {
        return (format!("{}\n", empty_hint(query)), json!([]));
    }
    let shown = &all[..all.len().min(MAX_SERIES)];
    let span = shown
        .iter()
        .flat_map(|s| [s.points.first(), s.points.last()])
        .flatten()
        .map(|p| p.0)
        .fold((f64::MAX, f64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    let with_day = span.1 - span.0 > 86_400.0;
    // Bytes per series the text can spend on points (about 14 a point).
    let per_series = MAX_TEXT / shown.len();
    let k = (per_series.saturating_sub(250) / 14).clamp(2, 60);
    let mut text = format!("{} series", all.len());
    if let Some(s) = step {
        text.push_str(&format!(", step {}", window::duration(s)));
    }
    text.push('\n');
    let mut out = Vec::new();
    for s in shown {
        let summary = summarise(&s.points);
        let pts = spread(&s.points, k);
        text.push_str(&format!("{}\n  {}\n", s.labels, line(summary.as_ref())));
        let note = if pts.len() < s.points.len() {
            format!(" ({} of {} points)", pts.len(), s.points.len())
        } else {
            String::new()
        };
        text.push_str(&format!(
            "  points{note}: {}\n",
            points_text(&pts, with_day)
        ));
        let structured: Vec<Value> = spread(&s.points, MAX_POINTS)
            .iter()
            .map(|(t, v)| json!({"t": series::rfc3339(*t), "v": num(round(*v))}))
            .collect();
        out.push(json!({"series": s.labels, "summary": summary, "points": structured}));
    }
    if all.len() > MAX_SERIES {
        text.push_str(&format!(
            "[{} more series not shown; {HINT}]\n",
            all.len() - MAX_SERIES
        ));
    }
    (text, Value::Array(out))
}

/// The window `[end - minutes, end]` and its step.
pub struct Range {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub step: i64,
}

impl Range {
    pub fn new(minutes: Option<i64>, end: Option<&str>, step: Option<i64>) -> ToolResult<Range> {
        let minutes = window::minutes(minutes, 60, 10_080)?;
        let end = window::instant(end, "end")?;
        Ok(Range {
            start: end - Duration::minutes(minutes),
            end,
            step: window::step(minutes * 60, step)?,
        })
    }
}

/// Evaluates `query` over `range`: its series.
pub async fn fetch_range(p: &Prom, query: &str, range: &Range) -> ToolResult<Vec<Series>> {
    let what = format!("the range query `{query}`");
    let params = [
        ("query", query.to_owned()),
        ("start", window::epoch(range.start)),
        ("end", window::epoch(range.end)),
        ("step", range.step.to_string()),
        ("timeout", engine_timeout(p)),
    ];
    let answer = p
        .post(Call {
            path: "query_range",
            params: &params,
            what: &what,
            query: Some(query),
        })
        .await?;
    Ok(series::matrix(&answer.data["result"]))
}

pub async fn query_range(p: &Prom, a: args::QueryRange) -> ToolResult<CallToolResult> {
    let range = Range::new(a.minutes, a.end.as_deref(), a.step_seconds)?;
    let all = fetch_range(p, &a.query, &range).await?;
    let (body, structured) = ranges(&a.query, &all, Some(range.step));
    let (from, to) = (
        series::rfc3339(range.start.timestamp() as f64),
        series::rfc3339(range.end.timestamp() as f64),
    );
    let text = format!("`{}` from {from} to {to}\n{body}", a.query);
    let capped = cap(&text, MAX_TEXT, HINT);
    let structured = json!({
        "query": a.query, "start": from, "end": to, "step_seconds": range.step,
        "series": structured, "truncated": capped.truncated,
    });
    Ok(ok_json(capped.text, &structured))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_series_stay_within_the_budget_and_say_how_many_are_left_out() {
        let all: Vec<Series> = (0..40)
            .map(|i| Series {
                labels: format!("x{{pod=\"p-{i}\"}}"),
                points: (0..121)
                    .map(|j| (f64::from(j) * 30.0, f64::from(i + j)))
                    .collect(),
            })
            .collect();
        let (text, structured) = ranges("x", &all, Some(30));
        assert!(text.len() <= MAX_TEXT, "{}", text.len());
        assert!(text.starts_with("40 series, step 30s\n"), "{text}");
        assert!(text.contains("[10 more series not shown;"), "{text}");
        assert_eq!(structured.as_array().map(Vec::len), Some(MAX_SERIES));
        let one = ranges("x", &all[..1], Some(30)).0;
        assert!(
            one.contains("points (60 of 121 points): 00:00 0  "),
            "{one}"
        );
    }

    #[test]
    fn empty_answers_say_how_to_find_names() {
        let (text, _) = vector("nope", &json!([]));
        assert!(
            text.contains("label_values {label: \"__name__\"}"),
            "{text}"
        );
    }
}
