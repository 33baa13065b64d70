//! Predictive tools: `forecast_metric` fits `sopilot-forecast`'s MSTL + ETS to a metric's
//! history and forecasts it with a prediction band; `anomaly_band` asks CloudWatch for
//! `ANOMALY_DETECTION_BAND` through GetMetricData and reports the points outside it.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use chrono::{DateTime, Utc};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_forecast::{Forecast, ForecastError, ForecastOptions, Series, forecast};
use sopilot_mcp_common::{Table, cap, ok_json};

use crate::Clients;
use crate::args::{AnomalyBand, ForecastMetric};
use crate::error::{ToolFailure, ToolResult};
use crate::metrics::{check_period, check_stat, dimensions_map, dims_text, explain_missing};
use crate::summary::{rfc3339, round};

const SERVICE: &str = "CloudWatch";
/// Pages of GetMetricData one tool call reads at most.
const MAX_PAGES: usize = 40;
/// Rows of the forecast table in the text (the structured content has every point).
const MAX_ROWS: usize = 13;
/// Outside points listed in the structured content at most.
const MAX_OUTSIDE: usize = 500;
const MAX_TEXT: usize = 16 * 1024;

/// One result series of a GetMetricData call, pages merged.
#[derive(Debug, Default)]
struct Answered {
    id: String,
    label: String,
    points: Vec<(i64, f64)>,
    messages: Vec<String>,
}

fn metric_of(namespace: &str, metric: &str, dims: &[(String, String)]) -> Metric {
    let mut m = Metric::builder().namespace(namespace).metric_name(metric);
    for (k, v) in dims {
        m = m.dimensions(Dimension::builder().name(k).value(v).build());
    }
    m.build()
}

fn stat_query(id: &str, metric: Metric, period: i32, stat: &str) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(period)
                .stat(stat)
                .build(),
        )
        .build()
}

/// Runs GetMetricData over `[start, end)`, every page, oldest point first.
async fn query(
    c: &Clients,
    queries: Vec<MetricDataQuery>,
    start: i64,
    end: i64,
) -> ToolResult<Vec<Answered>> {
    let mut out: Vec<Answered> = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let resp =
            c.cw.get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(AwsDateTime::from_secs(start))
                .end_time(AwsDateTime::from_secs(end))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| ToolFailure::from_sdk(SERVICE, c.attempts, e))?;
        for r in resp.metric_data_results() {
            let (id, label) = (r.id().unwrap_or_default(), r.label().unwrap_or_default());
            let i = match out.iter().position(|a| a.id == id && a.label == label) {
                Some(i) => i,
                None => {
                    out.push(Answered {
                        id: id.to_owned(),
                        label: label.to_owned(),
                        ..Answered::default()
                    });
                    out.len() - 1
                }
            };
            if let Some(a) = out.get_mut(i) {
                a.points.extend(
                    r.timestamps()
                        .iter()
                        .map(|t| t.secs())
                        .zip(r.values().iter().copied()),
                );
                for m in r.messages() {
                    if let Some(v) = m.value()
                        && !a.messages.iter().any(|x| x == v)
                    {
                        a.messages.push(v.to_owned());
                    }
                }
            }
        }
        token = resp.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

fn at(t: i64) -> ToolResult<DateTime<Utc>> {
    DateTime::from_timestamp(t, 0)
        .ok_or_else(|| ToolFailure::BadArgument(format!("time {t} is out of range")))
}

/// `HH:MMZ` for tables.
fn clock(t: DateTime<Utc>) -> String {
    t.format("%H:%MZ").to_string()
}

fn minutes_between(from: i64, to: i64) -> i64 {
    (to - from).div_euclid(60)
}

pub async fn forecast_metric(c: &Clients, a: ForecastMetric) -> ToolResult<CallToolResult> {
    let stat = a.stat.unwrap_or_else(|| "Average".into());
    check_stat(&stat)?;
    let period = a.period_seconds.unwrap_or(300);
    check_period(period)?;
    let hours = a.history_hours.unwrap_or(168);
    if !(1..=336).contains(&hours) {
        return Err(ToolFailure::BadArgument(format!(
            "history_hours must be between 1 and 336 (got {hours}); 168 (7 days) is a good default"
        )));
    }
    let horizon = a.horizon_minutes.unwrap_or(60);
    if !(1..=1440).contains(&horizon) {
        return Err(ToolFailure::BadArgument(format!(
            "horizon_minutes must be between 1 and 1440 (got {horizon})"
        )));
    }
    if let Some(t) = a.threshold
        && !t.is_finite()
    {
        return Err(ToolFailure::BadArgument(
            "threshold must be a number".into(),
        ));
    }
    let dims: Vec<(String, String)> = a.dimensions.unwrap_or_default().into_iter().collect();
    let step = i64::from(period);
    // Whole periods only: the current one is still filling (a Sum would look like a drop).
    let end = crate::clock::now().timestamp().div_euclid(step) * step;
    let start = (end - hours * 3_600).div_euclid(step) * step;
    let title = format!(
        "{}/{} {} — {stat} per {period}s",
        a.namespace,
        a.metric,
        dims_text(&dims)
    );
    let answered = query(
        c,
        vec![stat_query(
            "m1",
            metric_of(&a.namespace, &a.metric, &dims),
            period,
            &stat,
        )],
        start,
        end,
    )
    .await?;
    let points: Vec<(i64, f64)> = answered
        .into_iter()
        .find(|r| r.id == "m1")
        .map(|r| r.points)
        .unwrap_or_default();
    let (Some(&(first_t, _)), Some(&(last_t, last_v))) = (points.first(), points.last()) else {
        explain_missing(c, &a.namespace, &a.metric, &dims).await?;
        return Err(ToolFailure::InsufficientData(format!(
            "cannot forecast {title}: no datapoints in the last {hours} h (the metric exists but has not reported in that window)"
        )));
    };
    // A metric that stopped reporting would be forecast from stale data.
    if end - (last_t + step) >= 3 * step.max(300) {
        return Err(ToolFailure::InsufficientData(format!(
            "cannot forecast {title}: its last datapoint is at {} ({} min ago); a forecast from stale data would mislead. Find out why it stopped reporting first",
            rfc3339(last_t),
            minutes_between(last_t, end)
        )));
    }
    let timed: Vec<(DateTime<Utc>, f64)> = points
        .iter()
        .map(|&(t, v)| at(t).map(|d| (d, v)))
        .collect::<ToolResult<_>>()?;
    let step_u = u64::try_from(period).unwrap_or(300);
    let series = Series::from_points_in(&timed, step_u, at(start)?, at(end)?)
        .map_err(|e| forecast_failure(&title, &e, &[], first_t, end))?;
    let horizon_steps = usize::try_from((horizon * 60 + step - 1) / step)
        .unwrap_or(1)
        .max(1);
    let fc = forecast(&series, &ForecastOptions::new(horizon_steps))
        .map_err(|e| forecast_failure(&title, &e, &series.gaps(), first_t, end))?;
    Ok(render_forecast(
        &title,
        &fc,
        &ForecastContext {
            namespace: &a.namespace,
            metric: &a.metric,
            dims: &dims,
            stat: &stat,
            period,
            hours,
            horizon,
            threshold: a.threshold,
            last: (last_t, last_v),
            end,
        },
    ))
}

/// Why a forecast could not be made, with what to ask for instead.
fn forecast_failure(
    title: &str,
    e: &ForecastError,
    gaps: &[sopilot_forecast::Gap],
    first_t: i64,
    end: i64,
) -> ToolFailure {
    match e {
        ForecastError::HistoryTooShort { .. } => ToolFailure::InsufficientData(format!(
            "cannot forecast {title}: {e}. Its first datapoint in the window is at {} ({} h before now); ask for history_hours of at least 48 once the metric has reported that long, or use a coarser period_seconds",
            rfc3339(first_t),
            (end - first_t) / 3_600
        )),
        ForecastError::TooGappy { .. } => {
            let mut longest: Vec<_> = gaps.to_vec();
            longest.sort_by_key(|g| std::cmp::Reverse(g.points));
            let listed: Vec<String> = longest
                .iter()
                .take(3)
                .map(|g| {
                    format!(
                        "{} points from {}",
                        g.points,
                        g.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    )
                })
                .collect();
            ToolFailure::InsufficientData(format!(
                "cannot forecast {title}: {e}; the longest gaps: {}. Ask for a window without the outage (fewer history_hours) or a coarser period_seconds",
                if listed.is_empty() {
                    "none listed".to_owned()
                } else {
                    listed.join(", ")
                }
            ))
        }
        ForecastError::HorizonTooLong { .. } => ToolFailure::BadArgument(format!(
            "cannot forecast {title}: {e}; ask for a shorter horizon_minutes or more history_hours"
        )),
        ForecastError::NonFinite { .. } | ForecastError::InvalidArgument(_) => {
            ToolFailure::BadArgument(format!("cannot forecast {title}: {e}"))
        }
        ForecastError::Model(_) => ToolFailure::InsufficientData(format!(
            "cannot forecast {title}: the model could not be fitted ({e}); try a coarser period_seconds or another window"
        )),
    }
}

/// What a forecast answers about.
struct ForecastContext<'a> {
    namespace: &'a str,
    metric: &'a str,
    dims: &'a [(String, String)],
    stat: &'a str,
    period: i32,
    hours: i64,
    horizon: i64,
    threshold: Option<f64>,
    /// The last observed point.
    last: (i64, f64),
    /// The end of the history (the forecast starts here).
    end: i64,
}

fn render_forecast(title: &str, fc: &Forecast, x: &ForecastContext<'_>) -> CallToolResult {
    let level = (fc.level * 100.0).round();
    let mut text = format!(
        "{title}: forecast for the next {} min from {} points of history{}; model {}, {level} % interval\nlast observed {} at {}\n",
        x.horizon,
        fc.history_points,
        if fc.missing_points > 0 {
            format!(
                " ({} missing, imputed from the previous cycle)",
                fc.missing_points
            )
        } else {
            String::new()
        },
        fc.model,
        round(x.last.1),
        rfc3339(x.last.0),
    );
    let peak = fc.points.iter().max_by(|p, q| p.yhat.total_cmp(&q.yhat));
    let peak_upper = fc.points.iter().max_by(|p, q| p.upper.total_cmp(&q.upper));
    if let (Some(p), Some(u)) = (peak, peak_upper) {
        text.push_str(&format!(
            "peak in the horizon: {} at {} (upper bound up to {} at {})\n",
            round(p.yhat),
            clock(p.t),
            round(u.upper),
            clock(u.t)
        ));
    }
    let now = x.end;
    let mut threshold_json = Value::Null;
    let mut crossing = Value::Null;
    if let Some(th) = x.threshold {
        let likely = fc.first_crossing(th, false);
        let earliest = fc.first_crossing(th, true);
        let when = |d: Option<DateTime<Utc>>| match d {
            Some(d) => format!(
                "{} (in {} min)",
                clock(d),
                minutes_between(now, d.timestamp())
            ),
            None => "not within the horizon".to_owned(),
        };
        let already = x.last.1 >= th;
        text.push_str(&format!(
            "threshold {th}: point forecast reaches it {}; upper bound {}{}\n",
            when(likely),
            when(earliest),
            if already {
                format!(
                    " (the last observed value, {}, is already at or above it)",
                    round(x.last.1)
                )
            } else {
                String::new()
            }
        ));
        let rfc = |d: Option<DateTime<Utc>>| {
            d.map_or(Value::Null, |d| {
                json!(d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            })
        };
        crossing = rfc(likely);
        threshold_json = json!({
            "value": th,
            "first_crossing": rfc(likely),
            "first_crossing_upper": rfc(earliest),
            "minutes_until_crossing": likely.map(|d| minutes_between(now, d.timestamp())),
            "minutes_until_crossing_upper": earliest.map(|d| minutes_between(now, d.timestamp())),
            "already_at_or_above": already,
        });
    }
    let mut table = Table::new(["TIME", "FORECAST", "LOWER", "UPPER"]);
    let every = fc.points.len().div_ceil(MAX_ROWS).max(1);
    let last_index = fc.points.len().saturating_sub(1);
    for (i, p) in fc.points.iter().enumerate() {
        if i % every == every - 1 || i == last_index {
            table.row([
                clock(p.t),
                round(p.yhat).to_string(),
                round(p.lower).to_string(),
                round(p.upper).to_string(),
            ]);
        }
    }
    text.push_str(&table.render());
    let points: Vec<Value> = fc
        .points
        .iter()
        .map(|p| {
            json!({"t": p.t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                   "yhat": round(p.yhat), "lower": round(p.lower), "upper": round(p.upper)})
        })
        .collect();
    let point_json = |p: Option<&sopilot_forecast::ForecastPoint>| {
        p.map_or(Value::Null, |p| {
            json!({"t": p.t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                   "yhat": round(p.yhat), "lower": round(p.lower), "upper": round(p.upper)})
        })
    };
    let structured = json!({
        "namespace": x.namespace, "metric": x.metric, "dimensions": dimensions_map(x.dims),
        "stat": x.stat, "period_seconds": x.period, "history_hours": x.hours,
        "horizon_minutes": x.horizon,
        "model": fc.model, "level": fc.level,
        "history": {"points": fc.history_points, "missing": fc.missing_points,
                    "last": {"t": rfc3339(x.last.0), "v": round(x.last.1)}},
        "peak": point_json(peak), "peak_upper": point_json(peak_upper),
        "threshold": threshold_json,
        "threshold_crossing": crossing,
        "points": points,
    });
    ok_json(
        cap(&text, MAX_TEXT, "ask for a shorter horizon").text,
        &structured,
    )
}

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
