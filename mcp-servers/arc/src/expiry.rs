//! A zonal shift's `expires_in`, checked as ARC checks it (a whole number of minutes `m` or
//! hours `h`, from 1 minute to 72 hours) before anything is sent.

use chrono::Duration;

/// The longest a zonal shift may initially last.
const MAX: Duration = Duration::hours(72);

/// The duration `text` stands for, or why it is not one ARC accepts.
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "expires_in {text:?} is not a zonal shift duration: write a whole number of minutes or hours, e.g. 30m, 2h (1m to 72h)"
        )
    };
    let (digits, unit) = t.split_at(t.len().checked_sub(1).ok_or_else(bad)?);
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let d = match unit {
        "m" => Duration::minutes(n.min(MAX.num_minutes() + 1)),
        "h" => Duration::hours(n.min(MAX.num_hours() + 1)),
        _ => return Err(bad()),
    };
    if d > MAX {
        return Err(format!(
            "expires_in {text:?} is longer than ARC allows (72h); start it for at most 72h and extend it later if needed"
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_and_hours_from_one_minute_to_three_days() {
        assert_eq!(parse("1m"), Ok(Duration::minutes(1)));
        assert_eq!(parse("90m"), Ok(Duration::minutes(90)));
        assert_eq!(parse(" 72h "), Ok(Duration::hours(72)));
        assert_eq!(parse("4320m"), Ok(Duration::hours(72)));
    }

    #[test]
    fn other_forms_and_lengths_are_refused_with_the_fix() {
        for bad in ["0m", "01h", "1d", "1.5h", "h", "", "-5m", "30 m", "1H"] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("e.g. 30m, 2h"), "{bad}: {e}");
        }
        for long in ["73h", "4321m", "99999999999999999999h"] {
            let e = parse(long).unwrap_err();
            assert!(e.contains("72h"), "{long}: {e}");
        }
    }
}
