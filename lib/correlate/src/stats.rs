//! Pearson correlation over the pairs two aligned series both have, at a
//! lag, and the lag within a bound that maximises |r|.

use serde::Serialize;

/// Relative spread below which a series counts as flat: its standard
/// deviation is at most this times `max(1, |mean|)`.
pub const FLAT_TOLERANCE: f64 = 1e-9;

/// Pearson's r over the pairs `(x[i], y[i])` where both are finite. `None`
/// with fewer than 2 such pairs or when either side is flat over them
/// (r is undefined, never NaN).
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    pearson_pairs(x.iter().copied().zip(y.iter().copied())).map(|(r, _)| r)
}

/// Pearson's r and the number of pairs used, over finite pairs only.
/// Two passes (means, then centred sums) for accuracy on large values.
pub(crate) fn pearson_pairs(
    pairs: impl Iterator<Item = (f64, f64)> + Clone,
) -> Option<(f64, usize)> {
    let finite = |&(a, b): &(f64, f64)| a.is_finite() && b.is_finite();
    let (mut n, mut sx, mut sy) = (0usize, 0.0, 0.0);
    for (a, b) in pairs.clone().filter(finite) {
        n += 1;
        sx += a;
        sy += b;
    }
    if n < 2 {
        return None;
    }
    let (mx, my) = (sx / n as f64, sy / n as f64);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in pairs.filter(finite) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    let flat = |ss: f64, m: f64| (ss / n as f64).sqrt() <= FLAT_TOLERANCE * m.abs().max(1.0);
    if flat(sxx, mx) || flat(syy, my) {
        return None;
    }
    Some(((sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0), n))
}

/// Pearson's r between `symptom[t]` and `candidate[t + lag]` over every `t`
/// where both exist, and the number of pairs. A negative `lag` compares the
/// symptom with the candidate's *earlier* values: a peak at `lag = -k` means
/// the candidate moves `k` steps before the symptom.
pub fn lagged_pearson(symptom: &[f64], candidate: &[f64], lag: i64) -> Option<(f64, usize)> {
    let n = symptom.len().min(candidate.len()) as i64;
    if lag.abs() >= n {
        return None;
    }
    let (s0, c0) = if lag >= 0 { (0, lag) } else { (-lag, 0) };
    let len = (n - lag.abs()) as usize;
    let s = &symptom[s0 as usize..s0 as usize + len];
    let c = &candidate[c0 as usize..c0 as usize + len];
    pearson_pairs(s.iter().copied().zip(c.iter().copied()))
}

/// The lag that maximises |r|.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Lag {
    /// Grid steps; negative: the candidate moves first.
    pub steps: i64,
    /// `steps` times the grid step, in seconds.
    pub seconds: i64,
    /// Pearson's r at this lag.
    pub r: f64,
    /// Pairs the r was computed over.
    pub pairs: usize,
}

/// Over `lag` in `-max_lag..=max_lag`, the lag whose r has the largest |r|,
/// counting only lags with at least `min_pairs` pairs. Lags are tried in the
/// order 0, -1, +1, -2, +2, …; a later lag wins only with a |r| larger by
/// more than 1e-9, so ties go to the smallest shift and then to the
/// candidate leading.
pub fn best_lag(
    symptom: &[f64],
    candidate: &[f64],
    max_lag: usize,
    min_pairs: usize,
    step_seconds: u64,
) -> Option<Lag> {
    let mut best: Option<Lag> = None;
    let order = (0..=max_lag as i64).flat_map(|k| if k == 0 { vec![0] } else { vec![-k, k] });
    for steps in order {
        let Some((r, pairs)) = lagged_pearson(symptom, candidate, steps) else {
            continue;
        };
        if pairs < min_pairs.max(2) {
            continue;
        }
        if best.is_none_or(|b| r.abs() > b.r.abs() + 1e-9) {
            let seconds = steps.saturating_mul(step_seconds as i64);
            best = Some(Lag {
                steps,
                seconds,
                r,
                pairs,
            });
        }
    }
    best
}

/// Whether the finite values of `values` are all (nearly) equal; `None`
/// when there is no finite value.
pub(crate) fn is_flat(values: &[f64]) -> Option<bool> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return None;
    }
    let n = finite.len() as f64;
    let mean = finite.iter().sum::<f64>() / n;
    let var = finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    Some(var.sqrt() <= FLAT_TOLERANCE * mean.abs().max(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_of_a_line_is_one_and_of_a_flat_series_none() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert!((pearson(&x, &[2.0, 4.0, 6.0, 8.0]).unwrap_or(0.0) - 1.0).abs() < 1e-12);
        assert!((pearson(&x, &[8.0, 6.0, 4.0, 2.0]).unwrap_or(0.0) + 1.0).abs() < 1e-12);
        assert_eq!(pearson(&x, &[5.0; 4]), None);
        assert_eq!(pearson(&[1.0], &[1.0]), None);
    }

    #[test]
    fn missing_pairs_are_skipped() {
        let x = [1.0, f64::NAN, 3.0, 4.0, 5.0];
        let y = [2.0, 100.0, 6.0, f64::NAN, 10.0];
        let (r, n) = pearson_pairs(x.iter().copied().zip(y.iter().copied())).unwrap_or((0.0, 0));
        assert_eq!(n, 3);
        assert!((r - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_candidate_two_steps_ahead_peaks_at_minus_two() {
        let s: Vec<f64> = (0..50)
            .map(|i| ((i as f64) * 0.7).sin() + (i as f64 * 0.13).cos())
            .collect();
        // candidate[t] = symptom[t + 2]: the candidate shows now what the symptom shows later.
        let c: Vec<f64> = (0..50)
            .map(|i| s.get(i + 2).copied().unwrap_or(f64::NAN))
            .collect();
        let lag = best_lag(&s, &c, 5, 10, 60);
        assert_eq!(lag.map(|l| (l.steps, l.seconds)), Some((-2, -120)));
    }
}
