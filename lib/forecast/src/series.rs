//! A regular metric series: a start, a step and one value per step, NaN where
//! no datapoint arrived. CloudWatch returns irregular `(timestamp, value)`
//! pairs with holes, so [`Series::from_points`] puts them on the grid.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ForecastError;

/// The most grid points a series may span: two years of 5-minute points.
/// Guards against one stray timestamp turning into a huge allocation.
pub const MAX_POINTS: usize = 210_240;

/// A regular series; `values[i]` belongs to `start + i * step_seconds`.
/// A NaN value means the point is missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Timestamp of `values[0]`.
    pub start: DateTime<Utc>,
    /// Seconds between consecutive points (the CloudWatch period).
    pub step_seconds: u64,
    /// One value per step; NaN where missing.
    pub values: Vec<f64>,
}

/// A run of consecutive missing points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// Timestamp of the first missing point.
    pub start: DateTime<Utc>,
    /// Index of the first missing point.
    pub index: usize,
    /// How many points are missing in a row.
    pub points: usize,
}

impl Series {
    /// A series from regular values; use NaN for missing points.
    pub fn new(start: DateTime<Utc>, step_seconds: u64, values: Vec<f64>) -> Self {
        Self {
            start,
            step_seconds,
            values,
        }
    }

    /// Regularises irregular `(timestamp, value)` points onto a grid of
    /// `step_seconds` starting at the earliest timestamp. Each point goes to
    /// the nearest grid slot; several points in one slot are averaged; slots
    /// without a point are NaN (see [`Series::gaps`]). NaN values count as
    /// missing. Order of the input does not matter.
    ///
    /// # Errors
    /// [`ForecastError::InvalidArgument`] for no points, a zero step or a span
    /// beyond [`MAX_POINTS`]; [`ForecastError::NonFinite`] for an infinity.
    pub fn from_points(
        points: &[(DateTime<Utc>, f64)],
        step_seconds: u64,
    ) -> Result<Self, ForecastError> {
        let Some(start) = points.iter().map(|(t, _)| *t).min() else {
            return Err(ForecastError::InvalidArgument(
                "no datapoints to build a series from".into(),
            ));
        };
        regularise(points, step_seconds, start, None)
    }

    /// Like [`Series::from_points`], on the grid of the query window
    /// `[start, end)` instead of the datapoints' own span: slots before the
    /// first or after the last datapoint are NaN. Use this with the window a
    /// GetMetricData call asked for, so a metric that stopped reporting shows
    /// as a trailing gap (counted, imputed, refused when too large) rather
    /// than silently moving the forecast's start back. Points outside the
    /// window are ignored.
    ///
    /// # Errors
    /// As [`Series::from_points`], and [`ForecastError::InvalidArgument`] when
    /// `end` is not after `start`.
    pub fn from_points_in(
        points: &[(DateTime<Utc>, f64)],
        step_seconds: u64,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Self, ForecastError> {
        let step_ms = step_delta(step_seconds)?.num_milliseconds();
        let span_ms = (end - start).num_milliseconds();
        if span_ms <= 0 {
            return Err(ForecastError::InvalidArgument(format!(
                "window from {start} to {end} is empty"
            )));
        }
        let len = usize::try_from((span_ms + step_ms - 1) / step_ms).unwrap_or(usize::MAX);
        if len > MAX_POINTS {
            return Err(ForecastError::InvalidArgument(format!(
                "window spans more than {MAX_POINTS} steps of {step_seconds} s"
            )));
        }
        regularise(points, step_seconds, start, Some(len))
    }

    /// Number of grid points, observed or missing.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the series has no points at all.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Timestamp of grid point `index` (which may lie past the end, for
    /// forecasts); `None` only if it overflows the calendar.
    pub fn time_at(&self, index: usize) -> Option<DateTime<Utc>> {
        let seconds = i64::try_from(self.step_seconds)
            .ok()?
            .checked_mul(i64::try_from(index).ok()?)?;
        self.start
            .checked_add_signed(TimeDelta::try_seconds(seconds)?)
    }

    /// Number of missing (NaN) points.
    pub fn missing_points(&self) -> usize {
        self.values.iter().filter(|v| v.is_nan()).count()
    }

    /// Missing points over all points; 1.0 for an empty series.
    pub fn missing_fraction(&self) -> f64 {
        if self.values.is_empty() {
            1.0
        } else {
            self.missing_points() as f64 / self.values.len() as f64
        }
    }

    /// The runs of missing points, in order.
    pub fn gaps(&self) -> Vec<Gap> {
        let mut gaps = Vec::new();
        let mut run_start = None;
        for (i, v) in self.values.iter().chain(std::iter::once(&0.0)).enumerate() {
            match (v.is_nan(), run_start) {
                (true, None) => run_start = Some(i),
                (false, Some(first)) => {
                    gaps.push(Gap {
                        start: self.time_at(first).unwrap_or(self.start),
                        index: first,
                        points: i - first,
                    });
                    run_start = None;
                }
                (true, Some(_)) | (false, None) => {}
            }
        }
        gaps
    }

    /// Checks the step and that no value is infinite.
    pub(crate) fn check(&self) -> Result<(), ForecastError> {
        step_delta(self.step_seconds)?;
        if let Some((index, value)) = self
            .values
            .iter()
            .copied()
            .enumerate()
            .find(|(_, v)| v.is_infinite())
        {
            return Err(ForecastError::NonFinite {
                index,
                at: self.time_at(index).unwrap_or(self.start),
                value,
            });
        }
        // Every timestamp a caller may ask for (history and a horizon of
        // the same length) must exist, so later arithmetic cannot fail.
        if self.values.len() > MAX_POINTS || self.time_at(2 * self.values.len()).is_none() {
            return Err(ForecastError::InvalidArgument(format!(
                "series of {} points exceeds the {MAX_POINTS}-point limit or the calendar",
                self.values.len()
            )));
        }
        Ok(())
    }
}

/// Puts `points` on the grid from `start`; with `len`, exactly that many
/// slots and points outside them dropped, else as many as the points reach.
fn regularise(
    points: &[(DateTime<Utc>, f64)],
    step_seconds: u64,
    start: DateTime<Utc>,
    len: Option<usize>,
) -> Result<Series, ForecastError> {
    let step_ms = step_delta(step_seconds)?.num_milliseconds();
    let mut placed: Vec<(usize, f64)> = Vec::with_capacity(points.len());
    for (index, (t, value)) in points.iter().enumerate() {
        if value.is_infinite() {
            return Err(ForecastError::NonFinite {
                index,
                at: *t,
                value: *value,
            });
        }
        // Nearest slot, so datapoints a few seconds off the grid still land.
        let slot = ((*t - start).num_milliseconds() + step_ms / 2).div_euclid(step_ms);
        let Ok(slot) = usize::try_from(slot) else {
            continue; // before the window
        };
        match len {
            Some(len) if slot >= len => continue,
            Some(_) | None if slot >= MAX_POINTS => {
                return Err(ForecastError::InvalidArgument(format!(
                    "datapoints span more than {MAX_POINTS} steps of {step_seconds} s"
                )));
            }
            Some(_) | None => placed.push((slot, *value)),
        }
    }
    let len = len.unwrap_or_else(|| placed.iter().map(|(slot, _)| slot + 1).max().unwrap_or(0));
    let mut sums = vec![0.0; len];
    let mut counts = vec![0u32; len];
    for (slot, value) in placed {
        if !value.is_nan() {
            sums[slot] += value;
            counts[slot] += 1;
        }
    }
    let values = sums
        .iter()
        .zip(&counts)
        .map(|(sum, &n)| if n == 0 { f64::NAN } else { sum / f64::from(n) })
        .collect();
    Ok(Series::new(start, step_seconds, values))
}

/// The step as a duration: at least one second, at most a week.
fn step_delta(step_seconds: u64) -> Result<TimeDelta, ForecastError> {
    if step_seconds == 0 || step_seconds > crate::season::WEEK_SECONDS {
        return Err(ForecastError::InvalidArgument(format!(
            "step of {step_seconds} s; it must be between 1 s and one week"
        )));
    }
    i64::try_from(step_seconds)
        .ok()
        .and_then(TimeDelta::try_seconds)
        .ok_or_else(|| ForecastError::InvalidArgument(format!("step of {step_seconds} s")))
}
