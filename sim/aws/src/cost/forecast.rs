//! GetCostForecast: a least-squares line through the last 28 days of daily cost (after the
//! filter), extended over the forecast period, with a normal prediction interval.

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::usage::{buckets, scope};
use super::{Cost, amount_text};
use crate::error::{ApiError, ApiResult};
use crate::req::{int_of, str_of};
use crate::state::Clock;

const METRICS: &[&str] = &[
    "AMORTIZED_COST",
    "BLENDED_COST",
    "NET_AMORTIZED_COST",
    "NET_UNBLENDED_COST",
    "UNBLENDED_COST",
];
const HISTORY_DAYS: i64 = 28;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::client("ValidationException", message)
}

/// The quantile of the standard normal for a two-sided interval of `level` percent.
fn z_for(level: i64) -> f64 {
    // Abramowitz and Stegun 26.2.23 for the upper tail probability.
    #[allow(clippy::cast_precision_loss)]
    let p = (1.0 - level as f64 / 100.0) / 2.0;
    let t = (-2.0 * p.ln()).sqrt();
    t - (2.515_517 + 0.802_853 * t + 0.010_328 * t * t)
        / (1.0 + 1.432_788 * t + 0.189_269 * t * t + 0.001_308 * t * t * t)
}

pub fn get_cost_forecast(cost: &Cost, req: &Value, clock: Clock) -> ApiResult {
    let scope = scope(req)?;
    let today = clock.now.date_naive();
    if scope.start < today {
        return Err(invalid(format!(
            "Start date must be equal to or later than the current date ({today}); use GetCostAndUsage for the past"
        )));
    }
    if scope.end > today + chrono::Duration::days(366) {
        return Err(invalid(
            "End date must be within 12 months of the current date",
        ));
    }
    match str_of(req, "Metric") {
        Some(m) if METRICS.contains(&m) => {}
        Some("USAGE_QUANTITY" | "NORMALIZED_USAGE_AMOUNT") => {
            return Err(invalid(
                "usage forecasts are not supported by the simulator; forecast a cost metric such as UNBLENDED_COST",
            ));
        }
        Some(m) => {
            return Err(invalid(format!(
                "Metric {m:?} is not valid; valid values are {}",
                METRICS.join(", ")
            )));
        }
        None => return Err(invalid("Metric is required, e.g. UNBLENDED_COST")),
    }
    let monthly = match str_of(req, "Granularity") {
        Some("DAILY") => false,
        Some("MONTHLY") => true,
        Some(other) => {
            return Err(invalid(format!(
                "Granularity must be DAILY or MONTHLY, not {other:?}"
            )));
        }
        None => return Err(invalid("Granularity is required")),
    };
    let level = int_of(req, "PredictionIntervalLevel").unwrap_or(80);
    if !(51..=99).contains(&level) {
        return Err(invalid("PredictionIntervalLevel must be between 51 and 99"));
    }
    // Daily totals of the history window, zero where nothing was billed.
    let first = today - chrono::Duration::days(HISTORY_DAYS);
    let mut history = vec![0i64; usize::try_from(HISTORY_DAYS).unwrap_or(28)];
    let mut seen = false;
    for d in cost
        .days
        .iter()
        .filter(|d| d.date >= first && d.date < today)
    {
        let Some(item) = cost.items.get(d.item) else {
            continue;
        };
        if scope.filter.as_ref().is_some_and(|f| !f.matches(item)) {
            continue;
        }
        seen = true;
        if let Some(slot) = usize::try_from((d.date - first).num_days())
            .ok()
            .and_then(|i| history.get_mut(i))
        {
            *slot += d.cents;
        }
    }
    if !seen {
        return Err(ApiError::client(
            "DataUnavailableException",
            "Insufficient amount of historical data to generate forecast.",
        ));
    }
    #[allow(clippy::cast_precision_loss)]
    let ys: Vec<f64> = history.iter().map(|c| *c as f64 / 100.0).collect();
    #[allow(clippy::cast_precision_loss)]
    let n = ys.len() as f64;
    #[allow(clippy::cast_precision_loss)]
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = ys.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let dx = i as f64 - mean_x;
        sxy += dx * (y - mean_y);
        sxx += dx * dx;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let intercept = mean_y - slope * mean_x;
    #[allow(clippy::cast_precision_loss)]
    let resid_sd = (ys
        .iter()
        .enumerate()
        .map(|(i, y)| (y - (intercept + slope * i as f64)).powi(2))
        .sum::<f64>()
        / (n - 2.0).max(1.0))
    .sqrt();
    let z = z_for(level);
    let predict = |d: NaiveDate| -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let x = (d - first).num_days() as f64;
        (intercept + slope * x).max(0.0)
    };
    let mut results = Vec::new();
    let mut total = 0.0;
    for (from, to) in buckets(scope.start, scope.end, monthly) {
        let days: Vec<NaiveDate> = from.iter_days().take_while(|d| *d < to).collect();
        let mean: f64 = days.iter().map(|d| predict(*d)).sum();
        #[allow(clippy::cast_precision_loss)]
        let var = resid_sd.powi(2) * days.len() as f64;
        total += mean;
        let half = z * var.sqrt();
        results.push(json!({
            "TimePeriod": {"Start": from.to_string(), "End": to.to_string()},
            "MeanValue": money(mean),
            "PredictionIntervalLowerBound": money((mean - half).max(0.0)),
            "PredictionIntervalUpperBound": money(mean + half),
        }));
    }
    Ok(json!({
        "Total": {"Amount": money(total), "Unit": cost.currency},
        "ForecastResultsByTime": results,
    }))
}

fn money(v: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let cents = (v * 100.0).round() as i64;
    amount_text(cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles() {
        assert!((z_for(80) - 1.2816).abs() < 0.01);
        assert!((z_for(95) - 1.96).abs() < 0.01);
    }
}
