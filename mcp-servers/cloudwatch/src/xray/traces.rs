//! `trace_summaries`: the traces matching a filter expression, grouped by where they failed
//! (the fault or error root cause X-Ray computed: the deepest service, the call into it and
//! its exception), by entry point and by service touched, with the slowest traces.

use std::collections::BTreeMap;

use aws_sdk_xray::primitives::DateTime;
use aws_sdk_xray::types::{ErrorRootCause, FaultRootCause, TraceSummary};
use rmcp::model::CallToolResult;
use serde::Serialize;
use serde_json::json;
use sopilot_mcp_common::{Table, cap, ok_json};

use super::{MAX_TEXT, SERVICE, span, window};
use crate::Clients;
use crate::args::TraceSummaries;
use crate::error::{ToolFailure, ToolResult};
use crate::summary::{rfc3339, round};

/// Pages of GetTraceSummaries read at most.
const MAX_PAGES: usize = 10;
/// Summaries read at most, whatever the pages hold.
const MAX_TRACES: usize = 1000;
/// An exception message is cut to this many characters.
const MAX_MESSAGE: usize = 160;

/// Where a trace failed, as X-Ray's root-cause analysis says.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Cause {
    kind: &'static str,
    service: String,
    service_type: String,
    /// The caller → culprit call, from the entity path.
    via: String,
    exception: String,
}

/// The message redacted, then cut to [`MAX_MESSAGE`] characters: redacting after the cut
/// would miss a credential the cut shortened below its recognisable shape.
fn clip(s: &str) -> String {
    let s = &*sopilot_redact::redact(s);
    if s.chars().count() <= MAX_MESSAGE {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(MAX_MESSAGE).collect::<String>())
    }
}

/// An exception as (name, message).
type Exception = (Option<String>, Option<String>);
/// One entity of a root cause's path: its name and the exceptions it recorded.
type Entity = (Option<String>, Vec<Exception>);

/// Builds a [`Cause`] from one root-cause service's parts.
fn cause(
    kind: &'static str,
    name: Option<&str>,
    kind_of: Option<&str>,
    path: Vec<Entity>,
) -> Cause {
    let names: Vec<String> = path.iter().filter_map(|(n, _)| n.clone()).collect();
    let via = match names.as_slice() {
        [.., a, b] => format!("{a} → {b}"),
        [a] => a.clone(),
        [] => String::new(),
    };
    let exception = path
        .iter()
        .rev()
        .flat_map(|(_, ex)| ex.iter())
        .next()
        .map(|(n, m)| {
            clip(&format!(
                "{}{}",
                n.as_deref().unwrap_or("exception"),
                m.as_deref()
                    .filter(|m| !m.is_empty())
                    .map_or(String::new(), |m| format!(": {m}"))
            ))
        })
        .unwrap_or_default();
    Cause {
        kind,
        service: name.unwrap_or("?").to_owned(),
        service_type: kind_of.unwrap_or("?").to_owned(),
        via,
        exception,
    }
}

fn fault_causes(c: &[FaultRootCause]) -> Vec<Cause> {
    c.iter()
        .flat_map(|c| c.services())
        .map(|s| {
            let path = s
                .entity_path()
                .iter()
                .map(|e| {
                    let ex = e
                        .exceptions()
                        .iter()
                        .map(|x| (x.name().map(str::to_owned), x.message().map(str::to_owned)))
                        .collect();
                    (e.name().map(str::to_owned), ex)
                })
                .collect();
            cause("fault", s.name(), s.r#type(), path)
        })
        .collect()
}

fn error_causes(c: &[ErrorRootCause]) -> Vec<Cause> {
    c.iter()
        .flat_map(|c| c.services())
        .map(|s| {
            let path = s
                .entity_path()
                .iter()
                .map(|e| {
                    let ex = e
                        .exceptions()
                        .iter()
                        .map(|x| (x.name().map(str::to_owned), x.message().map(str::to_owned)))
                        .collect();
                    (e.name().map(str::to_owned), ex)
                })
                .collect();
            cause("error", s.name(), s.r#type(), path)
        })
        .collect()
}

/// One group of traces (a root cause or an entry point).
#[derive(Debug, Clone, Default, Serialize)]
struct Group {
    traces: usize,
    /// HTTP status → count.
    statuses: BTreeMap<String, usize>,
    worst_s: f64,
    worst_trace: String,
    total_s: f64,
}

impl Group {
    fn add(&mut self, t: &TraceSummary) {
        let secs = t.duration().or(t.response_time()).unwrap_or(0.0);
        self.traces += 1;
        self.total_s += secs;
        if secs >= self.worst_s {
            self.worst_s = round(secs);
            self.worst_trace = t.id().unwrap_or_default().to_owned();
        }
        let status = t
            .http()
            .and_then(|h| h.http_status())
            .map_or_else(|| "-".to_owned(), |s| s.to_string());
        *self.statuses.entry(status).or_default() += 1;
    }

    fn avg(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let n = self.traces.max(1) as f64;
        round(self.total_s / n)
    }

    fn statuses(&self) -> String {
        self.statuses
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

async fn fetch(
    c: &Clients,
    filter: &str,
    from: i64,
    to: i64,
) -> ToolResult<(Vec<TraceSummary>, i64, bool)> {
    let mut out = Vec::new();
    let mut processed = 0;
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let resp = c
            .xray
            .get_trace_summaries()
            .start_time(DateTime::from_secs(from))
            .end_time(DateTime::from_secs(to))
            .filter_expression(filter)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| ToolFailure::from_sdk(SERVICE, c.attempts, e))?;
        processed = processed.max(resp.traces_processed_count().unwrap_or(0));
        out.extend(resp.trace_summaries().iter().cloned());
        token = resp.next_token().map(str::to_owned);
        if token.is_none() || out.len() >= MAX_TRACES {
            break;
        }
    }
    out.truncate(MAX_TRACES);
    Ok((out, processed, token.is_some()))
}

/// Traces grouped three ways.
#[derive(Debug, Default)]
struct Grouped {
    causes: BTreeMap<Cause, Group>,
    entries: BTreeMap<String, Group>,
    services: BTreeMap<String, usize>,
}

fn group(traces: &[TraceSummary]) -> Grouped {
    let mut g = Grouped::default();
    for t in traces {
        let mut causes = fault_causes(t.fault_root_causes());
        if causes.is_empty() {
            causes = error_causes(t.error_root_causes());
        }
        causes.dedup();
        for c in causes {
            g.causes.entry(c).or_default().add(t);
        }
        let entry = format!(
            "{} {} {}",
            t.entry_point().and_then(|e| e.name()).unwrap_or("?"),
            t.http().and_then(|h| h.http_method()).unwrap_or(""),
            t.http().and_then(|h| h.http_url()).unwrap_or("")
        );
        g.entries.entry(entry.trim().to_owned()).or_default().add(t);
        for s in t.service_ids() {
            if let Some(n) = s.name() {
                *g.services.entry(n.to_owned()).or_default() += 1;
            }
        }
    }
    g
}

fn by_count<K: Clone>(m: &BTreeMap<K, Group>) -> Vec<(K, Group)> {
    let mut v: Vec<(K, Group)> = m.iter().map(|(k, g)| (k.clone(), g.clone())).collect();
    v.sort_by(|a, b| {
        b.1.traces
            .cmp(&a.1.traces)
            .then(b.1.worst_s.total_cmp(&a.1.worst_s))
    });
    v
}

fn render(g: &Grouped, limit: usize) -> String {
    let mut text = String::new();
    let causes = by_count(&g.causes);
    if !causes.is_empty() {
        let mut t = Table::new([
            "TRACES",
            "ROOT CAUSE",
            "TYPE",
            "FAILING CALL",
            "EXCEPTION",
            "AVG",
            "WORST (TRACE)",
        ]);
        for (c, gr) in causes.iter().take(limit) {
            t.row([
                gr.traces.to_string(),
                format!("{} ({})", c.service, c.kind),
                c.service_type.clone(),
                c.via.clone(),
                if c.exception.is_empty() {
                    "-".into()
                } else {
                    c.exception.clone()
                },
                format!("{} s", gr.avg()),
                format!("{} s ({})", gr.worst_s, gr.worst_trace),
            ]);
        }
        text.push_str(&format!(
            "\nRoot causes (the deepest service that failed, as X-Ray found it):\n{}",
            t.render()
        ));
        if causes.len() > limit {
            text.push_str(&format!("... {} more root causes\n", causes.len() - limit));
        }
    }
    let mut t = Table::new([
        "TRACES",
        "ENTRY POINT",
        "HTTP STATUS",
        "AVG",
        "WORST (TRACE)",
    ]);
    for (e, gr) in by_count(&g.entries).iter().take(limit) {
        t.row([
            gr.traces.to_string(),
            e.clone(),
            gr.statuses(),
            format!("{} s", gr.avg()),
            format!("{} s ({})", gr.worst_s, gr.worst_trace),
        ]);
    }
    text.push_str(&format!("\nEntry points:\n{}", t.render()));
    let mut services: Vec<(&String, &usize)> = g.services.iter().collect();
    services.sort_by(|a, b| b.1.cmp(a.1));
    let list: Vec<String> = services
        .iter()
        .take(limit)
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    text.push_str(&format!(
        "\nServices in these traces: {}\n",
        list.join(", ")
    ));
    text
}

pub async fn trace_summaries(c: &Clients, a: TraceSummaries) -> ToolResult<CallToolResult> {
    let (from, to) = window(a.minutes, 30, 24 * 60)?;
    let limit = a.limit.unwrap_or(10).clamp(1, 50);
    let filter = a
        .filter
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .unwrap_or("fault = true");
    let (traces, processed, more) = fetch(c, filter, from, to).await?;
    let g = group(&traces);
    let header = format!(
        "X-Ray traces matching {filter:?}, {}: {}{} of {processed} traces processed.",
        span(from, to),
        traces.len(),
        if more {
            format!(" read (the first {MAX_TRACES}; more match: narrow the filter or the window)")
        } else {
            String::new()
        },
    );
    let text = if traces.is_empty() {
        format!(
            "{header} None match; try a wider window, or service(\"NAME\") to see a service's traces."
        )
    } else {
        format!("{header}\n{}", render(&g, limit))
    };
    let structured = json!({
        "filter": filter,
        "from": rfc3339(from),
        "to": rfc3339(to),
        "traces_read": traces.len(),
        "traces_processed": processed,
        "truncated": more,
        "root_causes": by_count(&g.causes).iter().take(limit).map(|(c, gr)| json!({
            "kind": c.kind, "service": c.service, "type": c.service_type, "failing_call": c.via,
            "exception": c.exception, "traces": gr.traces, "avg_s": gr.avg(), "worst_s": gr.worst_s,
            "worst_trace": gr.worst_trace, "statuses": gr.statuses,
        })).collect::<Vec<_>>(),
        "entry_points": by_count(&g.entries).iter().take(limit).map(|(e, gr)| json!({
            "entry": e, "traces": gr.traces, "avg_s": gr.avg(), "worst_s": gr.worst_s,
            "worst_trace": gr.worst_trace, "statuses": gr.statuses,
        })).collect::<Vec<_>>(),
        "services": g.services,
    });
    Ok(ok_json(
        cap(&text, MAX_TEXT, "narrow the filter, or lower limit").text,
        &structured,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_across_the_cut_is_redacted_before_cutting() {
        let token = format!("ghp_{}", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8");
        let message = format!(
            "{} Authorization header was: token {token}",
            "x".repeat(110)
        );
        let clipped = clip(&message);
        assert!(!clipped.contains("ghp_a1B2"), "{clipped}");
        assert!(clipped.chars().count() <= MAX_MESSAGE + 1, "{clipped}");
    }

    #[test]
    fn a_cause_names_the_failing_call_and_the_deepest_exception() {
        let c = cause(
            "fault",
            Some("db"),
            Some("Database::SQL"),
            vec![
                (Some("api".into()), vec![]),
                (
                    Some("db".into()),
                    vec![(Some("Timeout".into()), Some("x".repeat(300)))],
                ),
            ],
        );
        assert_eq!(c.via, "api → db");
        assert!(
            c.exception.starts_with("Timeout: xxx")
                && c.exception.chars().count() == MAX_MESSAGE + 1
        );
        assert_eq!(cause("error", None, None, vec![]).via, "");
    }
}
