//! Logs: filter_log_events (newest events, most frequent messages) and logs_insights_query
//! (polled until done or the timeout), both capped in bytes with an explicit marker. Patterns
//! and queries pass [`crate::guard`] before they are sent; query rows are redacted with
//! their line as context ([`crate::context`]).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use aws_sdk_cloudwatchlogs::types::{QueryLanguage, QueryStatus};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_mcp_common::aws::AwsFailure;
use sopilot_mcp_common::{Table, cap, cap_tail, ok_json, redact};

use crate::Clients;
use crate::args::{FilterLogEvents, LogsInsightsQuery};
use crate::error::{ToolFailure, ToolResult};
use crate::metrics::check_minutes;
use crate::summary::rfc3339;
use crate::{context, guard};

const SERVICE: &str = "CloudWatch Logs";
const MAX_TEXT: usize = 16 * 1024;
/// Pages of 1,000 events read at most (the newest `limit` are kept).
const MAX_PAGES: usize = 20;
const POLL_EVERY: Duration = Duration::from_millis(500);

/// A Container Insights record shows as its pod and log line; anything else as written.
fn readable(stream: &str, message: &str) -> (String, String) {
    if message.starts_with('{')
        && let Ok(v) = serde_json::from_str::<Value>(message)
        && let Some(log) = v.get("log").and_then(Value::as_str)
    {
        let pod = v
            .pointer("/kubernetes/pod_name")
            .and_then(Value::as_str)
            .unwrap_or(stream);
        return (pod.to_owned(), one_line(log));
    }
    (stream.to_owned(), one_line(message))
}

/// Multi-line messages (stack traces) on one line, so each event is one line of output.
fn one_line(message: &str) -> String {
    message
        .trim_end()
        .replace("\r\n", " ⏎ ")
        .replace('\n', " ⏎ ")
}

/// The message with numbers blanked, so repeats of one error group together.
fn shape(message: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in message.chars().take(300) {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

/// Says which log groups exist near a name that does not.
async fn missing_group(c: &Clients, name: &str) -> ToolFailure {
    let prefix = name.rsplit_once('/').map_or("", |(p, _)| p);
    let mut similar = Vec::new();
    for p in [prefix, ""] {
        let resp = c
            .logs
            .describe_log_groups()
            .log_group_name_prefix(p)
            .limit(50)
            .send()
            .await;
        if let Ok(r) = resp {
            similar = r
                .log_groups()
                .iter()
                .filter_map(|g| g.log_group_name().map(str::to_owned))
                .collect();
        }
        if !similar.is_empty() {
            break;
        }
    }
    similar.truncate(20);
    ToolFailure::NotFound(format!(
        "log group {name:?} does not exist{}",
        if similar.is_empty() {
            String::new()
        } else {
            format!("; log groups: {}", similar.join(", "))
        }
    ))
}

pub async fn filter_log_events(c: &Clients, a: FilterLogEvents) -> ToolResult<CallToolResult> {
    let minutes = check_minutes(a.minutes.unwrap_or(30), 20_160)?;
    let limit = a.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ToolFailure::BadArgument(format!(
            "limit must be between 1 and 1000 (got {limit})"
        )));
    }
    let limit = usize::try_from(limit).unwrap_or(100);
    if let Some(p) = &a.pattern {
        guard::check_pattern(p)?;
    }
    let start = crate::clock::now().timestamp_millis() - minutes * 60_000;
    let mut newest: VecDeque<(i64, String, String)> = VecDeque::new();
    let mut counts: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut matched = 0usize;
    let mut token: Option<String> = None;
    let mut complete = false;
    for _ in 0..MAX_PAGES {
        let resp = c
            .logs
            .filter_log_events()
            .log_group_name(&a.log_group)
            .set_filter_pattern(a.pattern.clone())
            .start_time(start)
            .limit(1000)
            .set_next_token(token.clone())
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) if e.code() == Some("ResourceNotFoundException") => {
                return Err(missing_group(c, &a.log_group).await);
            }
            Err(e) if e.code() == Some("InvalidParameterException") => {
                return Err(ToolFailure::BadArgument(format!(
                    "CloudWatch Logs refused the request: {}; check the pattern (terms, \"phrases\", ?alternatives, -exclusions, %regex%)",
                    e.message().unwrap_or("invalid parameter")
                )));
            }
            Err(e) => return Err(ToolFailure::from_sdk(SERVICE, c.attempts, e)),
        };
        for ev in resp.events() {
            matched += 1;
            let (who, text) = readable(
                ev.log_stream_name().unwrap_or_default(),
                ev.message().unwrap_or_default(),
            );
            let text = redact(&text).into_owned();
            let entry = counts.entry(shape(&text)).or_insert((0, text.clone()));
            entry.0 += 1;
            newest.push_back((ev.timestamp().unwrap_or_default(), who, text));
            if newest.len() > limit {
                newest.pop_front();
            }
        }
        token = resp.next_token().map(str::to_owned);
        if token.is_none() {
            complete = true;
            break;
        }
    }
    let mut top: Vec<(usize, String)> = counts.into_values().collect();
    top.sort_by_key(|t| std::cmp::Reverse(t.0));
    top.truncate(5);
    let mut text = format!(
        "{}: {matched}{} event(s) matching {:?} in the last {minutes} min; showing the newest {}\n",
        a.log_group,
        if complete { "" } else { "+" },
        a.pattern.as_deref().unwrap_or(""),
        newest.len()
    );
    if !top.is_empty() {
        text.push_str("Most frequent:\n");
        for (n, m) in &top {
            text.push_str(&format!(
                "  {n} × {}\n",
                m.chars().take(240).collect::<String>()
            ));
        }
    }
    let mut lines = String::new();
    for (t, who, m) in &newest {
        let time = rfc3339(t.div_euclid(1000));
        lines.push_str(&format!(
            "{}  {who}  {m}\n",
            time.get(11..19).unwrap_or_default()
        ));
    }
    let capped = cap_tail(
        &lines,
        MAX_TEXT.saturating_sub(text.len()).max(1024),
        "narrow the pattern or the minutes",
    );
    text.push_str(&capped.text);
    if !complete {
        text.push_str(&format!(
            "\n[more events exist beyond the first {} read; narrow the pattern or the minutes]",
            MAX_PAGES * 1000
        ));
    }
    let structured = json!({
        "log_group": a.log_group, "pattern": a.pattern, "minutes": minutes,
        "matched": matched, "complete": complete, "truncated": capped.truncated || !complete,
        "top_messages": top.iter().map(|(n, m)| json!({"count": n, "message": m})).collect::<Vec<_>>(),
        "events": newest.iter().map(|(t, who, m)| json!({"timestamp": rfc3339(t.div_euclid(1000)), "source": who, "message": m})).collect::<Vec<_>>(),
    });
    Ok(ok_json(text, &structured))
}

pub async fn logs_insights_query(c: &Clients, a: LogsInsightsQuery) -> ToolResult<CallToolResult> {
    if a.log_groups.is_empty() || a.log_groups.len() > 50 {
        return Err(ToolFailure::BadArgument(
            "give between 1 and 50 log_groups".into(),
        ));
    }
    let minutes = check_minutes(a.minutes.unwrap_or(60), 20_160)?;
    let timeout = a.timeout_seconds.unwrap_or(30);
    if !(1..=120).contains(&timeout) {
        return Err(ToolFailure::BadArgument(format!(
            "timeout_seconds must be between 1 and 120 (got {timeout})"
        )));
    }
    let query = guard::check_query(&a.query)?;
    let end = crate::clock::now().timestamp();
    let started = c
        .logs
        .start_query()
        .set_log_group_names(Some(a.log_groups.clone()))
        .start_time(end - minutes * 60)
        .end_time(end)
        .query_language(QueryLanguage::Cwli)
        .query_string(&query)
        .send()
        .await;
    let id = match started {
        Ok(r) => r.query_id().unwrap_or_default().to_owned(),
        Err(e) if e.code() == Some("MalformedQueryException") => {
            return Err(ToolFailure::BadArgument(format!(
                "the query is malformed: {}",
                e.message().unwrap_or("no detail")
            )));
        }
        Err(e) if e.code() == Some("ResourceNotFoundException") => {
            let first = a.log_groups.first().cloned().unwrap_or_default();
            return Err(missing_group(c, &first).await);
        }
        Err(e) => return Err(ToolFailure::from_sdk(SERVICE, c.attempts, e)),
    };
    let deadline = Instant::now() + Duration::from_secs(timeout);
    loop {
        tokio::time::sleep(POLL_EVERY.min(deadline.saturating_duration_since(Instant::now())))
            .await;
        let r = c
            .logs
            .get_query_results()
            .query_id(&id)
            .send()
            .await
            .map_err(|e| ToolFailure::from_sdk(SERVICE, c.attempts, e))?;
        match r.status() {
            Some(QueryStatus::Complete) => {
                return Ok(render(&id, &r, minutes, query != a.query));
            }
            Some(QueryStatus::Failed | QueryStatus::Cancelled | QueryStatus::Timeout) => {
                return Err(AwsFailure::Refused {
                    service: SERVICE,
                    code: r.status().map_or("Unknown", |s| s.as_str()).to_owned(),
                    message: format!(
                        "query {id} ended without results; simplify it or shorten the time range"
                    ),
                }
                .into());
            }
            _ if Instant::now() >= deadline => {
                let _ = c.logs.stop_query().query_id(&id).send().await;
                return Err(ToolFailure::Timeout(format!(
                    "the Logs Insights query {id} was still running after {timeout} s and was stopped; shorten minutes, add a filter, or raise timeout_seconds (at most 120)"
                )));
            }
            _ => {}
        }
    }
}

/// The rows as a table and as structured rows; `amended` when SOPilot added `@message`.
fn render(
    id: &str,
    r: &aws_sdk_cloudwatchlogs::operation::get_query_results::GetQueryResultsOutput,
    minutes: i64,
    amended: bool,
) -> CallToolResult {
    let rows: Vec<Vec<(String, String)>> = r
        .results()
        .iter()
        .map(|row| {
            context::redact_row(
                row.iter()
                    .filter_map(|f| {
                        Some((
                            f.field()?.to_owned(),
                            f.value().unwrap_or_default().to_owned(),
                        ))
                    })
                    .filter(|(f, _)| f != "@ptr")
                    .collect(),
            )
        })
        .collect();
    let mut columns: Vec<String> = Vec::new();
    for row in &rows {
        for (f, _) in row {
            if !columns.contains(f) {
                columns.push(f.clone());
            }
        }
    }
    let mut table = Table::new(columns.iter().map(String::as_str));
    for row in &rows {
        table.row(columns.iter().map(|c| {
            row.iter()
                .find(|(f, _)| f == c)
                .map_or_else(String::new, |(_, v)| v.replace('\n', " "))
        }));
    }
    let stats = r.statistics();
    let head = format!(
        "{} row(s); {} of {} record(s) matched in the last {minutes} min{}\n",
        rows.len(),
        stats.map_or(0.0, |s| s.records_matched()),
        stats.map_or(0.0, |s| s.records_scanned()),
        if amended {
            " (SOPilot added @message to the selected fields, so each value is redacted in its line)"
        } else {
            ""
        }
    );
    let capped = cap(
        &table.render(),
        MAX_TEXT,
        "add `| limit N` or a filter to the query",
    );
    let structured = json!({
        "query_id": id,
        "status": "Complete",
        "records_matched": stats.map(|s| s.records_matched()),
        "records_scanned": stats.map(|s| s.records_scanned()),
        "truncated": capped.truncated,
        "message_added": amended,
        "rows": rows.iter().map(|row| row.iter().map(|(f, v)| (f.clone(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>()).collect::<Vec<_>>(),
    });
    ok_json(format!("{head}{}", capped.text), &structured)
}
