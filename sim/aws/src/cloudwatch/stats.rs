//! Statistics over the native points of a period: Average, Sum, Minimum, Maximum,
//! SampleCount and percentiles (`p95`, `p99.9`).

/// A statistic CloudWatch computes per period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    Average,
    Sum,
    Minimum,
    Maximum,
    SampleCount,
    /// `pNN`: the NN-th percentile, 0–100.
    Percentile(f64),
}

impl Stat {
    /// Parses `Average`, `Sum`, `Minimum`, `Maximum`, `SampleCount` or `pNN(.N)`.
    pub fn parse(s: &str) -> Option<Stat> {
        match s {
            "Average" => Some(Stat::Average),
            "Sum" => Some(Stat::Sum),
            "Minimum" => Some(Stat::Minimum),
            "Maximum" => Some(Stat::Maximum),
            "SampleCount" => Some(Stat::SampleCount),
            _ => {
                let p: f64 = s.strip_prefix(['p', 'P'])?.parse().ok()?;
                (p.is_finite() && (0.0..=100.0).contains(&p)).then_some(Stat::Percentile(p))
            }
        }
    }

    /// The statistic of `values` (non-empty for a value).
    pub fn compute(self, values: &[f64]) -> Option<f64> {
        if values.is_empty() {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        let n = values.len() as f64;
        Some(match self {
            Stat::Average => values.iter().sum::<f64>() / n,
            Stat::Sum => values.iter().sum(),
            Stat::Minimum => values.iter().copied().fold(f64::INFINITY, f64::min),
            Stat::Maximum => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Stat::SampleCount => n,
            Stat::Percentile(p) => percentile(values, p),
        })
    }
}

/// Linear interpolation between the closest ranks.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    #[allow(clippy::cast_precision_loss)]
    let rank = (p / 100.0) * (sorted.len().saturating_sub(1)) as f64;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let lo = rank.floor() as usize;
    let hi = (lo + 1).min(sorted.len().saturating_sub(1));
    let (a, b) = (
        sorted.get(lo).copied().unwrap_or(0.0),
        sorted.get(hi).copied().unwrap_or(0.0),
    );
    a + (b - a) * (rank - rank.floor())
}

/// Groups `points` (oldest first) into periods aligned to the epoch and applies `stat`.
/// Returns `(period start, value)`, oldest first.
pub fn aggregate(points: &[(i64, f64)], period: i64, stat: Stat) -> Vec<(i64, f64)> {
    let period = period.max(1);
    let mut out = Vec::new();
    let mut bucket: Option<i64> = None;
    let mut values: Vec<f64> = Vec::new();
    for (t, v) in points {
        let b = t.div_euclid(period) * period;
        if bucket != Some(b) {
            if let (Some(prev), Some(x)) = (bucket, stat.compute(&values)) {
                out.push((prev, x));
            }
            bucket = Some(b);
            values.clear();
        }
        values.push(*v);
    }
    if let (Some(prev), Some(x)) = (bucket, stat.compute(&values)) {
        out.push((prev, x));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(
            Stat::parse("Average").and_then(|s| s.compute(&v)),
            Some(2.5)
        );
        assert_eq!(Stat::parse("Sum").and_then(|s| s.compute(&v)), Some(10.0));
        assert_eq!(
            Stat::parse("SampleCount").and_then(|s| s.compute(&v)),
            Some(4.0)
        );
        assert_eq!(Stat::parse("p50").and_then(|s| s.compute(&v)), Some(2.5));
        assert_eq!(Stat::parse("p100").and_then(|s| s.compute(&v)), Some(4.0));
        assert_eq!(Stat::parse("p101"), None);
        assert_eq!(Stat::parse("TM99"), None);
        assert_eq!(Stat::Maximum.compute(&[]), None);
    }

    #[test]
    fn aggregates_into_aligned_periods() {
        let points: Vec<(i64, f64)> = (0..10).map(|i| (600 + i * 60, i as f64)).collect();
        let out = aggregate(&points, 300, Stat::Maximum);
        assert_eq!(out, vec![(600, 4.0), (900, 9.0)]);
    }
}
