//! Seeded synthetic series with a known lead, for the property tests and the
//! benchmark against scipy (`bench/correlate`): a smooth AR(1) driver that the
//! candidate follows and the symptom follows `lead` steps later, plus noise.

use serde::Serialize;

/// A small deterministic generator (SplitMix64), so a case replays from its
/// seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
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

    /// Uniform in `[0, 1)`.
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

/// A symptom and a candidate that leads it by a known number of steps.
#[derive(Debug, Clone, Serialize)]
pub struct Planted {
    /// `5 + gain * driver[t] + noise`.
    pub symptom: Vec<f64>,
    /// `100 + 10 * driver[t + lead]`: what the symptom shows `lead` steps later.
    pub candidate: Vec<f64>,
}

/// `n` points of each; the candidate moves `lead` steps first (the best lag
/// is `-lead`). `phi` is the driver's AR(1) coefficient (its smoothness),
/// `noise` the symptom's noise as a share of the driver's standard deviation,
/// `gain` the symptom's scale (negative: it moves the other way).
pub fn planted(seed: u64, n: usize, lead: usize, phi: f64, noise: f64, gain: f64) -> Planted {
    let mut rng = Rng::new(seed);
    let mut x = 0.0;
    let mut driver = Vec::with_capacity(n + lead + 50);
    for _ in 0..n + lead + 50 {
        x = phi * x + rng.normal();
        driver.push(x);
    }
    let driver = &driver[50..];
    let sd = (1.0 / (1.0 - phi * phi)).sqrt();
    let candidate = driver[lead..].iter().map(|d| 100.0 + 10.0 * d).collect();
    let symptom = (0..n)
        .map(|t| 5.0 + gain * driver[t] + noise * sd * gain.abs() * rng.normal())
        .collect();
    Planted { symptom, candidate }
}

/// One case of the benchmark against scipy.
#[derive(Debug, Clone, Serialize)]
pub struct BenchCase {
    /// `n{points}-s{seed}`.
    pub name: String,
    /// The lead planted, in steps.
    pub lead: usize,
    /// The lag bound, in steps.
    pub max_lag: usize,
    /// The series.
    #[serde(flatten)]
    pub series: Planted,
}

/// The benchmark's cases: for each length in `sizes`, `seeds` cases with a
/// lead of 0 to 10 steps, a lag bound of 15 steps, moderate smoothness and
/// noise.
pub fn bench_cases(sizes: &[usize], seeds: u64) -> Vec<BenchCase> {
    let mut out = Vec::new();
    for &n in sizes {
        for seed in 1..=seeds {
            let mut rng = Rng::new(seed.wrapping_mul(7919) ^ n as u64);
            let lead = (rng.next_u64() % 11) as usize;
            let phi = 0.6 + 0.3 * rng.uniform();
            let noise = 0.5 * rng.uniform();
            out.push(BenchCase {
                name: format!("n{n}-s{seed}"),
                lead,
                max_lag: 15,
                series: planted(seed, n, lead, phi, noise, 2.0),
            });
        }
    }
    out
}
