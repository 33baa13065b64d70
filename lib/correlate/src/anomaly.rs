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
/// (`None`). Its scale is `1.4826 * MAD` (the MAD is the median absolute
/// deviation from the median), or `1.2533 * mean absolute deviation` when
/// the MAD is 0. The robust z-score of a point is `(x - median) / scale`;
/// the first finite point after the baseline slots with `|z| > threshold` is
/// returned. With a scale of 0 (a constant baseline), the first point that
/// differs from the median by more than `1e-9 * max(1, |median|)` is.
pub fn first_anomaly(
    values: &[f64],
    baseline_slots: usize,
    min_baseline: usize,
    threshold: f64,
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
    let mad = median(&mut dev)?;
    let mean_ad = dev.iter().sum::<f64>() / dev.len() as f64;
    let scale = if mad > 0.0 {
        1.4826 * mad
    } else {
        1.2533 * mean_ad
    };
    let tolerance = 1e-9 * med.abs().max(1.0);
    values
        .iter()
        .enumerate()
        .skip(split)
        .filter(|(_, v)| v.is_finite())
        .find_map(|(index, &value)| {
            let z = (scale > tolerance).then(|| (value - med) / scale);
            let anomalous = match z {
                Some(z) => z.abs() > threshold,
                None => (value - med).abs() > tolerance,
            };
            anomalous.then_some(FirstAnomaly {
                index,
                value,
                baseline_median: med,
                z,
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jump_after_a_noisy_baseline_is_found() {
        let mut v: Vec<f64> = (0..20).map(|i| 10.0 + (i % 4) as f64 * 0.5).collect();
        v.extend([10.5, 11.0, 30.0, 31.0]);
        let a = first_anomaly(&v, 20, 5, 3.5);
        assert_eq!(a.map(|a| a.index), Some(22));
        assert!(a.and_then(|a| a.z).unwrap_or(0.0) > 3.5);
    }

    #[test]
    fn a_constant_baseline_flags_the_first_departure_without_a_score() {
        let mut v = vec![20.0; 10];
        v.extend([20.0, 21.0, 50.0]);
        let a = first_anomaly(&v, 5, 5, 3.5);
        assert_eq!(a.map(|a| (a.index, a.z)), Some((11, None)));
        assert_eq!(first_anomaly(&[20.0; 30], 10, 5, 3.5), None);
    }

    #[test]
    fn too_short_a_baseline_gives_no_verdict() {
        let v = [1.0, f64::NAN, f64::NAN, 1.0, 100.0];
        assert_eq!(first_anomaly(&v, 3, 3, 3.5), None);
    }
}
