//! `/runs`: the live list of runs (status, SOP, trigger, target, started, duration, tokens,
//! cost) with filters and search, and the charts over them.

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use sopilot_protocol::{ApprovalState, RunEvent, RunEventKind};
use sopilot_runtime::RunRow;

use super::html::{badge, esc, table, url_part};
use super::page::{ConsoleError, Nav, layout, ok};
use super::{charts, signed_in};
use crate::AppState;

/// How many runs the list reads.
const LISTED: usize = 200;

/// What the list shows of one run, read from its row and timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub trigger: String,
    pub target: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: Option<f64>,
    /// Seconds from start to finish (or to `now` while running).
    pub seconds: Option<i64>,
    pub started: Option<DateTime<Utc>>,
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A trigger as one line: its kind and what names it.
pub fn trigger_text(t: &Value) -> String {
    let kind = t["kind"].as_str().unwrap_or("unknown");
    let name = [
        &t["alarm"]["name"],
        &t["group"]["group_key"],
        &t["event"]["reason"],
        &t["request"]["text"],
        &t["schedule"]["name"],
        &t["by"],
    ]
    .into_iter()
    .find_map(Value::as_str)
    .unwrap_or("");
    let text = if name.is_empty() {
        kind.replace('_', " ")
    } else {
        format!("{} {name}", kind.replace('_', " "))
    };
    text.chars().take(120).collect()
}

/// The run's target as its parameters name it (`namespace/service`), else all of them.
pub fn target_text(params: &Value) -> String {
    let get = |k: &str| params[k].as_str().filter(|v| !v.is_empty());
    match (get("namespace"), get("service").or_else(|| get("pod"))) {
        (Some(ns), Some(name)) => format!("{ns}/{name}"),
        (Some(ns), None) => ns.to_owned(),
        _ => params
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default(),
    }
}

/// The facts of one run at `now`.
pub fn facts(
    row: &RunRow,
    events: &[RunEvent],
    prices: &sopilot_llm::PriceTable,
    now: DateTime<Utc>,
) -> Facts {
    let (mut input, mut output) = (0, 0);
    for e in events {
        if let RunEventKind::ModelTurn {
            input_tokens,
            output_tokens,
            ..
        } = &e.kind
        {
            input += input_tokens;
            output += output_tokens;
        }
    }
    let started = parse_time(&row.started_at);
    let end = row
        .finished_at
        .as_deref()
        .and_then(parse_time)
        .unwrap_or(now);
    let usage = sopilot_llm::Usage { input, output };
    Facts {
        trigger: trigger_text(&row.trigger),
        target: target_text(&row.params),
        input_tokens: input,
        output_tokens: output,
        cost_usd: prices
            .cost(&row.model, usage)
            .filter(|_| input + output > 0),
        seconds: started.map(|s| (end - s).num_seconds().max(0)),
        started,
    }
}

/// Seconds as `1h 02m`, `3m 05s` or `12s`.
pub fn duration_text(s: i64) -> String {
    match s {
        s if s >= 3600 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// The status of a run as its row stores it.
pub fn status_text(row: &RunRow) -> String {
    row.status.as_str().to_owned()
}

#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    sop: Option<String>,
    #[serde(default)]
    q: Option<String>,
}

impl Filter {
    fn keeps(&self, row: &RunRow, f: &Facts) -> bool {
        let given = |o: &Option<String>| o.as_deref().filter(|v| !v.is_empty()).map(str::to_owned);
        if given(&self.status).is_some_and(|st| status_text(row) != st) {
            return false;
        }
        if given(&self.sop).is_some_and(|sop| row.sop != sop) {
            return false;
        }
        match given(&self.q) {
            None => true,
            Some(q) => {
                let q = q.to_lowercase();
                [&row.id, &row.sop, &row.summary, &f.trigger, &f.target]
                    .iter()
                    .any(|t| t.to_lowercase().contains(&q))
            }
        }
    }
}

fn filter_form(f: &Filter, sops: &[String]) -> String {
    let sel = |o: &Option<String>, v: &str| {
        if o.as_deref() == Some(v) {
            " selected"
        } else {
            ""
        }
    };
    let mut statuses = String::from("<option value=\"\">any</option>");
    for st in [
        "running",
        "succeeded",
        "needs_human",
        "failed",
        "inconclusive",
        "cancelled",
        "interrupted",
    ] {
        let _ = write!(
            statuses,
            "<option{} value=\"{st}\">{}</option>",
            sel(&f.status, st),
            st.replace('_', " ")
        );
    }
    let mut sop_opts = String::from("<option value=\"\">any</option>");
    for s in sops {
        let _ = write!(
            sop_opts,
            "<option{} value=\"{}\">{}</option>",
            sel(&f.sop, s),
            esc(s),
            esc(s)
        );
    }
    format!(
        "<form class=\"filters\" method=\"get\" action=\"/runs\" role=\"search\"><label>Status <select name=\"status\">{statuses}</select></label> <label>SOP <select name=\"sop\">{sop_opts}</select></label> <label>Search <input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"id, trigger, target, summary\"></label> <button type=\"submit\">Filter</button></form>",
        esc(f.q.as_deref().unwrap_or(""))
    )
}

fn row_cells(row: &RunRow, f: &Facts) -> Vec<String> {
    vec![
        badge(&status_text(row)),
        format!(
            "<a href=\"/runs/{}\">{}</a><br><small>{}</small>",
            url_part(&row.id),
            esc(&row.sop),
            esc(&row.id)
        ),
        esc(&f.trigger),
        esc(&f.target),
        f.started
            .map(|t| {
                format!(
                    "<time datetime=\"{}\">{}</time>",
                    t.to_rfc3339(),
                    t.format("%Y-%m-%d %H:%M:%S")
                )
            })
            .unwrap_or_default(),
        f.seconds.map(duration_text).unwrap_or_default(),
        format!("{} / {}", f.input_tokens, f.output_tokens),
        f.cost_usd
            .map(|c| format!("${c:.4}"))
            .unwrap_or_else(|| "–".into()),
    ]
}

/// The runs table, or a line saying there are none.
fn listing(rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return "<p class=\"empty\">No runs yet. Runs appear here as triggers arrive.</p>".into();
    }
    let head = [
        "Status",
        "SOP",
        "Trigger",
        "Target",
        "Started",
        "Duration",
        "Tokens in/out",
        "Cost",
    ];
    table("runs", &head, rows)
}

/// Each approval's state and how long it waited for its decision (seconds, if decided).
type Latencies = Vec<(ApprovalState, Option<i64>)>;

/// Every approval's state and how long it waited for its decision (seconds), and how many
/// are pending.
fn approval_latencies(s: &AppState) -> Result<(Latencies, usize), ConsoleError> {
    let store = s.approvals.store();
    let approvals = store.approvals(None)?;
    let latencies = approvals
        .iter()
        .map(|a| {
            let decided = store.approval_decided_at(&a.id).ok().flatten();
            (a.state, decided.map(|d| (d - a.requested_at).num_seconds()))
        })
        .collect();
    let pending = approvals
        .iter()
        .filter(|a| a.state == ApprovalState::Pending)
        .count();
    Ok((latencies, pending))
}

fn banner(pending: usize) -> String {
    if pending == 0 {
        return String::new();
    }
    format!(
        "<p class=\"banner\" role=\"status\"><a href=\"/approvals\">{pending} approval{} waiting</a></p>",
        if pending == 1 { "" } else { "s" }
    )
}

/// `GET /runs`
pub async fn list(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(filter): Query<Filter>,
) -> Result<Response, ConsoleError> {
    let session = signed_in(&s, &headers)?;
    let live = super::events::live_url(&s, None);
    let now = Utc::now();
    let store = s.runs.store();
    let mut all = Vec::new();
    for row in store.runs(LISTED)? {
        let events = store.run(&row.id).map(|(_, e, _)| e).unwrap_or_default();
        let f = facts(&row, &events, &s.runs.runner().prices, now);
        all.push((row, events, f));
    }
    let mut sops: Vec<String> = s.runs.sops().iter().map(|x| x.name.clone()).collect();
    for (row, _, _) in &all {
        if !sops.contains(&row.sop) {
            sops.push(row.sop.clone());
        }
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .filter(|(row, _, f)| filter.keeps(row, f))
        .map(|(row, _, f)| row_cells(row, f))
        .collect();
    let (latencies, pending) = approval_latencies(&s)?;
    let timelines: Vec<(&RunRow, &[RunEvent])> =
        all.iter().map(|(r, e, _)| (r, e.as_slice())).collect();
    let main = format!(
        "<h1>Runs</h1>{}{}<section aria-label=\"Runs\">{}</section>{}",
        banner(pending),
        filter_form(&filter, &sops),
        listing(&rows),
        charts::overview(&timelines, &latencies, &s.metrics, now)
    );
    Ok(ok(layout(
        "Runs",
        Some(&session),
        Nav::Runs,
        Some(&live),
        &main,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn triggers_and_targets_read_as_one_line() {
        assert_eq!(
            trigger_text(
                &json!({"kind": "cloudwatch_alarm", "alarm": {"name": "payment-eks-critical"}})
            ),
            "cloudwatch alarm payment-eks-critical"
        );
        assert_eq!(trigger_text(&json!({"kind": "manual"})), "manual");
        assert_eq!(
            target_text(&json!({"namespace": "payment", "service": "payment-service"})),
            "payment/payment-service"
        );
        assert_eq!(target_text(&json!({"cluster": "eks"})), "cluster=eks");
        assert_eq!(duration_text(3725), "1h 02m");
        assert_eq!(duration_text(65), "1m 05s");
        assert_eq!(duration_text(7), "7s");
    }
}
