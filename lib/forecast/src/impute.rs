//! Filling missing points before decomposition. STL needs a complete series;
//! a straight line across an hour-long hole on a daily cycle would flatten the
//! cycle there, so holes take the shape of the same hours one period earlier,
//! shifted to meet the observed points at both ends.

/// Returns `values` with every NaN replaced.
///
/// - A hole preceded by more than a period of data copies the values one
///   `period` earlier plus an offset (the level change over that period near
///   the edge) that moves linearly from the left edge's to the right edge's;
///   a trailing hole keeps the left offset.
/// - Without a period, or in the first cycle, holes are bridged linearly (a
///   trailing hole repeats the last value).
/// - A leading hole repeats the first observed value.
///
/// An all-NaN input comes back unchanged; callers reject it first.
pub(crate) fn fill_gaps(values: &[f64], period: Option<usize>) -> Vec<f64> {
    let mut out = values.to_vec();
    let n = out.len();
    let mut a = 0;
    while a < n {
        if !out[a].is_nan() {
            a += 1;
            continue;
        }
        let mut b = a;
        while b < n && out[b].is_nan() {
            b += 1;
        }
        let right = (b < n).then_some(b);
        match (a.checked_sub(1), right) {
            (None, None) => return out,
            (None, Some(r)) => {
                let first = out[r];
                out[a..b].fill(first);
            }
            (Some(l), right) => fill_after(&mut out, l, b, right, period),
        }
        a = b;
    }
    out
}

/// Fills `out[l + 1..b]`, where `l` is the last known point before the hole and
/// `right` the first known point after it, if any.
fn fill_after(out: &mut [f64], l: usize, b: usize, right: Option<usize>, period: Option<usize>) {
    let a = l + 1;
    let span = (b - l) as f64;
    // Offsets are averaged over a short window (an hour of a daily period) so
    // one noisy edge point does not shift the whole fill.
    let window = period.map_or(1, |p| (p / 24).max(1));
    match period.filter(|&p| a >= p + window) {
        Some(p) => {
            let left_offset = mean((a - window..a).map(|j| out[j] - out[j - p]));
            // Right-edge counterparts must be known, not inside this hole.
            let right_offset = right
                .and_then(|r| {
                    let end = (r + window).min(out.len());
                    mean_opt(
                        (r..end)
                            .filter(|&j| j - p < a && !out[j].is_nan())
                            .map(|j| out[j] - out[j - p]),
                    )
                })
                .unwrap_or(left_offset);
            // Ascending order: a hole longer than a period copies its own
            // fill, which continues the level change once per period.
            for i in a..b {
                let w = (i - l) as f64 / span;
                out[i] = out[i - p] + left_offset + w * (right_offset - left_offset);
            }
        }
        None => {
            let (from, to) = (out[l], right.map_or(out[l], |r| out[r]));
            for (i, slot) in out.iter_mut().enumerate().take(b).skip(a) {
                let w = (i - l) as f64 / span;
                *slot = from + w * (to - from);
            }
        }
    }
}

/// Mean of a non-empty iterator (the callers' windows are never empty).
fn mean(values: impl Iterator<Item = f64>) -> f64 {
    mean_opt(values).unwrap_or(0.0)
}

fn mean_opt(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAN: f64 = f64::NAN;

    #[test]
    fn bridges_linearly_without_a_period() {
        let filled = fill_gaps(&[NAN, 1.0, NAN, NAN, 4.0, NAN], None);
        assert_eq!(filled, vec![1.0, 1.0, 2.0, 3.0, 4.0, 4.0]);
    }

    #[test]
    fn copies_the_previous_cycle_with_an_offset() {
        // Period 4: a sawtooth 0,1,2,3 that rose by 10 in the second cycle.
        let values = [0.0, 1.0, 2.0, 3.0, 10.0, NAN, NAN, 13.0];
        let filled = fill_gaps(&values, Some(4));
        assert_eq!(filled, vec![0.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 13.0]);
    }

    #[test]
    fn trailing_hole_keeps_the_shape() {
        // The level rose by 1 over the last period; the fill keeps the 0/5
        // shape from there and, past one period, keeps rising.
        let values = [0.0, 5.0, 0.0, 5.0, 1.0, NAN, NAN, NAN];
        let filled = fill_gaps(&values, Some(2));
        assert_eq!(filled, vec![0.0, 5.0, 0.0, 5.0, 1.0, 6.0, 2.0, 7.0]);
    }

    #[test]
    fn holes_in_the_first_cycle_fall_back_to_lines() {
        let values = [0.0, NAN, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(fill_gaps(&values, Some(4))[1], 1.0);
    }

    #[test]
    fn all_missing_stays_missing() {
        assert!(fill_gaps(&[NAN, NAN], Some(1)).iter().all(|v| v.is_nan()));
    }
}
