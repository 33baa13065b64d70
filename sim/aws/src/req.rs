//! Reading request members, with AWS-style validation errors.

use serde_json::Value;

use crate::error::ApiError;

/// A string member, if present.
pub fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// A required string member; `code` is the service's validation error code.
pub fn required<'a>(v: &'a Value, key: &str, code: &str) -> Result<&'a str, ApiError> {
    match v.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ApiError::client(code, format!("{key} must be a string"))),
        None => Err(ApiError::client(
            code,
            format!(
                "1 validation error detected: Value null at '{key}' failed to satisfy constraint: Member must not be null"
            ),
        )),
    }
}

/// An integer member, if present and integral.
pub fn int_of(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(|n| {
        n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                .map(|f| {
                    #[allow(clippy::cast_possible_truncation)]
                    let i = f as i64;
                    i
                })
        })
    })
}

/// A number member (epoch seconds for CloudWatch timestamps).
pub fn num_of(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

/// An array member (empty when absent).
pub fn list_of<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A list of strings (non-strings are skipped).
pub fn strings_of(v: &Value, key: &str) -> Vec<String> {
    list_of(v, key)
        .iter()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

/// A page size: `key` if given (bounded by `1..=max`), else `default`.
pub fn page_size(
    v: &Value,
    key: &str,
    default: usize,
    max: usize,
    code: &str,
) -> Result<usize, ApiError> {
    match int_of(v, key) {
        None => Ok(default),
        Some(n) if n >= 1 && usize::try_from(n).is_ok_and(|n| n <= max) => {
            Ok(usize::try_from(n).unwrap_or(default))
        }
        Some(n) => Err(ApiError::client(
            code,
            format!(
                "1 validation error detected: Value '{n}' at '{key}' failed to satisfy constraint: Member must have value between 1 and {max}"
            ),
        )),
    }
}

/// The offset a pagination token encodes (`<prefix><offset>`); `code` names the error.
pub fn token_offset(v: &Value, key: &str, prefix: &str, code: &str) -> Result<usize, ApiError> {
    match str_of(v, key) {
        None => Ok(0),
        Some(t) => t
            .strip_prefix(prefix)
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| ApiError::client(code, format!("The token {t:?} is not valid"))),
    }
}

/// The token for the page after `offset + taken` items, when more remain.
pub fn next_token(prefix: &str, offset: usize, taken: usize, total: usize) -> Option<String> {
    let next = offset.saturating_add(taken);
    (next < total).then(|| format!("{prefix}{next}"))
}
