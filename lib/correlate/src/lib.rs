//! Correlation analysis for SOPilot's `correlate` tools (CloudWatch and
//! Prometheus): which metric moved first, and by how much it leads a
//! symptom — the source document's §5.5, "DB connections exhausted 5 s
//! before the service errors; strong correlation". Pure functions, no I/O,
//! no async.
//!
//! [`rank`] takes a symptom [`Series`] and named candidate series and
//! returns a [`Ranking`]: one [`Finding`] per candidate, best first, and
//! [`Ranking::lines`] renders a line each ("DatabaseConnections led
//! HTTPCode_Target_5XX by 5 min, r=0.93 …").
//!
//! # Definitions
//!
//! - **Grid.** Every series is put on one regular grid. Its step is
//!   [`Options::step_seconds`] or, by default, the median spacing of the
//!   symptom's distinct timestamps (whole seconds, at least 1). It is
//!   anchored on the symptom's first datapoint and extends by whole steps
//!   to the earliest and latest datapoint of any series (at most
//!   [`MAX_GRID_POINTS`] slots). Each datapoint goes to the nearest slot;
//!   datapoints sharing a slot are averaged; a slot without one is missing.
//!   Missing points are never filled in: every statistic below uses only
//!   the points (or pairs) that exist. Non-finite values count as missing.
//! - **Pearson's r at lag k** ([`lagged_pearson`]): the sample Pearson
//!   correlation of the pairs `(symptom[t], candidate[t + k])` over every
//!   `t` where both exist, means taken over those pairs. Undefined (`None`,
//!   never NaN) with fewer than [`Options::min_pairs`] pairs or when either
//!   side of the pairs is flat. `r_at_zero` is r at lag 0.
//! - **Best lag** ([`best_lag`]): over `k` in `-L..=L`, with `L` =
//!   [`Options::max_lag_steps`] (capped at grid length minus `min_pairs`),
//!   the `k` with the largest |r|; ties (within 1e-9) go to the smaller
//!   |k|, then to the negative one. **A negative lag means the candidate
//!   moves first**: the symptom at `t` matches the candidate at `t - |k|`.
//!   A negative r means the two move in opposite directions.
//! - **Strength**: |r| at the best lag ≥ 0.7 strong, ≥ 0.4 moderate,
//!   otherwise weak ([`Strength`]).
//! - **Flat series**: a series whose finite values have a standard
//!   deviation at most [`FLAT_TOLERANCE`] × max(1, |mean|). A flat
//!   candidate's status is [`Status::Flat`]; if the symptom is flat every
//!   candidate's is [`Status::SymptomFlat`]; no r is reported for either.
//! - **Change points** ([`change_points`]): binary segmentation on the
//!   mean of the finite points. The split of a segment maximising the drop
//!   in squared deviations `n1·n2/n·(mean1 − mean2)²` (each side at least
//!   [`Options::min_segment`] points) is taken, best over all segments
//!   first, while the drop exceeds `3·σ²·ln n` (and 1e-9 of the total sum of
//!   squares), up to [`Options::max_change_points`]. `σ` is the robust
//!   noise level `1.4826·MAD(|first differences|)/√2`. A steady trend reads
//!   as several changes.
//! - **First anomaly** ([`first_anomaly`]): the baseline is the finite
//!   points in the first [`Options::baseline_fraction`] of the grid (at
//!   least [`Options::min_baseline_points`], else no verdict). With its
//!   median `m` and scale `s = max(1.4826·MAD, 1.2533·mean absolute
//!   deviation)` (deviations from `m`; the MAD alone collapses on counts
//!   that are mostly 0), the robust z-score is `(x − m)/s`. A point after
//!   the baseline is anomalous when `|z|` exceeds [`Options::z_threshold`]
//!   (3.5 by default); a constant baseline (`s` = 0) makes any departure
//!   from it anomalous, without a score. The first anomaly is the first
//!   point of the first run of [`Options::min_run`] (3) consecutive finite
//!   anomalous points on the same side of `m`: a lone spike is not one.
//!   `anomaly_lead_seconds` is the symptom's first anomaly minus the
//!   candidate's: positive when the candidate's came first.
//! - **Ranking**: candidates with status `ok` first; then by strength
//!   class; within a class those that lead (negative best lag) first; then
//!   by larger |r|; then by longer lead; then by name.

mod anomaly;
mod changepoint;
mod error;
mod rank;
mod render;
mod series;
mod stats;
pub mod synthetic;

pub use anomaly::{FirstAnomaly, first_anomaly};
pub use changepoint::{ChangePoint, change_points};
pub use error::CorrelateError;
pub use rank::{
    Finding, Options, Ranking, SeriesFacts, Status, Strength, TimedAnomaly, TimedChange, rank,
};
pub use series::{Grid, MAX_GRID_POINTS, Series};
pub use stats::{FLAT_TOLERANCE, Lag, best_lag, lagged_pearson, pearson};
