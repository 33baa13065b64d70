//! Seeded synthetic series: a smooth AR(1) driver the candidate follows and the symptom
//! follows `lead` steps later, plus noise, dropped points and jittered timestamps.

use chrono::{DateTime, TimeDelta, Utc};
use sopilot_correlate::Series;

/// A small deterministic generator (SplitMix64), so a failing case replays from its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-12);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
}

/// A planted relation: `candidate[t] = driver[t]`, `symptom[t] = gain * driver[t - lead] +
/// noise`, i.e. the candidate moves `lead` steps first.
#[derive(Debug, Clone)]
pub struct Planted {
    pub symptom: Vec<f64>,
    pub candidate: Vec<f64>,
}

/// `n` points; AR(1) coefficient `phi`; noise sd as a share of the driver's sd.
pub fn planted(seed: u64, n: usize, lead: usize, phi: f64, noise: f64, gain: f64) -> Planted {
    let mut rng = Rng::new(seed);
    let mut driver = Vec::with_capacity(n + lead);
    let mut x = 0.0;
    for _ in 0..n + lead + 50 {
        x = phi * x + rng.normal();
        driver.push(x);
    }
    let driver = &driver[50..];
    let sd = (1.0 / (1.0 - phi * phi)).sqrt();
    let candidate: Vec<f64> = driver[lead..].iter().map(|d| 100.0 + 10.0 * d).collect();
    let symptom: Vec<f64> = (0..n)
        .map(|t| 5.0 + gain * driver[t] + noise * sd * gain.abs() * rng.normal())
        .collect();
    Planted { symptom, candidate }
}

/// Values as timestamped points `step` apart from [`t0`], a share `drop` of them left out and,
/// with `jitter`, each timestamp moved by up to a fifth of a step either way (two jittered
/// points never meet in the wrong slot).
pub fn irregular(values: &[f64], step: i64, drop: f64, jitter: bool, rng: &mut Rng) -> Series {
    let mut points = Vec::with_capacity(values.len());
    for (i, &v) in values.iter().enumerate() {
        if rng.uniform() < drop {
            continue;
        }
        let shift = if jitter {
            (rng.uniform() - 0.5) * 0.4
        } else {
            0.0
        };
        let jitter = TimeDelta::milliseconds((shift * step as f64 * 1000.0) as i64);
        points.push((t0() + TimeDelta::seconds(i as i64 * step) + jitter, v));
    }
    Series::new(points)
}
