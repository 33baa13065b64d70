//! A metric series summarised for a reader: min, max, average, p95, last, trend, and the
//! points where it crossed a threshold. Pure functions over `(epoch seconds, value)`.

use serde::Serialize;

/// The summary of one series (points oldest first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub points: usize,
    pub min: f64,
    pub max: f64,
    pub average: f64,
    pub p95: f64,
    pub last: f64,
    /// RFC 3339 time of the last point.
    pub last_at: String,
    /// Least-squares slope, per hour.
    pub trend_per_hour: f64,
    /// `rising`, `falling` or `flat` (change over the window under 5 % of the average).
    pub trend: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<ThresholdReport>,
}

/// Where a series stood against a threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdReport {
    pub threshold: f64,
    pub points_at_or_above: usize,
    pub crossings: Vec<Crossing>,
}

/// A point where the series went from one side of the threshold to the other.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Crossing {
    pub at: String,
    /// `up` (now at or above) or `down`.
    pub direction: &'static str,
    pub value: f64,
}

pub fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).map_or_else(String::new, |d| {
        d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    })
}

/// Three significant decimals at most, for reading.
pub fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Summarises `points` (oldest first); `None` when empty.
pub fn summarise(points: &[(i64, f64)], threshold: Option<f64>) -> Option<Summary> {
    let (first, last) = (points.first()?, points.last()?);
    let values: Vec<f64> = points.iter().map(|p| p.1).collect();
    #[allow(clippy::cast_precision_loss)]
    let n = values.len() as f64;
    let average = values.iter().sum::<f64>() / n;
    let mut sorted = values.clone();
    sorted.sort_by(f64::total_cmp);
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let p95 = {
        let rank = 0.95 * (n - 1.0);
        let lo = rank.floor() as usize;
        let (a, b) = (
            sorted.get(lo).copied().unwrap_or(0.0),
            sorted
                .get(lo + 1)
                .copied()
                .unwrap_or(sorted.get(lo).copied().unwrap_or(0.0)),
        );
        a + (b - a) * (rank - rank.floor())
    };
    // Least squares on hours since the first point.
    #[allow(clippy::cast_precision_loss)]
    let xs: Vec<f64> = points
        .iter()
        .map(|p| (p.0 - first.0) as f64 / 3600.0)
        .collect();
    let mean_x = xs.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, y) in xs.iter().zip(&values) {
        sxy += (x - mean_x) * (y - average);
        sxx += (x - mean_x) * (x - mean_x);
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let span_hours = xs.last().copied().unwrap_or(0.0);
    let change = slope * span_hours;
    let trend = if change.abs() < 0.05 * average.abs().max(1e-9) {
        "flat"
    } else if change > 0.0 {
        "rising"
    } else {
        "falling"
    };
    let threshold = threshold.map(|t| {
        let mut crossings = Vec::new();
        for w in points.windows(2) {
            if let [a, b] = w {
                let (was, is) = (a.1 >= t, b.1 >= t);
                if was != is {
                    crossings.push(Crossing {
                        at: rfc3339(b.0),
                        direction: if is { "up" } else { "down" },
                        value: round(b.1),
                    });
                }
            }
        }
        ThresholdReport {
            threshold: t,
            points_at_or_above: values.iter().filter(|v| **v >= t).count(),
            crossings,
        }
    });
    Some(Summary {
        points: values.len(),
        min: round(sorted.first().copied().unwrap_or(0.0)),
        max: round(sorted.last().copied().unwrap_or(0.0)),
        average: round(average),
        p95: round(p95),
        last: round(last.1),
        last_at: rfc3339(last.0),
        trend_per_hour: round(slope),
        trend,
        threshold,
    })
}

/// One line for a reader: `min 84.1  max 94.1  avg 87.4  p95 90.2  last 87 (12:52Z)  rising +0.8/h`.
pub fn line(s: &Summary) -> String {
    let time = s.last_at.get(11..16).unwrap_or_default();
    let mut out = format!(
        "min {}  max {}  avg {}  p95 {}  last {} ({time}Z)  {} {:+}/h",
        s.min, s.max, s.average, s.p95, s.last, s.trend, s.trend_per_hour
    );
    if let Some(t) = &s.threshold {
        out.push_str(&format!(
            "\n  threshold {}: {}/{} points at or above",
            t.threshold, t.points_at_or_above, s.points
        ));
        match t.crossings.as_slice() {
            [] => {}
            cs => {
                let shown: Vec<String> = cs
                    .iter()
                    .rev()
                    .take(5)
                    .map(|c| {
                        format!(
                            "{} {} ({})",
                            c.direction,
                            c.at.get(11..16).unwrap_or_default(),
                            c.value
                        )
                    })
                    .collect();
                out.push_str(&format!(
                    "; crossed {} time(s), latest: {}",
                    cs.len(),
                    shown.join(", ")
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises_and_finds_crossings() {
        let points: Vec<(i64, f64)> = (0..60)
            .map(|i| (i * 60, if i < 30 { 50.0 } else { 90.0 }))
            .collect();
        let s = summarise(&points, Some(80.0)).unwrap_or_else(|| panic!("empty"));
        assert_eq!((s.min, s.max, s.average, s.last), (50.0, 90.0, 70.0, 90.0));
        assert_eq!(s.trend, "rising");
        let t = s
            .threshold
            .clone()
            .unwrap_or_else(|| panic!("no threshold"));
        assert_eq!(t.points_at_or_above, 30);
        assert_eq!(
            t.crossings,
            vec![Crossing {
                at: rfc3339(1800),
                direction: "up",
                value: 90.0
            }]
        );
        assert!(
            line(&s).contains("crossed 1 time(s), latest: up 00:30 (90)"),
            "{}",
            line(&s)
        );
        assert_eq!(summarise(&[], None), None);
        let flat: Vec<(i64, f64)> = (0..10).map(|i| (i * 60, 10.0)).collect();
        assert_eq!(summarise(&flat, None).map(|s| s.trend), Some("flat"));
    }
}
