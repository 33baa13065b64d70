//! Times: relative scenario timestamps, the API's RFC 3339 format and kubectl's ages.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::Value;

/// Parses a relative time: `now`, or a signed sum of parts such as `-5m`, `-2h30m`, `+10s`,
/// `-3d`. Units: `s`, `m`, `h`, `d`. Returns the offset from now.
pub fn parse_relative(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "now" {
        return Some(Duration::zero());
    }
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => return None,
    };
    if rest.is_empty() {
        return None;
    }
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
    if !digits.is_empty() || total > 100 * 365 * 86_400 {
        return None;
    }
    Some(Duration::seconds(sign * total))
}

/// Whether a field of this name holds a timestamp that may be written relative to now.
pub fn is_time_key(key: &str) -> bool {
    key == "timeAdded"
        || ["Timestamp", "timestamp", "Time", "time", "At"]
            .iter()
            .any(|suffix| key.ends_with(suffix))
}

/// Replaces, everywhere in `value`, relative times under timestamp keys by absolute ones.
pub fn resolve_relative(value: &mut Value, now: DateTime<Utc>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if is_time_key(key)
                    && let Value::String(text) = child
                    && let Some(offset) = parse_relative(text)
                {
                    *child = Value::String(rfc3339(now + offset));
                    continue;
                }
                resolve_relative(child, now);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| resolve_relative(v, now)),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// The API's timestamp format (whole seconds, `Z`).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The API's micro-time format, used by `eventTime` and log timestamps.
pub fn rfc3339_nanos(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Parses an API timestamp.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The age of `since` at `now`, as kubectl prints it (`45s`, `3m20s`, `5h`, `12d`).
pub fn human_duration(elapsed: Duration) -> String {
    let seconds = elapsed.num_seconds();
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return with_rest(minutes, "m", seconds % 60, "s");
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return with_rest(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return with_rest(days, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return with_rest(years, "y", days % 365, "d");
    }
    format!("{years}y")
}

fn with_rest(major: i64, major_unit: &str, minor: i64, minor_unit: &str) -> String {
    if minor == 0 {
        format!("{major}{major_unit}")
    } else {
        format!("{major}{major_unit}{minor}{minor_unit}")
    }
}

/// `human_duration` of the time since the RFC 3339 `text`, or `<unknown>`.
pub fn age(text: Option<&str>, now: DateTime<Utc>) -> String {
    match text.and_then(parse) {
        Some(t) => human_duration(now - t),
        None => "<unknown>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn relative_times() {
        assert_eq!(parse_relative("now"), Some(Duration::zero()));
        assert_eq!(parse_relative("-5m"), Some(Duration::minutes(-5)));
        assert_eq!(parse_relative("-2h30m"), Some(Duration::minutes(-150)));
        assert_eq!(parse_relative("+10s"), Some(Duration::seconds(10)));
        assert_eq!(parse_relative("-3d"), Some(Duration::days(-3)));
        for bad in [
            "5m",
            "-",
            "-5",
            "-5x",
            "-m",
            "2024-01-01T00:00:00Z",
            "-99999999999d",
        ] {
            assert_eq!(parse_relative(bad), None, "{bad}");
        }
    }

    #[test]
    fn resolves_only_time_keys() {
        let now = parse("2026-01-01T12:00:00Z").unwrap();
        let mut v = json!({"metadata": {"creationTimestamp": "-1h", "labels": {"x": "-1h"}},
                           "status": {"startedAt": "-90s", "conditions": [{"lastTransitionTime": "now"}]}});
        resolve_relative(&mut v, now);
        assert_eq!(v["metadata"]["creationTimestamp"], "2026-01-01T11:00:00Z");
        assert_eq!(v["metadata"]["labels"]["x"], "-1h");
        assert_eq!(v["status"]["startedAt"], "2026-01-01T11:58:30Z");
        assert_eq!(
            v["status"]["conditions"][0]["lastTransitionTime"],
            "2026-01-01T12:00:00Z"
        );
    }

    #[test]
    fn ages_like_kubectl() {
        let cases = [
            (59, "59s"),
            (119, "119s"),
            (120, "2m"),
            (200, "3m20s"),
            (600, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 300, "3h5m"),
            (30 * 3600, "30h"),
            (50 * 3600, "2d2h"),
            (20 * 86400, "20d"),
            (3 * 365 * 86400, "3y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(Duration::seconds(secs)), want, "{secs}");
        }
        assert_eq!(human_duration(Duration::seconds(-5)), "<invalid>");
    }
}
