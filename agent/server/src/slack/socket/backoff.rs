//! Exponential back-off with jitter between reconnection attempts: the n-th wait is drawn
//! from [d/2, d] with d = base·2ⁿ capped, so many bots cut off at once do not come back at
//! the same instant. Reset once a socket says hello.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// The waits before successive reconnection attempts.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            attempt: 0,
        }
    }

    /// The next wait; each call doubles the ceiling up to the cap.
    pub fn next_wait(&mut self) -> Duration {
        let wait = wait(self.base, self.cap, self.attempt, jitter());
        self.attempt = self.attempt.saturating_add(1);
        wait
    }

    /// Back to the shortest wait (a socket is up).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// The wait of attempt `n` for a jitter draw `j` in [0, 1].
fn wait(base: Duration, cap: Duration, n: u32, j: f64) -> Duration {
    let ceiling = base.saturating_mul(1u32 << n.min(20)).min(cap);
    ceiling / 2 + (ceiling / 2).mul_f64(j.clamp(0.0, 1.0))
}

/// A draw in [0, 1]: std's randomly keyed hasher over the clock, no RNG dependency.
fn jitter() -> f64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_within_jitter_up_to_the_cap() {
        let (base, cap) = (Duration::from_secs(1), Duration::from_secs(30));
        assert_eq!(wait(base, cap, 0, 0.0), Duration::from_millis(500));
        assert_eq!(wait(base, cap, 0, 1.0), Duration::from_secs(1));
        assert_eq!(wait(base, cap, 3, 1.0), Duration::from_secs(8));
        assert_eq!(wait(base, cap, 3, 0.0), Duration::from_secs(4));
        assert_eq!(wait(base, cap, 10, 1.0), cap);
        assert_eq!(wait(base, cap, 99, 0.0), cap / 2);
        let mut b = Backoff::new(base, cap);
        let waits: Vec<Duration> = (0..8).map(|_| b.next_wait()).collect();
        for (n, w) in waits.iter().enumerate() {
            let ceiling = wait(base, cap, n as u32, 1.0);
            assert!(*w >= ceiling / 2 && *w <= ceiling, "{n}: {w:?}");
        }
        b.reset();
        assert!(b.next_wait() <= base);
        let draws: Vec<f64> = (0..20).map(|_| jitter()).collect();
        assert!(draws.iter().all(|j| (0.0..=1.0).contains(j)));
        assert!(draws.windows(2).any(|w| w[0] != w[1]), "jitter varies");
    }
}
