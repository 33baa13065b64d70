//! `anomaly_band`: asks CloudWatch for `ANOMALY_DETECTION_BAND` through GetMetricData and
//! reports the points outside it, grouped in runs.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::MetricDataQuery;
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_mcp_common::{Table, cap, ok_json};

use crate::Clients;
use crate::args::AnomalyBand;
use crate::error::{ToolFailure, ToolResult};
use crate::metric_data::{Answered, metric_of, query, stat_query};
use crate::metrics::{check_period, check_stat, dimensions_map, dims_text, explain_missing};
use crate::summary::{rfc3339, round};

/// Outside points listed in the structured content at most.
const MAX_OUTSIDE: usize = 500;
const MAX_TEXT: usize = 16 * 1024;

/// A point checked against the band.
#[derive(Debug, Clone, Copy)]
struct Checked {
    t: i64,
    v: f64,
    lower: f64,
    upper: f64,
}

impl Checked {
    fn side(&self) -> Option<&'static str> {
        if self.v > self.upper {
            Some("above")
        } else if self.v < self.lower {
            Some("below")
        } else {
            None
        }
    }

    fn json(&self) -> Value {
        json!({"t": rfc3339(self.t), "v": round(self.v), "lower": round(self.lower),
               "upper": round(self.upper), "outside": self.side()})
    }
}

pub async fn anomaly_band(c: &Clients, a: AnomalyBand) -> ToolResult<CallToolResult> {
    let stat = a.stat.unwrap_or_else(|| "Average".into());
    check_stat(&stat)?;
    let period = a.period_seconds.unwrap_or(60);
    check_period(period)?;
    let minutes = a.minutes.unwrap_or(180);
    if !(1..=1440).contains(&minutes) {
        return Err(ToolFailure::BadArgument(format!(
            "minutes must be between 1 and 1440 (got {minutes})"
        )));
    }
    let width = a.band_width.unwrap_or(2.0);
    if !(width.is_finite() && width > 0.0 && width <= 10.0) {
        return Err(ToolFailure::BadArgument(format!(
            "band_width must be a number of standard deviations above 0 and at most 10 (got {width}); 2 is usual, 3 flags only stark anomalies"
        )));
    }
    let dims: Vec<(String, String)> = a.dimensions.unwrap_or_default().into_iter().collect();
    let step = i64::from(period);
    let end = crate::clock::now().timestamp().div_euclid(step) * step;
    let start = end - minutes * 60;
    let title = format!(
        "{}/{} {} — {stat} per {period}s, last {minutes} min, band ±{width} sd",
        a.namespace,
        a.metric,
        dims_text(&dims)
    );
    let band_expression = format!("ANOMALY_DETECTION_BAND(m1, {width})");
    let queries = vec![
        stat_query(
            "m1",
            metric_of(&a.namespace, &a.metric, &dims),
            period,
            &stat,
        ),
        MetricDataQuery::builder()
            .id("band")
            .expression(&band_expression)
            .label("band")
            .build(),
    ];
    let answered = query(c, queries, start, end).await?;
    let series = answered
        .iter()
        .find(|r| r.id == "m1")
        .map(|r| r.points.clone())
        .unwrap_or_default();
    if series.is_empty() {
        explain_missing(c, &a.namespace, &a.metric, &dims).await?;
        return Err(ToolFailure::InsufficientData(format!(
            "{title}: no datapoints in this window (the metric exists; it may not have reported recently — try more minutes)"
        )));
    }
    let bands: Vec<&Answered> = answered.iter().filter(|r| r.id == "band").collect();
    let (upper, lower) = split_band(&bands);
    if upper.is_empty() || lower.is_empty() {
        let why: Vec<&str> = bands
            .iter()
            .flat_map(|b| b.messages.iter().map(String::as_str))
            .collect();
        return Err(ToolFailure::InsufficientData(format!(
            "{title}: CloudWatch returned no anomaly band ({}). The band is trained on the metric's history before the window (up to two weeks); a new or long-silent metric has none yet",
            if why.is_empty() {
                "no reason given".to_owned()
            } else {
                why.join("; ")
            }
        )));
    }
    let checked: Vec<Checked> = series
        .iter()
        .filter_map(|&(t, v)| {
            Some(Checked {
                t,
                v,
                lower: *lower.get(&t)?,
                upper: *upper.get(&t)?,
            })
        })
        .collect();
    Ok(render_band(
        &title,
        &checked,
        &a.namespace,
        &a.metric,
        &dims,
        (&stat, period, minutes, width),
    ))
}

/// The band's upper and lower series by timestamp: labels ending in Upper/High and
/// Lower/Low, else the series with the larger values is the upper one.
fn split_band(bands: &[&Answered]) -> (BTreeMap<i64, f64>, BTreeMap<i64, f64>) {
    let ends = |b: &Answered, words: &[&str]| {
        let label = b.label.to_ascii_lowercase();
        words.iter().any(|w| label.ends_with(w))
    };
    let by_label = (
        bands.iter().find(|b| ends(b, &["upper", "high"])),
        bands.iter().find(|b| ends(b, &["lower", "low"])),
    );
    let (upper, lower) = match (by_label, bands) {
        ((Some(u), Some(l)), _) => (*u, *l),
        (_, [x, y]) => {
            let mean = |b: &Answered| {
                b.points.iter().map(|p| p.1).sum::<f64>() / b.points.len().max(1) as f64
            };
            if mean(x) >= mean(y) {
                (*x, *y)
            } else {
                (*y, *x)
            }
        }
        _ => return (BTreeMap::new(), BTreeMap::new()),
    };
    (
        upper.points.iter().copied().collect(),
        lower.points.iter().copied().collect(),
    )
}

fn render_band(
    title: &str,
    checked: &[Checked],
    namespace: &str,
    metric: &str,
    dims: &[(String, String)],
    (stat, period, minutes, width): (&str, i32, i64, f64),
) -> CallToolResult {
    let outside: Vec<&Checked> = checked.iter().filter(|p| p.side().is_some()).collect();
    let above = outside.iter().filter(|p| p.side() == Some("above")).count();
    let below = outside.len() - above;
    // Runs of consecutive outside points on the same side.
    let step = i64::from(period);
    let mut runs: Vec<(Checked, Checked, usize, &'static str, Checked)> = Vec::new();
    for p in &outside {
        let side = p.side().unwrap_or("above");
        let extends = runs
            .last()
            .is_some_and(|r| r.3 == side && p.t - r.1.t <= step);
        let worst = |a: Checked, b: Checked| {
            let excess = |q: Checked| (q.v - q.upper).max(q.lower - q.v);
            if excess(b) > excess(a) { b } else { a }
        };
        match runs.last_mut() {
            Some(r) if extends => {
                r.1 = **p;
                r.2 += 1;
                r.4 = worst(r.4, **p);
            }
            _ => runs.push((**p, **p, 1, side, **p)),
        }
    }
    let mut text = format!("{title}: ");
    if outside.is_empty() {
        text.push_str(&format!("all {} points inside the band\n", checked.len()));
    } else {
        text.push_str(&format!(
            "{} of {} points outside the band ({above} above, {below} below) in {} run(s)\n",
            outside.len(),
            checked.len(),
            runs.len()
        ));
    }
    if let Some(l) = checked.last() {
        text.push_str(&format!(
            "latest {}: {} (band {} – {}){}\n",
            rfc3339(l.t),
            round(l.v),
            round(l.lower),
            round(l.upper),
            l.side()
                .map_or(String::new(), |s| format!(", {s} the band"))
        ));
    }
    if !runs.is_empty() {
        let mut table = Table::new(["FROM", "TO", "POINTS", "SIDE", "WORST", "BAND THERE"]);
        for (from, to, n, side, worst) in &runs {
            table.row([
                rfc3339(from.t),
                rfc3339(to.t),
                n.to_string(),
                (*side).to_owned(),
                round(worst.v).to_string(),
                format!("{} – {}", round(worst.lower), round(worst.upper)),
            ]);
        }
        text.push_str(&table.render());
    }
    let structured = json!({
        "namespace": namespace, "metric": metric, "dimensions": dimensions_map(dims),
        "stat": stat, "period_seconds": period, "minutes": minutes, "band_width": width,
        "points_checked": checked.len(), "outside_count": outside.len(),
        "above": above, "below": below,
        "latest": checked.last().map(Checked::json),
        "runs": runs.iter().map(|(from, to, n, side, worst)| json!({
            "from": rfc3339(from.t), "to": rfc3339(to.t), "points": n, "direction": side,
            "worst": worst.json(),
        })).collect::<Vec<_>>(),
        "outside": outside.iter().take(MAX_OUTSIDE).map(|p| p.json()).collect::<Vec<_>>(),
        "points": checked.iter().map(Checked::json).collect::<Vec<_>>(),
    });
    ok_json(
        cap(
            &text,
            MAX_TEXT,
            "ask for fewer minutes or a wider band_width",
        )
        .text,
        &structured,
    )
}
