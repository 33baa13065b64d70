//! The crate's seeded series ([`sopilot_correlate::synthetic`]) as timestamped points, with
//! dropped points and jittered timestamps.

use chrono::{DateTime, TimeDelta, Utc};
use sopilot_correlate::Series;
pub use sopilot_correlate::synthetic::{Rng, planted};

pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
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
