//! Charts as inline SVG drawn on the server (no script, no library): runs and policy
//! decisions per hour over the last day, approval latency, and the counters of `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Duration, Timelike, Utc};
use sopilot_protocol::{ApprovalState, RunEvent, RunEventKind};
use sopilot_runtime::RunRow;

use super::html::esc;
use super::runs::status_text;
use crate::Metrics;

/// One series of a stacked bar chart: its name, its CSS class and a count per bar.
pub struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub counts: Vec<u64>,
}

/// A stacked bar chart: one bar per label, the series stacked in order. The SVG carries a
/// title and a description for screen readers, and a table of the same figures follows it.
pub fn stacked(title: &str, labels: &[String], series: &[Series<'_>]) -> String {
    let (w, h, pad) = (480.0_f64, 120.0_f64, 18.0_f64);
    let totals: Vec<u64> = (0..labels.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.counts.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1) as f64;
    let bar_w = (w / labels.len().max(1) as f64).max(1.0);
    let mut bars = String::new();
    for (i, label) in labels.iter().enumerate() {
        let mut y = h - pad;
        for s in series {
            let c = s.counts.get(i).copied().unwrap_or(0);
            if c == 0 {
                continue;
            }
            let bh = c as f64 / max * (h - 2.0 * pad);
            y -= bh;
            let _ = write!(
                bars,
                "<rect class=\"{}\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bh:.1}\"><title>{}: {} {c}</title></rect>",
                esc(s.class),
                i as f64 * bar_w + 1.0,
                (bar_w - 2.0).max(1.0),
                esc(label),
                esc(s.name)
            );
        }
    }
    let first = labels.first().map(String::as_str).unwrap_or("");
    let last = labels.last().map(String::as_str).unwrap_or("");
    let legend: String = series
        .iter()
        .map(|s| {
            format!(
                "<li><span class=\"swatch {}\"></span>{} {}</li>",
                esc(s.class),
                esc(s.name),
                s.counts.iter().sum::<u64>()
            )
        })
        .collect();
    format!(
        "<figure class=\"chart\"><figcaption>{t}</figcaption><svg viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{t}\"><line class=\"axis\" x1=\"0\" y1=\"{base}\" x2=\"{w}\" y2=\"{base}\"></line>{bars}<text x=\"0\" y=\"{h}\">{}</text><text x=\"{w}\" y=\"{h}\" text-anchor=\"end\">{}</text><text x=\"0\" y=\"10\">max {}</text></svg><ul class=\"legend\">{legend}</ul></figure>",
        esc(first),
        esc(last),
        max as u64,
        t = esc(title),
        base = h - pad,
    )
}

/// The last 24 hours ending with `now`'s, as hour starts.
fn hours(now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let top = now
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    (0..24).rev().map(|i| top - Duration::hours(i)).collect()
}

fn bucket(hours: &[DateTime<Utc>], at: DateTime<Utc>) -> Option<usize> {
    let first = *hours.first()?;
    if at < first {
        return None;
    }
    let i = (at - first).num_hours() as usize;
    (i < hours.len()).then_some(i)
}

fn started(row: &RunRow) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&row.started_at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Runs started per hour, by status.
pub fn runs_per_hour(runs: &[(&RunRow, &[RunEvent])], now: DateTime<Utc>) -> String {
    let hs = hours(now);
    let kinds = [
        ("succeeded", "good"),
        ("needs_human", "wait"),
        ("running", "info"),
        ("failed", "bad"),
        ("other", "plain"),
    ];
    let mut series: Vec<Series<'_>> = kinds
        .iter()
        .map(|(n, c)| Series {
            name: n,
            class: c,
            counts: vec![0; hs.len()],
        })
        .collect();
    for (row, _) in runs {
        let Some(i) = started(row).and_then(|t| bucket(&hs, t)) else {
            continue;
        };
        let st = status_text(row);
        let k = kinds.iter().position(|(n, _)| *n == st).unwrap_or(4);
        series[k].counts[i] += 1;
    }
    stacked("Runs started per hour, last 24 h", &labels(&hs), &series)
}

/// Policy decisions per hour.
pub fn decisions_per_hour(runs: &[(&RunRow, &[RunEvent])], now: DateTime<Utc>) -> String {
    let hs = hours(now);
    let kinds = [("allow", "good"), ("escalate", "wait"), ("deny", "bad")];
    let mut series: Vec<Series<'_>> = kinds
        .iter()
        .map(|(n, c)| Series {
            name: n,
            class: c,
            counts: vec![0; hs.len()],
        })
        .collect();
    for (_, events) in runs {
        for e in *events {
            if let RunEventKind::PolicyDecided { decision, .. } = &e.kind
                && let Some(i) = bucket(&hs, e.at)
                && let Some(k) = kinds.iter().position(|(n, _)| *n == decision.as_str())
            {
                series[k].counts[i] += 1;
            }
        }
    }
    stacked(
        "Policy decisions per hour, last 24 h",
        &labels(&hs),
        &series,
    )
}

fn labels(hs: &[DateTime<Utc>]) -> Vec<String> {
    hs.iter().map(|t| t.format("%H:00").to_string()).collect()
}

/// The upper bounds (seconds) of the approval latency buckets, and their names.
const LATENCY: [(i64, &str); 5] = [
    (60, "< 1 min"),
    (300, "1–5 min"),
    (900, "5–15 min"),
    (3600, "15–60 min"),
    (i64::MAX, "> 1 h"),
];

/// How long decided approvals waited, and how many expired.
pub fn approval_latency(latencies: &[(ApprovalState, Option<i64>)]) -> String {
    let mut approved = vec![0; LATENCY.len()];
    let mut denied = vec![0; LATENCY.len()];
    let mut expired = 0;
    for (state, secs) in latencies {
        match (state, secs) {
            (ApprovalState::Expired, _) => expired += 1,
            (ApprovalState::Approved | ApprovalState::Denied, Some(s)) => {
                let i = LATENCY.iter().position(|(b, _)| s < b).unwrap_or(0);
                if *state == ApprovalState::Approved {
                    approved[i] += 1;
                } else {
                    denied[i] += 1;
                }
            }
            _ => {}
        }
    }
    let labels: Vec<String> = LATENCY.iter().map(|(_, n)| (*n).to_owned()).collect();
    let chart = stacked(
        "Approval latency (request to decision)",
        &labels,
        &[
            Series {
                name: "approved",
                class: "good",
                counts: approved,
            },
            Series {
                name: "denied",
                class: "bad",
                counts: denied,
            },
        ],
    );
    format!("{chart}<p class=\"hint\">{expired} expired undecided.</p>")
}

/// The counters `/metrics` exposes, as a list.
pub fn counters(m: &Metrics) -> String {
    let items = [
        ("Triggers received", &m.triggers_received),
        ("Joined a running run", &m.triggers_joined),
        ("Rejected", &m.triggers_rejected),
        ("Unrouted", &m.triggers_unrouted),
        ("Runs started", &m.runs_started),
        ("Succeeded", &m.runs_succeeded),
        ("Needs a human", &m.runs_needs_human),
        ("Failed", &m.runs_failed),
        ("Requests refused", &m.requests_refused),
    ];
    let mut o = String::from("<dl class=\"counters\">");
    for (name, v) in items {
        let _ = write!(
            o,
            "<div><dt>{name}</dt><dd>{}</dd></div>",
            v.load(Ordering::Relaxed)
        );
    }
    o.push_str("</dl><p class=\"hint\">Since this server started; the same counters as <a href=\"/metrics\">/metrics</a>.</p>");
    o
}

/// The charts of the runs page.
pub fn overview(
    runs: &[(&RunRow, &[RunEvent])],
    latencies: &[(ApprovalState, Option<i64>)],
    metrics: &Metrics,
    now: DateTime<Utc>,
) -> String {
    format!(
        "<section class=\"charts\" aria-label=\"Charts\"><h2>Over time</h2><div class=\"chart-row\">{}{}{}</div>{}</section>",
        runs_per_hour(runs, now),
        decisions_per_hour(runs, now),
        approval_latency(latencies),
        counters(metrics)
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn bars_are_as_tall_as_their_share_of_the_highest() {
        let svg = stacked(
            "t",
            &["a".into(), "b".into()],
            &[Series {
                name: "x<y",
                class: "good",
                counts: vec![2, 1],
            }],
        );
        // The highest bar fills the plot (120 - 2 * 18 = 84); the other is half as tall.
        assert!(svg.contains("height=\"84.0\""), "{svg}");
        assert!(svg.contains("height=\"42.0\""), "{svg}");
        assert!(svg.contains("x&lt;y 3"), "{svg}");
        assert!(!svg.contains("x<y"));
    }

    #[test]
    fn latencies_fall_in_their_buckets() {
        let html = approval_latency(&[
            (ApprovalState::Approved, Some(30)),
            (ApprovalState::Denied, Some(400)),
            (ApprovalState::Expired, None),
            (ApprovalState::Pending, None),
        ]);
        assert!(
            html.contains("approved 1") && html.contains("denied 1"),
            "{html}"
        );
        assert!(html.contains("1 expired"), "{html}");
    }

    #[test]
    fn hours_end_with_the_current_one() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T06:40:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let hs = hours(now);
        assert_eq!(hs.len(), 24);
        assert_eq!(hs[23].to_rfc3339(), "2026-12-07T06:00:00+00:00");
        assert_eq!(bucket(&hs, now), Some(23));
        assert_eq!(bucket(&hs, now - Duration::hours(30)), None);
    }
}
