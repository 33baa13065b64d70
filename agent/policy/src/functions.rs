//! Helper functions available to `when` expressions.
//!
//! `pct_change(before, after)` is the absolute change in percent (10 → 14 is 40.0);
//! `within_pct(before, after, pct)` says whether that change is at most `pct`. A `before` of
//! zero is an error, so a rule using them fails closed instead of dividing by zero.

use minijinja::{Environment, Error, ErrorKind, Value};

fn number(v: &Value, what: &str) -> Result<f64, Error> {
    f64::try_from(v.clone()).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("{what} must be a number, got {v}"),
        )
    })
}

fn pct_change(before: Value, after: Value) -> Result<f64, Error> {
    let (b, a) = (number(&before, "before")?, number(&after, "after")?);
    if b == 0.0 {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "percentage change from 0 is undefined",
        ));
    }
    Ok(((a - b) / b).abs() * 100.0)
}

fn within_pct(before: Value, after: Value, pct: Value) -> Result<bool, Error> {
    let limit = number(&pct, "pct")?;
    // A tiny tolerance so 10 → 15 is "within 50 %" despite float rounding.
    Ok(pct_change(before, after)? <= limit + 1e-9)
}

/// The functions a `when` may call.
pub(crate) const NAMES: [&str; 2] = ["pct_change", "within_pct"];

/// Replaces minijinja's globals with the helpers: a global like `namespace` would otherwise
/// stand in for a mistyped variable and make a condition silently true.
pub(crate) fn register(env: &mut Environment<'static>) {
    let globals: Vec<String> = env.globals().map(|(g, _)| g.to_owned()).collect();
    for g in globals {
        env.remove_global(&g);
    }
    env.add_function("pct_change", pct_change);
    env.add_function("within_pct", within_pct);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages() {
        assert_eq!(pct_change(Value::from(10), Value::from(14)).unwrap(), 40.0);
        assert!(within_pct(Value::from(10), Value::from(15), Value::from(50)).unwrap());
        assert!(!within_pct(Value::from(10), Value::from(20), Value::from(50)).unwrap());
        assert!(!within_pct(Value::from(4), Value::from(1), Value::from(50)).unwrap());
        assert!(pct_change(Value::from(0), Value::from(3)).is_err());
        assert!(pct_change(Value::from("x"), Value::from(3)).is_err());
    }
}
