//! Generated metric series: a baseline with daily and weekly seasonality, a linear trend,
//! seeded noise, steps and spikes at relative times, gaps, and explicit points that win.
//! Values are a pure function of the timestamp, so every query sees the same history.

use std::collections::BTreeMap;
use std::f64::consts::TAU;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::time::{Span, When};

/// How a series is described in a scenario.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesSpec {
    /// The level now, before seasonality, noise and events.
    #[serde(default)]
    pub baseline: f64,
    /// A daily cycle (UTC).
    pub daily: Option<Daily>,
    /// A weekly cycle (UTC).
    pub weekly: Option<Weekly>,
    /// Change per hour; the trend is zero at the simulator's start, so the past is
    /// `baseline - trend_per_hour * hours_ago`.
    #[serde(default)]
    pub trend_per_hour: f64,
    pub noise: Option<Noise>,
    /// Steps (no duration) and spikes (with a duration) added to the value from `at`.
    #[serde(default)]
    pub events: Vec<Event>,
    /// Periods with no data at all.
    #[serde(default)]
    pub gaps: Vec<Gap>,
    /// Exact values at given times; they replace the generated value.
    #[serde(default)]
    pub points: Vec<Point>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Round every value to a whole number (counts).
    #[serde(default)]
    pub integer: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Daily {
    pub amplitude: f64,
    /// Time of day of the peak, `HH:MM` UTC (default `14:00`), or relative to the start
    /// (`+45m`: the cycle peaks 45 minutes after the simulator starts, and every day then).
    #[serde(default = "default_daily_peak")]
    pub peak: String,
}

fn default_daily_peak() -> String {
    "14:00".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weekly {
    pub amplitude: f64,
    /// Day of the peak (`mon` ... `sun`), at noon UTC (default `wed`).
    #[serde(default = "default_weekly_peak")]
    pub peak: String,
}

fn default_weekly_peak() -> String {
    "wed".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Noise {
    /// Standard deviation of the Gaussian noise.
    pub stddev: f64,
    /// Same seed, same noise; mixed with the metric's identity so copies differ.
    #[serde(default)]
    pub seed: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub at: When,
    /// Added to the value from `at` on.
    pub add: f64,
    /// For a spike: how long it lasts. Without it the event is a step that stays.
    pub duration: Option<Span>,
    /// Reach `add` linearly over this long instead of at once.
    pub ramp: Option<Span>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gap {
    pub from: When,
    pub to: When,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    pub at: When,
    pub value: f64,
}

/// A series resolved against the simulator's start: times are epoch seconds.
#[derive(Debug, Clone)]
pub struct Series {
    start: i64,
    baseline: f64,
    daily: Option<(f64, i64)>,
    weekly: Option<(f64, i64)>,
    trend_per_sec: f64,
    noise: Option<(f64, u64)>,
    events: Vec<ResolvedEvent>,
    gaps: Vec<(i64, i64)>,
    points: BTreeMap<i64, f64>,
    min: Option<f64>,
    max: Option<f64>,
    integer: bool,
    /// Native resolution in seconds.
    pub period: i64,
}

#[derive(Debug, Clone)]
struct ResolvedEvent {
    at: i64,
    add: f64,
    until: Option<i64>,
    ramp: i64,
}

impl Series {
    /// Resolves `spec`; `identity` (the metric's namespace, name and dimensions) perturbs the
    /// noise seed. `Err` names the offending field.
    pub fn resolve(
        spec: &SeriesSpec,
        start: DateTime<Utc>,
        period: i64,
        identity: &str,
    ) -> Result<Series, (String, String)> {
        let at = |w: &When, field: String| {
            w.at(start)
                .map(|t| t.timestamp())
                .ok_or((field, "not a time".to_owned()))
        };
        let daily = match &spec.daily {
            Some(d) => Some((
                d.amplitude,
                daily_peak(&d.peak, start).ok_or((
                    "daily.peak".to_owned(),
                    format!(
                        "{:?} is not a time of day; use HH:MM (UTC) or a time relative to the start such as +45m",
                        d.peak
                    ),
                ))?,
            )),
            None => None,
        };
        let weekly = match &spec.weekly {
            Some(w) => Some((
                w.amplitude,
                parse_day(&w.peak).ok_or((
                    "weekly.peak".to_owned(),
                    format!(
                        "{:?} is not a day; use mon, tue, wed, thu, fri, sat or sun",
                        w.peak
                    ),
                ))?,
            )),
            None => None,
        };
        if let Some(n) = &spec.noise
            && !(n.stddev.is_finite() && n.stddev >= 0.0)
        {
            return Err(("noise.stddev".into(), "must be a number ≥ 0".into()));
        }
        let mut events = Vec::new();
        for (i, e) in spec.events.iter().enumerate() {
            let t = at(&e.at, format!("events[{i}].at"))?;
            events.push(ResolvedEvent {
                at: t,
                add: e.add,
                until: e.duration.map(|d| t.saturating_add(d.0.num_seconds())),
                ramp: e.ramp.map_or(0, |r| r.0.num_seconds()),
            });
        }
        let mut gaps = Vec::new();
        for (i, g) in spec.gaps.iter().enumerate() {
            gaps.push((
                at(&g.from, format!("gaps[{i}].from"))?,
                at(&g.to, format!("gaps[{i}].to"))?,
            ));
        }
        let mut points = BTreeMap::new();
        for (i, p) in spec.points.iter().enumerate() {
            let t = at(&p.at, format!("points[{i}].at"))?;
            points.insert(t.div_euclid(period) * period, p.value);
        }
        Ok(Series {
            start: start.timestamp(),
            baseline: spec.baseline,
            daily,
            weekly,
            trend_per_sec: spec.trend_per_hour / 3600.0,
            noise: spec
                .noise
                .as_ref()
                .map(|n| (n.stddev, n.seed ^ fnv1a(identity))),
            events,
            gaps,
            points,
            min: spec.min,
            max: spec.max,
            integer: spec.integer,
            period,
        })
    }

    /// The value at `t` (epoch seconds, on a native period boundary), or `None` in a gap.
    pub fn value_at(&self, t: i64) -> Option<f64> {
        if self.gaps.iter().any(|(from, to)| (*from..*to).contains(&t)) {
            return None;
        }
        let mut v = match self.points.get(&t) {
            Some(v) => *v,
            None => self.generated(t),
        };
        if self.integer {
            v = v.round();
        }
        if let Some(min) = self.min {
            v = v.max(min);
        }
        if let Some(max) = self.max {
            v = v.min(max);
        }
        v.is_finite().then_some(v)
    }

    fn generated(&self, t: i64) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let mut v = self.baseline + self.trend_per_sec * (t - self.start) as f64;
        if let Some((amplitude, peak)) = self.daily {
            v += amplitude * cycle(t.rem_euclid(86_400) - peak, 86_400);
        }
        if let Some((amplitude, peak)) = self.weekly {
            v += amplitude * cycle(seconds_into_week(t) - peak, 7 * 86_400);
        }
        for e in &self.events {
            if t < e.at || e.until.is_some_and(|u| t >= u) {
                continue;
            }
            let elapsed = t - e.at;
            #[allow(clippy::cast_precision_loss)]
            let share = if e.ramp > 0 && elapsed < e.ramp {
                elapsed as f64 / e.ramp as f64
            } else {
                1.0
            };
            v += e.add * share;
        }
        if let Some((stddev, seed)) = self.noise {
            v += stddev * gaussian(seed, t);
        }
        v
    }

    /// Native points in `[from, to)` (epoch seconds), oldest first.
    pub fn points_between(&self, from: i64, to: i64) -> Vec<(i64, f64)> {
        let p = self.period.max(1);
        let first = from.div_euclid(p) * p + if from.rem_euclid(p) == 0 { 0 } else { p };
        let mut out = Vec::new();
        let mut t = first;
        while t < to {
            if let Some(v) = self.value_at(t) {
                out.push((t, v));
            }
            t = t.saturating_add(p);
        }
        out
    }
}

#[allow(clippy::cast_precision_loss)]
fn cycle(offset: i64, length: i64) -> f64 {
    (TAU * offset as f64 / length as f64).cos()
}

/// Seconds since Monday 00:00 UTC (1970-01-01 was a Thursday).
fn seconds_into_week(t: i64) -> i64 {
    (t.div_euclid(86_400) + 3).rem_euclid(7) * 86_400 + t.rem_euclid(86_400)
}

/// Seconds into the UTC day of a daily peak: `HH:MM`, or a time relative to the start
/// (`+45m`, `-3h`, `now`), so a scenario can put the peak a fixed time from now.
fn daily_peak(s: &str, start: DateTime<Utc>) -> Option<i64> {
    let t = s.trim();
    if t == "now" || t.starts_with(['+', '-']) {
        return crate::time::parse_time(t, start).map(|at| at.timestamp().rem_euclid(86_400));
    }
    parse_hhmm(t)
}

fn parse_hhmm(s: &str) -> Option<i64> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 3600 + m * 60)
}

fn parse_day(s: &str) -> Option<i64> {
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let lower = s.to_ascii_lowercase();
    let i = days.iter().position(|d| lower.starts_with(d))?;
    i64::try_from(i).ok().map(|i| i * 86_400 + 43_200)
}

/// FNV-1a: a stable hash (unlike `DefaultHasher`, fixed across Rust versions).
pub fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A standard normal deviate determined by `(seed, t)` (Box–Muller).
fn gaussian(seed: u64, t: i64) -> f64 {
    let a = splitmix(seed ^ splitmix(t.cast_unsigned()));
    let b = splitmix(a);
    #[allow(clippy::cast_precision_loss)]
    let u1 = ((a >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    #[allow(clippy::cast_precision_loss)]
    let u2 = (b >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> DateTime<Utc> {
        DateTime::from_timestamp(1_772_000_040, 0).unwrap_or_default()
    }

    fn when(s: &str) -> When {
        serde_json::from_value(serde_json::json!(s)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn steps_spikes_points_and_gaps() {
        let spec = SeriesSpec {
            baseline: 50.0,
            events: vec![
                Event {
                    at: when("-30m"),
                    add: 30.0,
                    duration: None,
                    ramp: None,
                },
                Event {
                    at: when("-10m"),
                    add: 10.0,
                    duration: Some(Span(chrono::Duration::minutes(2))),
                    ramp: None,
                },
            ],
            points: vec![Point {
                at: when("-5m"),
                value: 94.1,
            }],
            gaps: vec![Gap {
                from: when("-3m"),
                to: when("-2m"),
            }],
            max: Some(100.0),
            ..SeriesSpec::default()
        };
        let s = Series::resolve(&spec, start(), 60, "x").unwrap_or_else(|e| panic!("{e:?}"));
        let t0 = start().timestamp();
        assert_eq!(s.value_at(t0 - 3600), Some(50.0));
        assert_eq!(s.value_at(t0 - 1200), Some(80.0));
        assert_eq!(s.value_at(t0 - 540), Some(90.0));
        assert_eq!(s.value_at(t0 - 300), Some(94.1));
        assert_eq!(s.value_at(t0 - 180), None);
        assert_eq!(s.points_between(t0 - 600, t0).len(), 9);
    }

    #[test]
    fn noise_is_deterministic_and_roughly_normal() {
        let spec = SeriesSpec {
            baseline: 10.0,
            noise: Some(Noise {
                stddev: 2.0,
                seed: 7,
            }),
            ..SeriesSpec::default()
        };
        let a = Series::resolve(&spec, start(), 60, "a").unwrap_or_else(|e| panic!("{e:?}"));
        let b = Series::resolve(&spec, start(), 60, "b").unwrap_or_else(|e| panic!("{e:?}"));
        let t0 = start().timestamp();
        let xs: Vec<f64> = a
            .points_between(t0 - 86_400 * 7, t0)
            .iter()
            .map(|p| p.1)
            .collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64).sqrt();
        assert!(
            (mean - 10.0).abs() < 0.1 && (sd - 2.0).abs() < 0.1,
            "{mean} {sd}"
        );
        assert_eq!(a.value_at(t0 - 60), a.value_at(t0 - 60));
        assert_ne!(a.value_at(t0 - 60), b.value_at(t0 - 60));
    }

    #[test]
    fn seasonality_peaks_when_asked() {
        let spec = SeriesSpec {
            daily: Some(Daily {
                amplitude: 10.0,
                peak: "14:00".into(),
            }),
            ..SeriesSpec::default()
        };
        let s = Series::resolve(&spec, start(), 60, "d").unwrap_or_else(|e| panic!("{e:?}"));
        let day = start().timestamp().div_euclid(86_400) * 86_400;
        assert_eq!(s.value_at(day + 14 * 3600).map(|v| v.round()), Some(10.0));
        assert_eq!(s.value_at(day + 2 * 3600).map(|v| v.round()), Some(-10.0));
        assert_eq!(seconds_into_week(0), 3 * 86_400);
        let relative = SeriesSpec {
            daily: Some(Daily {
                amplitude: 10.0,
                peak: "+45m".into(),
            }),
            ..SeriesSpec::default()
        };
        let s = Series::resolve(&relative, start(), 60, "r").unwrap_or_else(|e| panic!("{e:?}"));
        let peak = start().timestamp() + 45 * 60;
        assert_eq!(s.value_at(peak).map(|v| v.round()), Some(10.0));
        assert_eq!(s.value_at(peak - 86_400).map(|v| v.round()), Some(10.0));
        assert_eq!(s.value_at(peak - 43_200).map(|v| v.round()), Some(-10.0));
        assert!(daily_peak("+2x", start()).is_none());
        assert_eq!(parse_day("Sat"), Some(5 * 86_400 + 43_200));
    }
}
