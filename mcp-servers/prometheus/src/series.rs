//! Series shaped for a reader and a model: a label set written as PromQL, one summary line
//! per series (min, max, average, last, trend), then a bounded number of its points.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

/// One series of a range query (or of a range selector in an instant query).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// `name{label="value", ...}` as PromQL writes it.
    pub labels: String,
    /// `(epoch seconds, value)`, oldest first; NaN and ±Inf kept as Prometheus sent them.
    pub points: Vec<(f64, f64)>,
}

/// The summary of a series' finite points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub points: usize,
    pub min: f64,
    pub max: f64,
    pub average: f64,
    pub last: f64,
    /// RFC 3339 time of the last point.
    pub last_at: String,
    /// RFC 3339 time of the maximum (its first occurrence).
    pub max_at: String,
    /// Least-squares slope, per hour.
    pub trend_per_hour: f64,
    /// `rising`, `falling` or `flat` (change over the window under 5 % of the range of
    /// values, or of the average when the series is constant).
    pub trend: &'static str,
}

/// `name{a="b", c="d"}` from a Prometheus `metric` object (`{}` for none).
pub fn labels_text(metric: &Value) -> String {
    let Some(map) = metric.as_object() else {
        return "{}".into();
    };
    let name = map.get("__name__").and_then(Value::as_str).unwrap_or("");
    let pairs: Vec<String> = map
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={}", Value::String(v.as_str().unwrap_or("").to_owned())))
        .collect();
    if pairs.is_empty() && !name.is_empty() {
        return name.to_owned();
    }
    format!("{name}{{{}}}", pairs.join(", "))
}

/// A sample `[t, "v"]` as Prometheus sends it.
pub fn sample(v: &Value) -> Option<(f64, f64)> {
    let t = v.get(0)?.as_f64()?;
    let value = v.get(1)?.as_str()?.parse::<f64>().ok()?;
    Some((t, value))
}

/// The series of a matrix result.
pub fn matrix(result: &Value) -> Vec<Series> {
    result
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| Series {
                    labels: labels_text(&s["metric"]),
                    points: s["values"]
                        .as_array()
                        .map(|v| v.iter().filter_map(sample).collect())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// RFC 3339 to the second.
pub fn rfc3339(t: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let secs = t.floor() as i64;
    chrono::DateTime::from_timestamp(secs, 0).map_or_else(String::new, |d| {
        d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    })
}

/// Four significant decimals at most, for reading.
pub fn round(v: f64) -> f64 {
    if !v.is_finite() || v.abs() >= 1e15 {
        return v;
    }
    let scale = if v.abs() >= 100.0 { 1000.0 } else { 10_000.0 };
    (v * scale).round() / scale
}

/// A number for text: NaN and infinities as PromQL writes them.
pub fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{}", round(v))
    }
}

/// Summarises the finite points; `None` when there are none.
pub fn summarise(points: &[(f64, f64)]) -> Option<Summary> {
    let finite: Vec<(f64, f64)> = points.iter().copied().filter(|p| p.1.is_finite()).collect();
    let (first, last) = (finite.first()?, finite.last()?);
    #[allow(clippy::cast_precision_loss)]
    let n = finite.len() as f64;
    let average = finite.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut min, mut max) = (first.1, first.1);
    let mut max_at = first.0;
    for (t, v) in &finite {
        min = min.min(*v);
        if *v > max {
            max = *v;
            max_at = *t;
        }
    }
    let hours: Vec<f64> = finite.iter().map(|p| (p.0 - first.0) / 3600.0).collect();
    let mean_x = hours.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, (_, y)) in hours.iter().zip(&finite) {
        sxy += (x - mean_x) * (y - average);
        sxx += (x - mean_x) * (x - mean_x);
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let change = slope * hours.last().copied().unwrap_or(0.0);
    let scale = (max - min).max(average.abs() * 0.01).max(1e-12);
    let trend = if change.abs() < 0.05 * scale {
        "flat"
    } else if change > 0.0 {
        "rising"
    } else {
        "falling"
    };
    Some(Summary {
        points: finite.len(),
        min: round(min),
        max: round(max),
        average: round(average),
        last: round(last.1),
        last_at: rfc3339(last.0),
        max_at: rfc3339(max_at),
        trend_per_hour: round(slope),
        trend,
    })
}

/// `min 1  max 9 (12:40Z)  avg 4.2  last 8 (12:52Z)  rising +3.1/h`, or `no numeric points`.
pub fn line(s: Option<&Summary>) -> String {
    let Some(s) = s else {
        return "no numeric points (all NaN or Inf)".into();
    };
    let hm = |t: &str| t.get(11..16).unwrap_or_default().to_owned();
    format!(
        "min {}  max {} ({}Z)  avg {}  last {} ({}Z)  {} {:+}/h",
        num(s.min),
        num(s.max),
        hm(&s.max_at),
        num(s.average),
        num(s.last),
        hm(&s.last_at),
        s.trend,
        s.trend_per_hour
    )
}

/// At most `k` points evenly spread over the series, first and last always included.
pub fn spread(points: &[(f64, f64)], k: usize) -> Vec<(f64, f64)> {
    if points.len() <= k || k < 2 {
        return points
            .iter()
            .take(k.max(points.len().min(1)))
            .copied()
            .collect();
    }
    let last = points.len() - 1;
    (0..k).map(|i| points[i * last / (k - 1)]).collect()
}

/// Points as `HH:MM v` (with the day when the window is longer than a day), space-separated.
pub fn points_text(points: &[(f64, f64)], with_day: bool) -> String {
    let mut out = String::new();
    for (t, v) in points {
        let stamp = rfc3339(*t);
        let when = if with_day {
            format!(
                "{} {}",
                stamp.get(5..10).unwrap_or_default(),
                stamp.get(11..16).unwrap_or_default()
            )
        } else {
            stamp.get(11..16).unwrap_or_default().to_owned()
        };
        if !out.is_empty() {
            out.push_str("  ");
        }
        let _ = write!(out, "{when} {}", num(*v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_read_as_promql() {
        assert_eq!(
            labels_text(&json!({"__name__": "up", "job": "api", "instance": "a:9"})),
            "up{job=\"api\", instance=\"a:9\"}"
        );
        assert_eq!(labels_text(&json!({"__name__": "up"})), "up");
        assert_eq!(labels_text(&json!({"pod": "p"})), "{pod=\"p\"}");
        assert_eq!(labels_text(&json!({})), "{}");
    }

    #[test]
    fn summaries_find_max_last_and_trend() {
        let pts: Vec<(f64, f64)> = (0..60)
            .map(|i| (f64::from(i) * 60.0, if i < 30 { 1.0 } else { 9.0 }))
            .collect();
        let s = summarise(&pts).unwrap_or_else(|| panic!("empty"));
        assert_eq!((s.min, s.max, s.average, s.last), (1.0, 9.0, 5.0, 9.0));
        assert_eq!(s.trend, "rising");
        assert_eq!(s.max_at, "1970-01-01T00:30:00Z");
        assert_eq!(
            line(Some(&s)),
            "min 1  max 9 (00:30Z)  avg 5  last 9 (00:59Z)  rising +12.0033/h"
        );
        let flat: Vec<(f64, f64)> = (0..10).map(|i| (f64::from(i) * 60.0, 3.0)).collect();
        assert_eq!(summarise(&flat).map(|s| s.trend), Some("flat"));
        let noisy_flat: Vec<(f64, f64)> = (0..100)
            .map(|i| (f64::from(i) * 60.0, if i % 2 == 0 { 3.0 } else { 4.0 }))
            .collect();
        assert_eq!(summarise(&noisy_flat).map(|s| s.trend), Some("flat"));
        assert_eq!(summarise(&[(0.0, f64::NAN)]), None);
        assert_eq!(line(None), "no numeric points (all NaN or Inf)");
    }

    #[test]
    fn spreads_keep_the_ends_and_the_bound() {
        let pts: Vec<(f64, f64)> = (0..100).map(|i| (f64::from(i), f64::from(i))).collect();
        let s = spread(&pts, 5);
        assert_eq!(s.len(), 5);
        assert_eq!(s.first(), pts.first());
        assert_eq!(s.last(), pts.last());
        assert_eq!(spread(&pts[..3], 5).len(), 3);
        assert_eq!(
            points_text(&[(0.0, 1.5), (60.0, f64::INFINITY)], false),
            "00:00 1.5  00:01 +Inf"
        );
    }
}
