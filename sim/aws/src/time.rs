//! Scenario times: relative to when the simulator starts (`-30m`, `now`, `-2h30m`, `+5m`) or
//! absolute RFC 3339, and durations (`5m`, `7d`, `90s`).

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

/// Parses a duration: one or more `<number><unit>` parts, units `s`, `m`, `h`, `d`, `w`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return None,
        };
        let n: i64 = digits.parse().ok()?;
        digits.clear();
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    // Bounded so every later addition to a timestamp stays far from overflow.
    if !digits.is_empty() || total > 20 * 365 * 86_400 {
        return None;
    }
    Some(Duration::seconds(total))
}

/// Parses `now`, `-<duration>`, `+<duration>` or an RFC 3339 timestamp, relative to `now`.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text == "now" {
        return Some(now);
    }
    if let Some(rest) = text.strip_prefix('-') {
        return parse_duration(rest).map(|d| now - d);
    }
    if let Some(rest) = text.strip_prefix('+') {
        return parse_duration(rest).map(|d| now + d);
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A time as written in a scenario, resolved later against the simulator's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct When(String);

impl When {
    /// The absolute time; `None` only if unparseable (rejected at load by `validate`).
    pub fn at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        parse_time(&self.0, now)
    }
}

impl<'de> Deserialize<'de> for When {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        // Validated against an arbitrary instant: relative forms do not depend on it.
        if parse_time(&text, DateTime::<Utc>::UNIX_EPOCH).is_none() {
            return Err(serde::de::Error::custom(format!(
                "{text:?} is not a time: use `now`, a relative time such as `-30m`, `-2h30m` or `+5m`, or RFC 3339"
            )));
        }
        Ok(When(text))
    }
}

/// A duration as written in a scenario (`5m`, `7d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match parse_duration(&text) {
            Some(dur) if dur > Duration::zero() => Ok(Span(dur)),
            _ => Err(serde::de::Error::custom(format!(
                "{text:?} is not a duration: use e.g. `90s`, `5m`, `2h`, `7d`"
            ))),
        }
    }
}

/// Epoch milliseconds.
pub fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// From epoch milliseconds (clamped into chrono's range).
pub fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(if ms < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_duration("5m"), Some(Duration::minutes(5)));
        assert_eq!(parse_duration("2h30m"), Some(Duration::minutes(150)));
        assert_eq!(parse_duration("1w"), Some(Duration::days(7)));
        for bad in ["", "5", "m", "5x", "-5m", "999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        let now = parse_time("2026-03-10T12:00:00Z", Utc::now()).unwrap_or_default();
        assert_eq!(parse_time("-30m", now), Some(now - Duration::minutes(30)));
        assert_eq!(parse_time("now", now), Some(now));
        assert_eq!(parse_time("+1d", now), Some(now + Duration::days(1)));
        assert_eq!(parse_time("yesterday", now), None);
        assert_eq!(from_millis(i64::MAX), DateTime::<Utc>::MAX_UTC);
    }
}
