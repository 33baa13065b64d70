//! Dates and money as Cost Explorer takes and gives them.

use chrono::NaiveDate;

use crate::error::{ToolFailure, ToolResult};

/// Parses `YYYY-MM-DD`; the error names the argument and shows the format.
pub fn date(name: &str, text: &str) -> ToolResult<NaiveDate> {
    let t = text.trim();
    let shaped =
        t.len() == 10 && t.as_bytes().get(4) == Some(&b'-') && t.as_bytes().get(7) == Some(&b'-');
    shaped
        .then(|| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| {
            ToolFailure::BadArgument(format!(
                "{name} {text:?} is not a date: use YYYY-MM-DD, e.g. 2026-02-01"
            ))
        })
}

/// A validated `[start, end)` range.
pub fn range(
    start_name: &str,
    start: &str,
    end_name: &str,
    end: &str,
) -> ToolResult<(NaiveDate, NaiveDate)> {
    let (s, e) = (date(start_name, start)?, date(end_name, end)?);
    if s >= e {
        return Err(ToolFailure::BadArgument(format!(
            "{start_name} ({s}) must be before {end_name} ({e}); {end_name} is exclusive, so one day is {s} to {}",
            s.succ_opt().unwrap_or(s)
        )));
    }
    Ok((s, e))
}

/// Cents from a Cost Explorer amount string.
pub fn cents(amount: Option<&str>) -> i64 {
    let v: f64 = amount.and_then(|a| a.parse().ok()).unwrap_or(0.0);
    #[allow(clippy::cast_possible_truncation)]
    let c = (v * 100.0).round() as i64;
    c
}

/// `$12,450.00`, `-$2,336.21`.
pub fn money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let symbol = if currency == "USD" {
        "$".to_owned()
    } else {
        format!("{currency} ")
    };
    format!("{sign}{symbol}{grouped}.{:02}", abs % 100)
}

/// Dollars as a JSON number.
pub fn dollars(cents: i64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let d = cents as f64 / 100.0;
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_money() {
        assert!(date("start", "2026-02-30").is_err());
        assert!(date("start", "2026-2-3").is_err());
        assert!(date("start", "2026-02-03").is_ok());
        assert!(range("start", "2026-03-01", "end", "2026-03-01").is_err());
        assert_eq!(money(1_245_000, "USD"), "$12,450.00");
        assert_eq!(money(-233_621, "USD"), "-$2,336.21");
        assert_eq!(money(5, "EUR"), "EUR 0.05");
        assert_eq!(cents(Some("8586.2100000000")), 858_621);
    }
}
