//! Slack message timestamps (`"1712345678.000100"`): seconds and microseconds, unique per
//! workspace and ordered, which is what clients rely on to page and to address messages.

use chrono::{DateTime, Utc};

/// A message timestamp in microseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub u64);

impl Ts {
    /// The timestamp of an instant (clamped to the epoch).
    pub fn from_time(t: DateTime<Utc>) -> Ts {
        Ts(u64::try_from(t.timestamp_micros()).unwrap_or(0))
    }

    /// Parses `SECONDS` or `SECONDS.FRACTION` (up to six fractional digits).
    pub fn parse(text: &str) -> Option<Ts> {
        let text = text.trim();
        let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
        if secs.is_empty()
            || frac.len() > 6
            || !secs.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let secs: u64 = secs.parse().ok()?;
        let micros: u64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<6}").parse().ok()?
        };
        secs.checked_mul(1_000_000)?.checked_add(micros).map(Ts)
    }
}

impl std::fmt::Display for Ts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:06}", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

/// Hands out timestamps that never repeat and never go backwards.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    last: u64,
}

impl Clock {
    /// A fresh timestamp at `now`, or just after the last one handed out.
    pub fn next(&mut self, now: DateTime<Utc>) -> Ts {
        self.claim(Ts::from_time(now))
    }

    /// `wanted` if it is later than anything handed out, else the first free one after it
    /// (seeded messages written with the same time keep their file order).
    pub fn claim(&mut self, wanted: Ts) -> Ts {
        let ts = wanted.0.max(self.last.saturating_add(1));
        self.last = ts;
        Ts(ts)
    }

    /// Records a timestamp taken elsewhere, so later ones come after it.
    pub fn observe(&mut self, ts: Ts) {
        self.last = self.last.max(ts.0);
    }
}

/// Parses a scenario time: `now`, a signed offset such as `-10m`, `-2h30m`, `+5s`, `-1d`, or an
/// RFC 3339 instant.
pub fn parse_when(text: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text == "now" {
        return Some(now);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'-') => (-1i64, &text[1..]),
        Some(b'+') => (1i64, &text[1..]),
        _ => return None,
    };
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in rest.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        let n: i64 = digits.parse().ok()?;
        digits.clear();
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    if rest.is_empty() || !digits.is_empty() || total > 100 * 365 * 86_400 {
        return None;
    }
    now.checked_add_signed(chrono::Duration::seconds(sign * total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let ts = Ts(1_712_345_678_000_100);
        assert_eq!(ts.to_string(), "1712345678.000100");
        assert_eq!(Ts::parse("1712345678.000100"), Some(ts));
        assert_eq!(Ts::parse("1712345678.0001"), Some(ts));
        assert_eq!(Ts::parse("1712345678"), Some(Ts(1_712_345_678_000_000)));
        for bad in [
            "",
            ".5",
            "12.3456789",
            "abc",
            "1.2.3",
            "-1.0",
            "99999999999999999999",
        ] {
            assert_eq!(Ts::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn clock_is_unique_and_ordered() {
        let now = Utc::now();
        let mut clock = Clock::default();
        let a = clock.next(now);
        let b = clock.next(now);
        let c = clock.claim(Ts(1));
        assert!(a < b && b < c, "{a} {b} {c}");
    }

    #[test]
    fn relative_times() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .ok();
        let Some(now) = now else { return };
        let at = |s: &str| parse_when(s, now).map(|t| t.to_rfc3339());
        assert_eq!(at("-10m").as_deref(), Some("2026-01-01T11:50:00+00:00"));
        assert_eq!(at("-1h30m").as_deref(), Some("2026-01-01T10:30:00+00:00"));
        assert_eq!(at("+5s").as_deref(), Some("2026-01-01T12:00:05+00:00"));
        assert_eq!(at("now").as_deref(), Some("2026-01-01T12:00:00+00:00"));
        assert_eq!(
            at("2025-12-31T00:00:00Z").as_deref(),
            Some("2025-12-31T00:00:00+00:00")
        );
        for bad in ["-5x", "-", "10m", "-5", ""] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }
}
