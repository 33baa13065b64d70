//! The first anomalous point: a robust z-score against a baseline window.

use serde::Serialize;

use crate::changepoint::median;

/// The first point after the baseline whose robust z-score exceeds the
/// threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FirstAnomaly {
    /// Grid index of the point.
    pub index: usize,
    /// Its value.
    pub value: f64,
    /// Median of the baseline.
    pub baseline_median: f64,
    /// Its robust z-score; `None` when the baseline is constant (any
    /// departure from it is anomalous, the score is unbounded).
    pub z: Option<f64>,
}

/// The first anomalous point of `values` (grid-aligned, NaN = missing).
///
/// The baseline is the finite points among the first `baseline_slots` grid
/// slots; with fewer than `min_baseline` of them there is no verdict
/// (`None`). Its centre is the median `m`; its scale
/// `s = max(1.4826 * MAD, 1.2533 * mean absolute deviation)`, both taken
/// from `m` (the MAD alone collapses on a count that is mostly 0, such as
/// 5XX per minute, and would flag its ordinary bursts). The robust z-score of
/// a point is `(x - m) / s`. A point after the baseline is anomalous when
/// `|z| > threshold`; with `s = 0` (a constant baseline) when it differs
/// from `m` by more than `1e-9 * max(1, |m|)`. The first anomaly is the first
/// point of the first run of `min_run` consecutive finite anomalous points
/// on the same side of `m` (missing points neither break nor extend a run),
/// so a lone spike is not one.
pub fn first_anomaly(
    values: &[f64],
    baseline_slots: usize,
    min_baseline: usize,
    threshold: f64,
    min_run: usize,
) -> Option<FirstAnomaly> {
    let split = baseline_slots.min(values.len());
    let mut base: Vec<f64> = values[..split]
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if base.len() < min_baseline.max(1) {
        return None;
    }
    let med = median(&mut base)?;
    let mut dev: Vec<f64> = base.iter().map(|v| (v - med).abs()).collect();
    let mean_ad = dev.iter().sum::<f64>() / dev.len() as f64;
    let mad = median(&mut dev)?;
    let scale = (1.4826 * mad).max(1.2533 * mean_ad);
    let tolerance = 1e-9 * med.abs().max(1.0);
    let score = |value: f64| (scale > tolerance).then(|| (value - med) / scale);
    let anomalous = |value: f64| match score(value) {
        Some(z) => z.abs() > threshold,
        None => (value - med).abs() > tolerance,
    };
    let mut run: Option<(usize, f64, usize)> = None; // (first index, its value, length)
    for (index, &value) in values
        .iter()
        .enumerate()
        .skip(split)
        .filter(|(_, v)| v.is_finite())
    {
        if !anomalous(value) {
            run = None;
            continue;
        }
        let side = (value - med).signum();
        run = match run {
            Some((i, v, n)) if (v - med).signum() == side => Some((i, v, n + 1)),
            _ => Some((index, value, 1)),
        };
        if let Some((index, value, n)) = run
            && n >= min_run.max(1)
        {
            return Some(FirstAnomaly {
                index,
                value,
                baseline_median: med,
                z: score(value),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jump_after_a_noisy_baseline_is_found() {
        let mut v: Vec<f64> = (0..20).map(|i| 10.0 + (i % 4) as f64 * 0.5).collect();
        v.extend([10.5, 11.0, 30.0, 31.0]);
        let a = first_anomaly(&v, 20, 5, 3.5, 1);
        assert_eq!(a.map(|a| a.index), Some(22));
        assert!(a.and_then(|a| a.z).unwrap_or(0.0) > 3.5);
    }

    #[test]
    fn a_constant_baseline_flags_the_first_departure_without_a_score() {
        let mut v = vec![20.0; 10];
        v.extend([20.0, 21.0, 50.0]);
        let a = first_anomaly(&v, 5, 5, 3.5, 1);
        assert_eq!(a.map(|a| (a.index, a.z)), Some((11, None)));
        assert_eq!(first_anomaly(&[20.0; 30], 10, 5, 3.5, 1), None);
    }

    #[test]
    fn too_short_a_baseline_gives_no_verdict() {
        let v = [1.0, f64::NAN, f64::NAN, 1.0, 100.0];
        assert_eq!(first_anomaly(&v, 3, 3, 3.5, 1), None);
    }

    #[test]
    fn a_lone_spike_is_not_a_run_and_a_mostly_zero_count_keeps_its_scale() {
        // 5XX per minute: mostly 0, bursts of noise; then a lasting rise.
        let mut v: Vec<f64> = (0..40)
            .map(|i| [0.0, 0.0, 0.0, 7.0, 0.0, 12.0, 0.0, 25.0][i % 8])
            .collect();
        v.extend([0.0, 90.0, 0.0, 0.0, 300.0, 310.0, f64::NAN, 305.0, 320.0]);
        let a = first_anomaly(&v, 40, 5, 3.5, 3);
        assert_eq!(a.map(|a| a.index), Some(44), "{a:?}");
        // Without the run, the lone 90 would be the first anomaly.
        assert_eq!(first_anomaly(&v, 40, 5, 3.5, 1).map(|a| a.index), Some(41));
        // A run must stay on one side of the baseline.
        let w = [5.0, 5.1, 4.9, 5.0, 5.05, 50.0, -40.0, 50.0, 5.0];
        assert_eq!(first_anomaly(&w, 5, 5, 3.5, 2), None);
    }
}
