//! An anomaly band in the manner of CloudWatch's
//! `ANOMALY_DETECTION_BAND(m, width)`: an expected value per point from a
//! seasonal decomposition, plus and minus `width` standard deviations
//! of what the decomposition cannot explain. CloudWatch's model is not
//! public; this one is plausible, deterministic and explainable.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::ForecastError;
use crate::forecast::MAX_MISSING_FRACTION;
use crate::impute::fill_gaps;
use crate::season;
use crate::series::Series;

/// Converts a median absolute deviation to a standard deviation under
/// Gaussian noise.
const MAD_TO_SD: f64 = 1.4826;

/// Which side of the band a point fell on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Above `upper`.
    Above,
    /// Below `lower`.
    Below,
}

/// The band at one point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BandPoint {
    /// Timestamp.
    pub t: DateTime<Utc>,
    /// The observed value; `None` where the point is missing.
    pub value: Option<f64>,
    /// Expected value: trend plus seasonal cycles.
    pub expected: f64,
    /// Lower edge of the band.
    pub lower: f64,
    /// Upper edge of the band.
    pub upper: f64,
}

/// An observed point outside the band.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Anomaly {
    /// Index into the series.
    pub index: usize,
    /// Timestamp.
    pub t: DateTime<Utc>,
    /// The observed value.
    pub value: f64,
    /// The expected value there.
    pub expected: f64,
    /// Above or below the band.
    pub direction: Direction,
}

/// An anomaly band over a whole series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    /// How the expected values were computed.
    pub model: String,
    /// The width asked for, in standard deviations.
    pub band_width: f64,
    /// The robust standard deviation of the unexplained part.
    pub sigma: f64,
    /// One entry per series point.
    pub points: Vec<BandPoint>,
    /// The observed points outside the band, in time order.
    pub anomalies: Vec<Anomaly>,
}

/// Computes the band for every point of `series`, `band_width` standard
/// deviations either side of the expected value, and lists observed points
/// outside it (strictly above `upper` or below `lower`).
///
/// The expected value comes from MSTL with the daily cycle when the history
/// covers two days (an incident on one day moves the others' expectation by
/// a fraction, as it is averaged over the days); with less it is a rolling
/// median over about an hour. The spread is the median absolute deviation of
/// the residuals, scaled to a standard deviation, so the anomalies themselves
/// barely widen the band. Robust STL weights were tried and rejected: with
/// few cycles per phase they let the expectation chase the noise (see
/// [`crate::season`]).
///
/// # Errors
/// [`ForecastError::InvalidArgument`] for a non-positive width or fewer than
/// three points; [`ForecastError::TooGappy`] and
/// [`ForecastError::NonFinite`] as for [`crate::forecast`].
pub fn anomaly_band(series: &Series, band_width: f64) -> Result<Band, ForecastError> {
    series.check()?;
    if !(band_width.is_finite() && band_width > 0.0) {
        return Err(ForecastError::InvalidArgument(format!(
            "band width {band_width}; it must be a positive number of standard deviations"
        )));
    }
    if series.len() < 3 {
        return Err(ForecastError::InvalidArgument(format!(
            "{} points; a band needs at least 3",
            series.len()
        )));
    }
    let missing_fraction = series.missing_fraction();
    if missing_fraction > MAX_MISSING_FRACTION {
        return Err(ForecastError::TooGappy {
            missing_fraction,
            max_fraction: MAX_MISSING_FRACTION,
        });
    }
    let periods = season::daily_if_covered(series.step_seconds, series.len());
    let filled = fill_gaps(&series.values, periods.iter().min().copied());
    let (expected, model) = if periods.is_empty() {
        let window = rolling_window(series.step_seconds, filled.len());
        (
            rolling_median(&filled, window),
            format!("rolling median ({window} points)"),
        )
    } else {
        (
            mstl_fit(&filled, &periods)?,
            mstl_name(&periods, series.step_seconds),
        )
    };

    let residuals: Vec<f64> = series
        .values
        .iter()
        .zip(&expected)
        .filter(|(v, _)| !v.is_nan())
        .map(|(v, e)| v - e)
        .collect();
    let sigma = robust_sd(&residuals, &series.values);
    let half = band_width * sigma;

    let mut points = Vec::with_capacity(series.len());
    let mut anomalies = Vec::new();
    for (index, (&v, &e)) in series.values.iter().zip(&expected).enumerate() {
        let t = series.time_at(index).unwrap_or(series.start);
        let (lower, upper) = (e - half, e + half);
        let value = (!v.is_nan()).then_some(v);
        points.push(BandPoint {
            t,
            value,
            expected: e,
            lower,
            upper,
        });
        let direction = match value {
            Some(v) if v > upper => Some(Direction::Above),
            Some(v) if v < lower => Some(Direction::Below),
            Some(_) | None => None,
        };
        if let (Some(direction), Some(value)) = (direction, value) {
            anomalies.push(Anomaly {
                index,
                t,
                value,
                expected: e,
                direction,
            });
        }
    }
    Ok(Band {
        model,
        band_width,
        sigma,
        points,
        anomalies,
    })
}

/// Trend plus seasonal components of an MSTL decomposition.
fn mstl_fit(y: &[f64], periods: &[usize]) -> Result<Vec<f64>, ForecastError> {
    let fit = stlrs::MstlParams::new()
        .fit(y, periods)
        .map_err(|e| ForecastError::Model(Box::new(e)))?;
    Ok(y.iter().zip(fit.remainder()).map(|(v, r)| v - r).collect())
}

fn mstl_name(periods: &[usize], step_seconds: u64) -> String {
    let names: Vec<String> = periods
        .iter()
        .map(|&p| season::name_of(p, step_seconds).to_string())
        .collect();
    format!("MSTL({})", names.join(", "))
}

/// An odd window of about an hour, at least 3 points and at most the series.
fn rolling_window(step_seconds: u64, len: usize) -> usize {
    let hour = usize::try_from(3_600 / step_seconds.max(1)).unwrap_or(usize::MAX);
    let window = hour.clamp(3, len.max(3));
    if window % 2 == 0 { window - 1 } else { window }
}

/// Centred rolling median; the window shrinks at the edges.
fn rolling_median(y: &[f64], window: usize) -> Vec<f64> {
    let half = window / 2;
    (0..y.len())
        .map(|i| {
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(y.len());
            median(&mut y[lo..hi].to_vec())
        })
        .collect()
}

/// Median absolute deviation of `residuals`, as a standard deviation. Floored
/// at a millionth of the metric's typical size, so a perfectly flat metric
/// does not flag rounding noise.
fn robust_sd(residuals: &[f64], values: &[f64]) -> f64 {
    let mut r = residuals.to_vec();
    let centre = median(&mut r);
    let mut deviations: Vec<f64> = residuals.iter().map(|x| (x - centre).abs()).collect();
    let mad = median(&mut deviations);
    let mut magnitudes: Vec<f64> = values
        .iter()
        .filter(|v| !v.is_nan())
        .map(|v| v.abs())
        .collect();
    let scale = median(&mut magnitudes).max(1.0);
    (MAD_TO_SD * mad).max(1e-6 * scale)
}

/// Median of finite values; 0 for an empty slice.
fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}
