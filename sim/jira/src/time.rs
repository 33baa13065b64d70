//! Jira's timestamps (`2024-05-01T10:00:00.000+0000`) and the section's relative times.

use chrono::{DateTime, Duration, Utc};

/// As Jira writes a timestamp.
pub fn jira(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
}

/// `-90m`, `-2h`, `-3d`, `now` or an RFC 3339 time; `None` when it is none of these.
pub fn parse_when(s: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s == "now" {
        return Some(now);
    }
    if let Some(rel) = s.strip_prefix('-') {
        let (n, unit) = rel.split_at(rel.len().checked_sub(1)?);
        let n: i64 = n.parse().ok()?;
        let d = match unit {
            "s" => Duration::seconds(n),
            "m" => Duration::minutes(n),
            "h" => Duration::hours(n),
            "d" => Duration::days(n),
            _ => return None,
        };
        return Some(now - d);
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute() {
        let now = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(
            parse_when("-2h", now).map(jira).as_deref(),
            Some("2024-05-01T08:00:00.000+0000")
        );
        assert_eq!(parse_when("now", now), Some(now));
        assert!(parse_when("-2y", now).is_none());
        assert!(parse_when("yesterday", now).is_none());
        assert!(parse_when("2024-04-30T00:00:00Z", now).is_some());
    }
}
