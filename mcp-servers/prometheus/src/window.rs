//! Times and windows of the arguments: RFC 3339 instants (default: the server's now, pinned by
//! `SOPILOT_NOW`), look-backs in minutes, and the step of a range query, chosen so every
//! series fits the output.

use chrono::{DateTime, Utc};

use crate::error::{ToolFailure, ToolResult};

/// Points per series a range query aims at.
pub const TARGET_POINTS: i64 = 120;
/// Steps a range query rounds up to, in seconds.
const NICE_STEPS: &[i64] = &[
    1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
];

/// `text` as an instant, or now.
pub fn instant(text: Option<&str>, field: &str) -> ToolResult<DateTime<Utc>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(crate::clock::now()),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| {
                ToolFailure::BadArgument(format!(
                    "{field} {t:?} is not an RFC 3339 time ({e}); write it like 2026-03-10T20:15:00Z, or omit it for now"
                ))
            }),
    }
}

/// `minutes` checked against `1..=max`, default `default`.
pub fn minutes(minutes: Option<i64>, default: i64, max: i64) -> ToolResult<i64> {
    let m = minutes.unwrap_or(default);
    if (1..=max).contains(&m) {
        Ok(m)
    } else {
        Err(ToolFailure::BadArgument(format!(
            "minutes must be between 1 and {max} (got {m})"
        )))
    }
}

/// The step for a window of `seconds`: at least `wanted` (when given, ≥ 1), large enough
/// for about [`TARGET_POINTS`] points, rounded up to a usual step.
pub fn step(seconds: i64, wanted: Option<i64>) -> ToolResult<i64> {
    if let Some(w) = wanted
        && w < 1
    {
        return Err(ToolFailure::BadArgument(format!(
            "step_seconds must be at least 1 (got {w})"
        )));
    }
    let needed = (seconds + TARGET_POINTS - 1) / TARGET_POINTS;
    let floor = needed.max(wanted.unwrap_or(1)).max(1);
    Ok(NICE_STEPS
        .iter()
        .copied()
        .find(|s| *s >= floor)
        .unwrap_or(floor))
}

/// Seconds as Prometheus's API takes them (`1741637700`).
pub fn epoch(t: DateTime<Utc>) -> String {
    t.timestamp().to_string()
}

/// A duration for text: `90s`, `5m`, `2h`.
pub fn duration(seconds: i64) -> String {
    match seconds {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_fit_the_budget_and_round_up() {
        assert_eq!(step(3600, None).ok(), Some(30));
        assert_eq!(step(3600, Some(60)).ok(), Some(60));
        assert_eq!(step(7 * 86_400, None).ok(), Some(7200));
        assert_eq!(step(60, None).ok(), Some(1));
        assert_eq!(step(86_400, Some(7)).ok(), Some(900));
        assert!(step(3600, Some(0)).is_err());
        assert_eq!(step(400 * 86_400, None).ok(), Some(288_000));
    }

    #[test]
    fn instants_are_rfc_3339() {
        let t =
            instant(Some("2026-03-10T20:15:00+01:00"), "time").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.to_rfc3339(), "2026-03-10T19:15:00+00:00");
        let e = instant(Some("yesterday"), "time").map(|_| ()).err();
        assert!(e.is_some_and(|e| e.to_string().contains("2026-03-10T20:15:00Z")));
        assert_eq!(duration(300), "5m");
        assert_eq!(duration(7200), "2h");
        assert_eq!(duration(45), "45s");
    }
}
