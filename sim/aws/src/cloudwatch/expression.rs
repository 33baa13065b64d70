//! Metric math. The simulator evaluates one function, `ANOMALY_DETECTION_BAND(m1, width)`;
//! any other expression is a `ValidationError` that says so.
//!
//! CloudWatch's anomaly model is not public. The simulator's band is the one
//! `sopilot-forecast` computes (MSTL with the daily cycle when two days of history exist, a
//! rolling median otherwise; `width` robust standard deviations of the remainder either
//! side), trained, like CloudWatch's, on up to two weeks of the metric before the query's
//! start and carried into the window by time of day (see [`band`]). A band is answered as two results with the expression's Id, the upper bound first.

use chrono::DateTime;
use sopilot_forecast::{ForecastError, Series, anomaly_band};

use crate::error::ApiError;

/// How far back the band's model looks, as CloudWatch's does.
pub const TRAINING_SECONDS: i64 = 14 * 86_400;

/// A parsed `Expression` of a metric data query.
#[derive(Debug, Clone, PartialEq)]
pub enum Expression {
    /// `ANOMALY_DETECTION_BAND(id[, width])`.
    AnomalyDetectionBand { metric_id: String, width: f64 },
}

/// Parses the expressions the simulator knows; anything else is a validation error.
pub fn parse(text: &str) -> Result<Expression, ApiError> {
    let t = text.trim();
    if let Some(args) = t
        .strip_prefix("ANOMALY_DETECTION_BAND(")
        .and_then(|r| r.strip_suffix(')'))
    {
        let mut parts = args.split(',').map(str::trim);
        let metric_id = parts.next().unwrap_or_default().to_owned();
        let width: f64 = match parts.next() {
            Some(w) => w.parse().map_err(|_| invalid(text))?,
            None => 2.0,
        };
        if metric_id.is_empty() || parts.next().is_some() || !(width.is_finite() && width > 0.0) {
            return Err(invalid(text));
        }
        return Ok(Expression::AnomalyDetectionBand { metric_id, width });
    }
    Err(ApiError::client(
        "ValidationError",
        format!(
            "the simulated CloudWatch evaluates only ANOMALY_DETECTION_BAND(id, width), not the metric math expression {text:?}"
        ),
    ))
}

fn invalid(text: &str) -> ApiError {
    ApiError::client(
        "ValidationError",
        format!(
            "Invalid metric math expression: {text:?}; write ANOMALY_DETECTION_BAND(m1, 2) with a query id and a positive width"
        ),
    )
}

/// A band at the metric's own timestamps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BandSeries {
    /// `(timestamp, upper)`, oldest first.
    pub upper: Vec<(i64, f64)>,
    /// `(timestamp, lower)`, oldest first.
    pub lower: Vec<(i64, f64)>,
}

const DAY: i64 = 86_400;
/// A median absolute deviation as a standard deviation, under Gaussian noise.
const MAD_TO_SD: f64 = 1.4826;

/// Median absolute deviation from the median.
fn mad(values: &[f64]) -> f64 {
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        match n {
            0 => 0.0,
            _ if n % 2 == 1 => v[n / 2],
            _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    };
    let centre = median(&mut values.to_vec());
    median(&mut values.iter().map(|v| (v - centre).abs()).collect())
}

/// The band of `width` standard deviations around the metric's expected value, evaluated at
/// the metric's timestamps in `[start, end)`. `history` is the metric aggregated at `period`
/// from the start of its training window to `end`, oldest first.
///
/// Like CloudWatch's model, the band is trained on the history *before* the window, so an
/// incident inside the window does not drag the band along with it: `sopilot-forecast`'s
/// in-sample band over the training history gives an expected value per point (smoothed
/// over half an hour either side); a point in the window expects what the training expected
/// one day (or a whole number of days) earlier, moved by how much the expectation rose or
/// fell over the last day of training (the trend). Without a day of training the expectation
/// is the last one. The width is `width` standard deviations of the projection's own errors
/// over the last day of training, and never narrower than the in-sample remainder's.
///
/// # Errors
/// Why no band could be computed (too little or too gappy history), in words for the
/// result's `Messages`.
pub fn band(
    history: &[(i64, f64)],
    period: i64,
    start: i64,
    end: i64,
    width: f64,
) -> Result<BandSeries, String> {
    let at =
        |t: i64| DateTime::from_timestamp(t, 0).ok_or_else(|| format!("time {t} is out of range"));
    let training: Vec<_> = history
        .iter()
        .filter(|(t, _)| *t < start)
        .map(|&(t, v)| at(t).map(|d| (d, v)))
        .collect::<Result<_, _>>()?;
    let Some(first) = training.first().map(|p| p.0.timestamp()) else {
        return Err(
            "no anomaly band: the metric has no data before the requested window to train on"
                .into(),
        );
    };
    let step = u64::try_from(period).map_err(|_| format!("period {period}"))?;
    let trained = Series::from_points_in(&training, step, at(first)?, at(start)?)
        .and_then(|s| anomaly_band(&s, width))
        .map_err(|e| match e {
            // The band's model needs history, as CloudWatch's does.
            ForecastError::TooGappy { .. } | ForecastError::InvalidArgument(_) => {
                format!("no anomaly band: the metric has too little data to train on ({e})")
            }
            ForecastError::HistoryTooShort { .. }
            | ForecastError::NonFinite { .. }
            | ForecastError::HorizonTooLong { .. }
            | ForecastError::Model(_) => format!("no anomaly band: {e}"),
        })?;
    // The in-sample expectation at one phase holds some of that phase's noise; half an
    // hour either side smooths it out without flattening a daily cycle.
    let reach = usize::try_from(900 / period.max(1)).unwrap_or(0);
    let raw: Vec<f64> = trained.points.iter().map(|p| p.expected).collect();
    let expected: Vec<(i64, f64)> = trained
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let window = &raw[i.saturating_sub(reach)..(i + reach + 1).min(raw.len())];
            let mean = window.iter().sum::<f64>() / window.len().max(1) as f64;
            (p.t.timestamp(), mean)
        })
        .collect();
    let lookup = |t: i64| {
        expected
            .binary_search_by_key(&t, |p| p.0)
            .ok()
            .and_then(|i| expected.get(i))
            .map(|p| p.1)
    };
    let last = expected.last().map_or(0.0, |p| p.1);
    // How much the expectation moved over the last day of training.
    let drift = expected
        .last()
        .and_then(|&(t, e)| lookup(t - DAY).map(|before| e - before))
        .unwrap_or(0.0);
    // The projection: what the training expected `days` earlier, moved by the trend.
    let project =
        |t: i64, days: i64| lookup(t - days * DAY).map_or(last, |e| e + drift * days as f64);
    // The spread is that of the projection's own errors over the last day of training (one
    // day ahead, out of sample); the in-sample remainder's when there is no day to project.
    let errors: Vec<f64> = history
        .iter()
        .filter(|(t, _)| (start - DAY..start).contains(t))
        .filter_map(|&(t, v)| lookup(t - DAY).map(|_| v - project(t, 1)))
        .collect();
    let sigma = if errors.len() >= 10 {
        MAD_TO_SD * mad(&errors)
    } else {
        trained.sigma
    }
    .max(trained.sigma);
    let half = width * sigma;
    let mut out = BandSeries::default();
    for &(t, _) in history.iter().filter(|(t, _)| (start..end).contains(t)) {
        // The same time of day in the training, as recent as possible.
        let mid = project(t, (t - start).div_euclid(DAY) + 1);
        out.upper.push((t, mid + half));
        out.lower.push((t, mid - half));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_band_and_refuses_the_rest() {
        assert_eq!(
            parse(" ANOMALY_DETECTION_BAND(m1, 3) ").ok(),
            Some(Expression::AnomalyDetectionBand {
                metric_id: "m1".into(),
                width: 3.0
            })
        );
        assert_eq!(
            parse("ANOMALY_DETECTION_BAND(m1)").ok(),
            Some(Expression::AnomalyDetectionBand {
                metric_id: "m1".into(),
                width: 2.0
            })
        );
        for bad in [
            "ANOMALY_DETECTION_BAND()",
            "ANOMALY_DETECTION_BAND(m1, x)",
            "ANOMALY_DETECTION_BAND(m1, -1)",
            "ANOMALY_DETECTION_BAND(m1, 2, 3)",
            "m1 * 2",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_band_follows_the_daily_cycle_and_leaves_out_a_spike() {
        // Three days of 5-minute points: a daily cosine, a little deterministic jitter,
        // and a spike in the last hour.
        let period = 300;
        let end = 1_772_006_400; // a multiple of 300
        let train_start = end - 3 * 86_400;
        let history: Vec<(i64, f64)> = (0..(3 * 288))
            .map(|i| {
                let t = train_start + i * period;
                let phase = std::f64::consts::TAU * (t % 86_400) as f64 / 86_400.0;
                let jitter = ((i * 7919) % 13) as f64 / 13.0 - 0.5;
                let spike = if t >= end - 1_800 { 40.0 } else { 0.0 };
                (t, 100.0 + 30.0 * phase.cos() + jitter + spike)
            })
            .collect();
        let b = band(&history, period, end - 3_600, end, 3.0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.upper.len(), 12);
        assert_eq!(b.lower.len(), 12);
        let outside = history[history.len() - 12..]
            .iter()
            .zip(&b.upper)
            .filter(|((_, v), (_, u))| v > u)
            .count();
        assert_eq!(outside, 6, "the last half hour is a spike: {b:?}");
        assert!(b.upper.iter().zip(&b.lower).all(|(u, l)| u.1 > l.1));
    }

    #[test]
    fn too_little_history_is_a_message_not_a_band() {
        let e = band(&[(0, 1.0), (300, 2.0)], 300, 600, 900, 2.0).unwrap_err();
        assert!(e.contains("too little data"), "{e}");
        let e = band(&[(600, 1.0)], 300, 600, 900, 2.0).unwrap_err();
        assert!(e.contains("before the requested window"), "{e}");
    }
}
