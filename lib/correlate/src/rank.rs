//! The analysis of a symptom against candidates, ranked.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::anomaly::{FirstAnomaly, first_anomaly};
use crate::changepoint::{ChangePoint, change_points};
use crate::error::CorrelateError;
use crate::series::{Grid, Series};
use crate::stats::{Lag, best_lag, is_flat, lagged_pearson};

/// Knobs of [`rank`]; [`Options::default`] fits a CloudWatch or Prometheus
/// window of an incident (tens to a few hundred points).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Options {
    /// The grid step in seconds; `None`: the median spacing of the
    /// symptom's datapoints.
    pub step_seconds: Option<u64>,
    /// Largest shift tried, in grid steps, each way.
    pub max_lag_steps: usize,
    /// Fewest pairs an r is computed over (at lag 0 and at any lag).
    pub min_pairs: usize,
    /// Share of the grid, from its start, used as each series' baseline
    /// for the first anomaly, in `(0, 1)`.
    pub baseline_fraction: f64,
    /// Fewest finite baseline points for an anomaly verdict.
    pub min_baseline_points: usize,
    /// Robust z-score above which a point is anomalous.
    pub z_threshold: f64,
    /// Consecutive anomalous points (on one side) that make the first anomaly.
    pub min_run: usize,
    /// Most change points reported per series.
    pub max_change_points: usize,
    /// Fewest points in a segment between change points.
    pub min_segment: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            step_seconds: None,
            max_lag_steps: 15,
            min_pairs: 10,
            baseline_fraction: 0.25,
            min_baseline_points: 5,
            z_threshold: 3.5,
            min_run: 3,
            max_change_points: 3,
            min_segment: 3,
        }
    }
}

impl Options {
    fn validate(&self) -> Result<(), CorrelateError> {
        let bad = |what: String| Err(CorrelateError::InvalidOption(what));
        if !(self.baseline_fraction > 0.0 && self.baseline_fraction < 1.0) {
            return bad(format!(
                "baseline_fraction {} must be between 0 and 1 (0.25: the first quarter of the window)",
                self.baseline_fraction
            ));
        }
        if !(self.z_threshold.is_finite() && self.z_threshold > 0.0) {
            return bad(format!(
                "z_threshold {} must be a positive number (3.5 is usual)",
                self.z_threshold
            ));
        }
        if self.min_pairs < 3 {
            return bad(format!("min_pairs {} must be at least 3", self.min_pairs));
        }
        Ok(())
    }
}

/// How usable a series was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Correlated: `r_at_zero` and/or `best_lag` are set.
    Ok,
    /// The series does not vary over the window: no correlation exists.
    Flat,
    /// The symptom does not vary: nothing can correlate with it.
    SymptomFlat,
    /// Fewer than `min_pairs` points overlap the symptom at any lag.
    TooFewPoints,
    /// No finite datapoint at all.
    NoData,
}

/// |r| in words: strong ≥ 0.7, moderate ≥ 0.4, weak otherwise; none
/// without an r.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    /// No r (flat, too few points).
    None,
    /// |r| < 0.4.
    Weak,
    /// 0.4 ≤ |r| < 0.7.
    Moderate,
    /// |r| ≥ 0.7.
    Strong,
}

impl Strength {
    /// The class of an |r|.
    pub fn of(r: Option<f64>) -> Self {
        match r.map(f64::abs) {
            None => Self::None,
            Some(a) if a >= 0.7 => Self::Strong,
            Some(a) if a >= 0.4 => Self::Moderate,
            Some(_) => Self::Weak,
        }
    }
}

/// What one series did over the window, on its own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesFacts {
    /// Finite points on the grid.
    pub points: usize,
    /// Changes in the mean, in time order.
    pub change_points: Vec<TimedChange>,
    /// The first anomalous point after the baseline.
    pub first_anomaly: Option<TimedAnomaly>,
}

/// A [`ChangePoint`] with its timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimedChange {
    /// When the new segment starts.
    pub at: DateTime<Utc>,
    /// The change itself.
    #[serde(flatten)]
    pub change: ChangePoint,
}

/// A [`FirstAnomaly`] with its timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimedAnomaly {
    /// When.
    pub at: DateTime<Utc>,
    /// The point.
    #[serde(flatten)]
    pub anomaly: FirstAnomaly,
}

/// One candidate against the symptom.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The candidate's name, as given.
    pub name: String,
    /// Whether the correlation could be computed.
    pub status: Status,
    /// Pearson's r at lag 0.
    pub r_at_zero: Option<f64>,
    /// The lag within the bound with the largest |r|; negative: the
    /// candidate moves first.
    pub best_lag: Option<Lag>,
    /// [`Strength::of`] the best lag's r.
    pub strength: Strength,
    /// The candidate's own change points and first anomaly.
    pub facts: SeriesFacts,
    /// Seconds from the candidate's first anomaly to the symptom's:
    /// positive when the candidate's came first.
    pub anomaly_lead_seconds: Option<i64>,
}

impl Finding {
    /// Whether the candidate moved first, by its best lag or, without one,
    /// by its first anomaly.
    pub fn leads(&self) -> bool {
        match self.best_lag {
            Some(lag) => lag.steps < 0,
            None => self.anomaly_lead_seconds.is_some_and(|s| s > 0),
        }
    }
}

/// The whole analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranking {
    /// The common grid every series was put on.
    pub grid: Grid,
    /// The lag bound actually used, in steps.
    pub max_lag_steps: usize,
    /// Whether the symptom is flat (every finding is then `symptom_flat`).
    pub symptom_flat: bool,
    /// The symptom on its own.
    pub symptom: SeriesFacts,
    /// One per candidate, best first (see [`rank`]).
    pub findings: Vec<Finding>,
}

/// Aligns the symptom and each candidate on one grid and ranks the
/// candidates (definitions in the crate documentation).
///
/// # Errors
/// The symptom has no datapoint, the step cannot be inferred or is 0, the
/// grid would exceed [`crate::MAX_GRID_POINTS`], or an option is out of range.
pub fn rank(
    symptom: &Series,
    candidates: &[(String, Series)],
    options: &Options,
) -> Result<Ranking, CorrelateError> {
    options.validate()?;
    let others: Vec<&Series> = candidates.iter().map(|(_, s)| s).collect();
    let grid = Grid::over(symptom, &others, options.step_seconds)?;
    let baseline_slots = ((grid.len as f64) * options.baseline_fraction).ceil() as usize;
    let sym = grid.align(symptom);
    let symptom_flat = is_flat(&sym) == Some(true);
    let symptom_facts = facts(&sym, &grid, baseline_slots, options);
    let max_lag_steps = options
        .max_lag_steps
        .min(grid.len.saturating_sub(options.min_pairs));
    let mut findings: Vec<Finding> = candidates
        .iter()
        .map(|(name, series)| {
            let values = grid.align(series);
            let mut f = finding(
                name,
                &sym,
                &values,
                symptom_flat,
                max_lag_steps,
                &grid,
                options,
            );
            f.facts = facts(&values, &grid, baseline_slots, options);
            f.anomaly_lead_seconds = lead(&symptom_facts, &f.facts);
            f
        })
        .collect();
    findings.sort_by(order);
    Ok(Ranking {
        grid,
        max_lag_steps,
        symptom_flat,
        symptom: symptom_facts,
        findings,
    })
}

/// The correlation part of a finding (facts are filled in by the caller).
fn finding(
    name: &str,
    sym: &[f64],
    values: &[f64],
    symptom_flat: bool,
    max_lag: usize,
    grid: &Grid,
    options: &Options,
) -> Finding {
    let empty = SeriesFacts {
        points: 0,
        change_points: Vec::new(),
        first_anomaly: None,
    };
    let mut f = Finding {
        name: name.to_owned(),
        status: Status::Ok,
        r_at_zero: None,
        best_lag: None,
        strength: Strength::None,
        facts: empty,
        anomaly_lead_seconds: None,
    };
    f.status = match is_flat(values) {
        None => Status::NoData,
        Some(true) => Status::Flat,
        Some(false) if symptom_flat => Status::SymptomFlat,
        Some(false) => Status::Ok,
    };
    if f.status != Status::Ok {
        return f;
    }
    f.r_at_zero = lagged_pearson(sym, values, 0)
        .filter(|&(_, n)| n >= options.min_pairs)
        .map(|(r, _)| r);
    f.best_lag = best_lag(sym, values, max_lag, options.min_pairs, grid.step_seconds);
    f.strength = Strength::of(f.best_lag.map(|l| l.r));
    if f.best_lag.is_none() {
        f.status = Status::TooFewPoints;
    }
    f
}

/// A series' points, change points and first anomaly, with timestamps.
fn facts(values: &[f64], grid: &Grid, baseline_slots: usize, o: &Options) -> SeriesFacts {
    let points = values.iter().filter(|v| v.is_finite()).count();
    let change_points = change_points(values, o.max_change_points, o.min_segment)
        .into_iter()
        .map(|change| TimedChange {
            at: grid.at(change.index),
            change,
        })
        .collect();
    let first_anomaly = first_anomaly(
        values,
        baseline_slots,
        o.min_baseline_points,
        o.z_threshold,
        o.min_run,
    )
    .map(|anomaly| TimedAnomaly {
        at: grid.at(anomaly.index),
        anomaly,
    });
    SeriesFacts {
        points,
        change_points,
        first_anomaly,
    }
}

fn lead(symptom: &SeriesFacts, candidate: &SeriesFacts) -> Option<i64> {
    let (s, c) = (symptom.first_anomaly?, candidate.first_anomaly?);
    Some((s.at - c.at).num_seconds())
}

/// Ranking order: status `ok` first; then strength class (strong, moderate,
/// weak); then candidates that lead before the others; then larger |r| at
/// the best lag; then the longer lead (more negative lag); then name.
fn order(a: &Finding, b: &Finding) -> Ordering {
    let abs_r = |f: &Finding| f.best_lag.map_or(0.0, |l| l.r.abs());
    let steps = |f: &Finding| f.best_lag.map_or(0, |l| l.steps);
    (b.status == Status::Ok)
        .cmp(&(a.status == Status::Ok))
        .then(b.strength.cmp(&a.strength))
        .then(b.leads().cmp(&a.leads()))
        .then(abs_r(b).total_cmp(&abs_r(a)))
        .then(steps(a).cmp(&steps(b)))
        .then(a.name.cmp(&b.name))
}
