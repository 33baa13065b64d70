//! `forecast_metric`: fits `sopilot-forecast`'s MSTL + ETS to a metric's history and
//! forecasts it with a prediction band, saying when it first reaches a threshold.

use chrono::{DateTime, Utc};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_forecast::{Forecast, ForecastError, ForecastOptions, Series, forecast};
use sopilot_mcp_common::{Table, cap, ok_json};

use crate::Clients;
use crate::args::ForecastMetric;
use crate::error::{ToolFailure, ToolResult};
use crate::metric_data::{metric_of, query, stat_query};
use crate::metrics::{check_period, check_stat, dimensions_map, dims_text, explain_missing};
use crate::summary::{rfc3339, round};

/// Rows of the forecast table in the text (the structured content has every point).
const MAX_ROWS: usize = 13;
const MAX_TEXT: usize = 16 * 1024;

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
