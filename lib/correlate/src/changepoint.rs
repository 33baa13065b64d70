//! Change points in the mean by binary segmentation (CUSUM splits with a
//! BIC-like penalty).

use serde::Serialize;

/// A change in the series' mean: the segment before it and the one from it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChangePoint {
    /// Grid index of the first point of the new segment.
    pub index: usize,
    /// Mean of the segment before.
    pub before: f64,
    /// Mean of the segment from `index`.
    pub after: f64,
}

/// Change points in the mean of the finite values of `values` (grid
/// indices; missing points are skipped). Binary segmentation: a segment of
/// at least `2 * min_segment` points is split where the two halves' means
/// differ most, i.e. where the drop in the sum of squared deviations
/// `n1 * n2 / n * (mean1 - mean2)^2` is largest, with each half at least
/// `min_segment` points long. The best split over all segments is taken
/// first, while its drop exceeds the penalty `3 * sigma^2 * ln(n)` (and
/// `1e-9` of the total sum of squares), up to `max_points` splits. `sigma`
/// is the noise estimated robustly from first differences:
/// `1.4826 * MAD(diff) / sqrt(2)`, which a level shift barely moves.
/// Returned in time order with the means of the final segments.
pub fn change_points(values: &[f64], max_points: usize, min_segment: usize) -> Vec<ChangePoint> {
    let (idx, xs): (Vec<usize>, Vec<f64>) = values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, v)| (i, *v))
        .unzip();
    let min_segment = min_segment.max(1);
    if max_points == 0 || xs.len() < 2 * min_segment {
        return Vec::new();
    }
    let prefix = Prefix::new(&xs);
    let penalty = penalty(&xs, &prefix);
    let mut cuts: Vec<usize> = Vec::new();
    while cuts.len() < max_points {
        let mut bounds = vec![0];
        bounds.extend(cuts.iter().copied());
        bounds.push(xs.len());
        let best = bounds
            .windows(2)
            .filter_map(|w| best_split(&prefix, w[0], w[1], min_segment))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((at, drop)) if drop > penalty => {
                cuts.push(at);
                cuts.sort_unstable();
            }
            _ => break,
        }
    }
    describe(&cuts, &prefix, &idx)
}

/// Turns cut positions (in the compressed series) into grid change points.
fn describe(cuts: &[usize], prefix: &Prefix, idx: &[usize]) -> Vec<ChangePoint> {
    let mut bounds = vec![0];
    bounds.extend(cuts.iter().copied());
    bounds.push(prefix.len());
    bounds
        .windows(3)
        .map(|w| ChangePoint {
            index: idx[w[1]],
            before: prefix.mean(w[0], w[1]),
            after: prefix.mean(w[1], w[2]),
        })
        .collect()
}

/// The split of `[a, b)` with the largest drop in squared deviations.
fn best_split(p: &Prefix, a: usize, b: usize, min_segment: usize) -> Option<(usize, f64)> {
    if b - a < 2 * min_segment {
        return None;
    }
    (a + min_segment..=b - min_segment)
        .map(|s| {
            let (n1, n2) = ((s - a) as f64, (b - s) as f64);
            let d = p.mean(a, s) - p.mean(s, b);
            (s, n1 * n2 / (n1 + n2) * d * d)
        })
        .max_by(|x, y| x.1.total_cmp(&y.1))
}

/// `3 * sigma^2 * ln(n)` with the robust noise estimate, floored at `1e-9`
/// of the total sum of squares (so a noiseless series still needs a real
/// difference to split).
fn penalty(xs: &[f64], p: &Prefix) -> f64 {
    let n = xs.len() as f64;
    let mut diffs: Vec<f64> = xs.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let mad = median(&mut diffs).unwrap_or(0.0);
    let sigma = 1.4826 * mad / std::f64::consts::SQRT_2;
    let mean = p.mean(0, xs.len());
    let sst: f64 = xs.iter().map(|x| (x - mean).powi(2)).sum();
    (3.0 * sigma * sigma * n.ln())
        .max(1e-9 * sst)
        .max(f64::MIN_POSITIVE)
}

/// Median of `xs` (reorders it); `None` when empty.
pub(crate) fn median(xs: &mut [f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_unstable_by(f64::total_cmp);
    let m = xs.len() / 2;
    Some(if xs.len().is_multiple_of(2) {
        (xs[m - 1] + xs[m]) / 2.0
    } else {
        xs[m]
    })
}

/// Prefix sums of values centred on their mean (accurate for large values).
struct Prefix {
    sums: Vec<f64>,
    offset: f64,
}

impl Prefix {
    fn new(xs: &[f64]) -> Self {
        let offset = xs.iter().sum::<f64>() / xs.len().max(1) as f64;
        let mut sums = Vec::with_capacity(xs.len() + 1);
        sums.push(0.0);
        for x in xs {
            sums.push(sums[sums.len() - 1] + (x - offset));
        }
        Self { sums, offset }
    }

    fn len(&self) -> usize {
        self.sums.len() - 1
    }

    fn mean(&self, a: usize, b: usize) -> f64 {
        (self.sums[b] - self.sums[a]) / (b - a).max(1) as f64 + self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_found_where_it_is() {
        let mut v = vec![10.0; 30];
        v.extend(vec![50.0; 20]);
        let cps = change_points(&v, 3, 3);
        assert_eq!(cps.len(), 1, "{cps:?}");
        assert_eq!(cps[0].index, 30);
        assert_eq!((cps[0].before, cps[0].after), (10.0, 50.0));
    }

    #[test]
    fn a_flat_series_has_none_and_gaps_are_skipped() {
        assert!(change_points(&[7.0; 40], 3, 3).is_empty());
        let mut v = vec![1.0, f64::NAN, 1.0, 1.0, 1.0, 1.0];
        v.extend([9.0, 9.0, f64::NAN, 9.0, 9.0]);
        let cps = change_points(&v, 3, 2);
        assert_eq!(cps.iter().map(|c| c.index).collect::<Vec<_>>(), vec![6]);
    }

    #[test]
    fn noise_alone_does_not_split() {
        // A deterministic zig-zag of amplitude 1 around 100.
        let v: Vec<f64> = (0..200)
            .map(|i| 100.0 + if i % 3 == 0 { 1.0 } else { -0.5 })
            .collect();
        assert!(change_points(&v, 5, 3).is_empty());
    }
}
