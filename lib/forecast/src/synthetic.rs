//! Seeded synthetic metric series with known daily and weekly cycles, a linear
//! trend, Gaussian noise and an optional level shift. The accuracy evaluation,
//! the benchmark and the simulated CloudWatch all need series whose truth is
//! known, and identical across runs and machines.

use std::f64::consts::TAU;

use chrono::{DateTime, TimeZone, Utc};

use crate::season::{DAY_SECONDS, WEEK_SECONDS};
use crate::series::Series;

/// A sudden, lasting change of level, as after a deploy or a traffic shift.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelShift {
    /// Index of the first shifted point.
    pub at: usize,
    /// Added to every point from `at` on.
    pub size: f64,
}

/// How to generate a series. Values are
/// `base + trend + daily + weekly + shift + noise`, all additive.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// Timestamp of the first point.
    pub start: DateTime<Utc>,
    /// Seconds between points.
    pub step_seconds: u64,
    /// Number of points.
    pub points: usize,
    /// Level at the first point.
    pub base: f64,
    /// Change of level per day.
    pub trend_per_day: f64,
    /// Amplitude of the daily cycle (trough early morning, peak mid-afternoon).
    pub daily_amplitude: f64,
    /// Amplitude of the weekly cycle (busiest mid-week, quietest at weekends).
    pub weekly_amplitude: f64,
    /// Standard deviation of the Gaussian noise.
    pub noise_sd: f64,
    /// Optional level shift.
    pub level_shift: Option<LevelShift>,
    /// Seed of the noise.
    pub seed: u64,
}

/// A generated series and its noise-free truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// What a metric store would return: truth plus noise.
    pub series: Series,
    /// The noise-free values, point for point.
    pub truth: Vec<f64>,
}

impl Spec {
    /// Request-rate-like traffic at 5-minute steps from Monday 2026-01-05
    /// 00:00 UTC: about 1000 requests per second, ±400 daily, ±150 weekly,
    /// +10 per day, no noise or shift (set them per scenario).
    pub fn traffic(points: usize, seed: u64) -> Self {
        Self {
            start: Utc
                .with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
                .single()
                .unwrap_or(DateTime::UNIX_EPOCH),
            step_seconds: 300,
            points,
            base: 1000.0,
            trend_per_day: 10.0,
            daily_amplitude: 400.0,
            weekly_amplitude: 150.0,
            noise_sd: 0.0,
            level_shift: None,
            seed,
        }
    }

    /// The noise-free value at point `index` (also past `points`, for truth
    /// beyond the generated range).
    pub fn truth(&self, index: usize) -> f64 {
        let seconds = index as f64 * self.step_seconds as f64;
        let day = DAY_SECONDS as f64;
        let week = WEEK_SECONDS as f64;
        // Trough near 06:20, peak near 15:30: the second harmonic makes the
        // morning rise steeper than the evening fall, as daytime traffic does.
        let d = (seconds % day) / day;
        let daily = -(TAU * (d - 4.0 / 24.0)).cos() * 0.85 + (2.0 * TAU * d).sin() * 0.25;
        // The start is a Monday, so w = 0 is Monday 00:00; peak on Wednesday.
        let w = (seconds % week) / week;
        let weekly = (TAU * (w - 2.5 / 7.0)).cos();
        let shift = match self.level_shift {
            Some(LevelShift { at, size }) if index >= at => size,
            Some(_) | None => 0.0,
        };
        self.base
            + self.trend_per_day * seconds / day
            + self.daily_amplitude * daily
            + self.weekly_amplitude * weekly
            + shift
    }

    /// Generates the series; the same spec always gives the same values.
    pub fn generate(&self) -> Generated {
        let mut rng = Rng::new(self.seed);
        let truth: Vec<f64> = (0..self.points).map(|i| self.truth(i)).collect();
        let values = truth
            .iter()
            .map(|t| t + self.noise_sd * rng.standard_normal())
            .collect();
        Generated {
            series: Series::new(self.start, self.step_seconds, values),
            truth,
        }
    }
}

/// Points per day at the scenarios' 5-minute step.
pub const POINTS_PER_DAY: usize = 288;

/// First forecast origin of the scenarios: four weeks in, so history windows
/// of up to 28 days end there.
pub const FIRST_ORIGIN: usize = 28 * POINTS_PER_DAY;

/// Length of every scenario: four weeks of history, two days of origins and
/// six hours past the last origin.
pub const SCENARIO_POINTS: usize = FIRST_ORIGIN + 2 * POINTS_PER_DAY + 72;

/// The evaluation scenarios, by name: `clean` (no noise), `noisy` (noise of
/// 4 % of the base level) and `level shift` (2 % noise and a lasting +30 %
/// step six hours before the first origin).
pub fn scenarios() -> Vec<(&'static str, Spec)> {
    let base = Spec::traffic(SCENARIO_POINTS, 20_260_105);
    vec![
        ("clean", base.clone()),
        (
            "noisy",
            Spec {
                noise_sd: 40.0,
                seed: 1,
                ..base.clone()
            },
        ),
        (
            "level shift",
            Spec {
                noise_sd: 20.0,
                seed: 2,
                level_shift: Some(LevelShift {
                    at: FIRST_ORIGIN - 72,
                    size: 300.0,
                }),
                ..base
            },
        ),
    ]
}

/// SplitMix64: tiny, seedable and identical on every platform, which is all
/// test data needs (not for anything secret).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `(0, 1]`, never zero so its logarithm is finite.
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box–Muller).
    pub fn standard_normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_series() {
        let spec = Spec {
            noise_sd: 5.0,
            ..Spec::traffic(100, 7)
        };
        assert_eq!(spec.generate(), spec.generate());
        let other = Spec {
            seed: 8,
            ..spec.clone()
        };
        assert_ne!(spec.generate().series, other.generate().series);
    }

    #[test]
    fn noise_has_the_asked_spread() {
        let mut rng = Rng::new(1);
        let draws: Vec<f64> = (0..20_000).map(|_| rng.standard_normal()).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / draws.len() as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var.sqrt() - 1.0).abs() < 0.03, "sd {}", var.sqrt());
    }

    #[test]
    fn the_daily_cycle_peaks_in_the_afternoon() {
        let spec = Spec {
            weekly_amplitude: 0.0,
            trend_per_day: 0.0,
            ..Spec::traffic(288, 0)
        };
        let day = spec.generate().truth;
        let peak = (0..288)
            .max_by(|&a, &b| day[a].total_cmp(&day[b]))
            .unwrap_or(0);
        let trough = (0..288)
            .min_by(|&a, &b| day[a].total_cmp(&day[b]))
            .unwrap_or(0);
        let hour = |i: usize| i as f64 / 12.0;
        assert!((13.0..17.0).contains(&hour(peak)), "peak at {}", hour(peak));
        assert!(
            (5.0..7.5).contains(&hour(trough)),
            "trough at {}",
            hour(trough)
        );
    }
}
