//! Series as they arrive (irregular timestamps, holes) and the common grid
//! every series is put on before anything is compared.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::CorrelateError;

/// The most grid points one analysis spans (about 69 days of 1-minute
/// points). Guards against one stray timestamp turning into a huge grid.
pub const MAX_GRID_POINTS: usize = 100_000;

/// A metric series as a source returns it: `(timestamp, value)` pairs in any
/// order, possibly irregular, with holes. Non-finite values (NaN, ±∞) count
/// as missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The datapoints.
    pub points: Vec<(DateTime<Utc>, f64)>,
}

impl Series {
    /// A series from its datapoints.
    pub fn new(points: Vec<(DateTime<Utc>, f64)>) -> Self {
        Self { points }
    }

    /// A series from Unix timestamps in seconds (Prometheus' form; fractions
    /// are kept to the millisecond). Timestamps out of chrono's range are
    /// dropped.
    pub fn from_unix_seconds(points: &[(f64, f64)]) -> Self {
        let points = points
            .iter()
            .filter_map(|&(t, v)| {
                let ms = (t * 1000.0).round();
                if !ms.is_finite() || ms.abs() > 8.0e15 {
                    return None;
                }
                DateTime::<Utc>::from_timestamp_millis(ms as i64).map(|at| (at, v))
            })
            .collect();
        Self { points }
    }

    /// A regular series: `values[i]` at `start + i * step_seconds`; NaN marks
    /// a missing point.
    pub fn regular(start: DateTime<Utc>, step_seconds: u64, values: &[f64]) -> Self {
        let step = TimeDelta::seconds(i64::try_from(step_seconds).unwrap_or(i64::MAX / 1000));
        let points = values
            .iter()
            .enumerate()
            .filter_map(|(i, &v)| {
                let offset = step.checked_mul(i32::try_from(i).ok()?)?;
                Some((start.checked_add_signed(offset)?, v))
            })
            .collect();
        Self { points }
    }

    /// The finite datapoints' timestamps, sorted, without duplicates.
    pub(crate) fn timestamps(&self) -> Vec<DateTime<Utc>> {
        let mut ts: Vec<_> = self
            .points
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(t, _)| *t)
            .collect();
        ts.sort_unstable();
        ts.dedup();
        ts
    }
}

/// The common grid: `len` slots `step_seconds` apart from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Grid {
    /// Timestamp of slot 0.
    pub start: DateTime<Utc>,
    /// Seconds between slots.
    pub step_seconds: u64,
    /// Number of slots.
    pub len: usize,
}

impl Grid {
    /// The timestamp of slot `index`.
    pub fn at(&self, index: usize) -> DateTime<Utc> {
        let offset = (index as i64).saturating_mul(self.step_seconds as i64);
        self.start + TimeDelta::seconds(offset)
    }

    /// The grid over every series: anchored on the symptom's first
    /// datapoint (so its points fall on slots), extended by whole steps to
    /// the earliest and latest datapoint of any series.
    pub(crate) fn over(
        symptom: &Series,
        others: &[&Series],
        step: Option<u64>,
    ) -> Result<Self, CorrelateError> {
        let sym = symptom.timestamps();
        let (Some(&anchor), Some(_)) = (sym.first(), sym.last()) else {
            return Err(CorrelateError::EmptySymptom);
        };
        let step_seconds = match step {
            Some(0) => {
                return Err(CorrelateError::InvalidStep(
                    "step_seconds is 0; give a positive number of seconds".into(),
                ));
            }
            Some(s) => s,
            None => median_spacing(&sym)?,
        };
        let all = others
            .iter()
            .flat_map(|s| s.timestamps())
            .chain(sym.iter().copied());
        let (lo, hi) = all.fold((anchor, anchor), |(lo, hi), t| (lo.min(t), hi.max(t)));
        let step = step_seconds as i64;
        let before = (anchor - lo).num_seconds().div_euclid(step)
            + i64::from((anchor - lo).num_seconds() % step != 0);
        let start = anchor - TimeDelta::seconds(before * step);
        let span = (hi - start).num_seconds();
        let len = (span + step / 2).div_euclid(step) as u64 + 1;
        if len > MAX_GRID_POINTS as u64 {
            return Err(CorrelateError::TooManyPoints {
                points: len,
                step_seconds,
                max: MAX_GRID_POINTS,
            });
        }
        Ok(Self {
            start,
            step_seconds,
            len: len as usize,
        })
    }

    /// Puts a series on the grid: each finite point goes to the nearest
    /// slot, points sharing a slot are averaged, empty slots are NaN and
    /// points beyond the grid are ignored.
    pub fn align(&self, series: &Series) -> Vec<f64> {
        let mut sum = vec![0.0; self.len];
        let mut count = vec![0u32; self.len];
        let step = self.step_seconds as i64 * 1000;
        for (t, v) in series.points.iter().filter(|(_, v)| v.is_finite()) {
            let ms = (*t - self.start).num_milliseconds();
            let slot = (ms + step / 2).div_euclid(step);
            if let Ok(i) = usize::try_from(slot)
                && i < self.len
            {
                sum[i] += v;
                count[i] += 1;
            }
        }
        sum.iter()
            .zip(&count)
            .map(|(s, &c)| if c == 0 { f64::NAN } else { s / f64::from(c) })
            .collect()
    }
}

/// The median gap between consecutive distinct timestamps, in whole
/// seconds (at least 1).
fn median_spacing(ts: &[DateTime<Utc>]) -> Result<u64, CorrelateError> {
    let mut gaps: Vec<i64> = ts
        .windows(2)
        .map(|w| (w[1] - w[0]).num_milliseconds())
        .collect();
    if gaps.is_empty() {
        return Err(CorrelateError::InvalidStep(
            "the symptom has a single datapoint, so no step can be inferred; widen the window or give step_seconds".into(),
        ));
    }
    gaps.sort_unstable();
    let median_ms = gaps[gaps.len() / 2];
    Ok(((median_ms + 500) / 1000).max(1) as u64)
}
