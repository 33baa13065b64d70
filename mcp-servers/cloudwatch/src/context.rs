//! Logs Insights rows redacted with their context. The redactor recognises many secrets by
//! what names them (`DB_PASSWORD=...`, `{"name": "DB_PASSWORD", "value": "..."}`), and a
//! field of a row can hold the value without its name. So a value is judged under its field
//! name (a column `client_secret` is masked whatever it holds) and, when the row carries its
//! whole log line (`@message`, which [`crate::guard`] makes every `fields`/`display` query
//! select), it is masked wherever the redactor masks it inside that line.

use serde_json::{Value, json};
use sopilot_mcp_common::{MASK, redact, redact_json};

/// Values shorter than this are not looked for in the line (`1` occurs everywhere).
const MIN_LOOKED_FOR: usize = 4;

/// `row` (field, value), every value redacted in its context.
pub fn redact_row(row: Vec<(String, String)>) -> Vec<(String, String)> {
    let line = row
        .iter()
        .find(|(f, _)| f == "@message")
        .map(|(_, v)| (v.clone(), redact(v).into_owned()));
    row.into_iter()
        .map(|(field, value)| {
            let value = match &line {
                Some((_, masked)) if field == "@message" => masked.clone(),
                Some((raw, masked)) if hidden_in(&value, raw, masked) => MASK.to_owned(),
                _ => under_name(&field, value),
            };
            (field, value)
        })
        .collect()
}

/// `value` redacted as the value of a key named `field`.
fn under_name(field: &str, value: String) -> String {
    let mut v = json!({ field: value });
    redact_json(&mut v);
    match v.get(field) {
        Some(Value::String(s)) => s.clone(),
        _ => MASK.to_owned(),
    }
}

/// Whether the redactor masked (some occurrence of) `value` in the line `raw`.
fn hidden_in(value: &str, raw: &str, masked: &str) -> bool {
    value.chars().count() >= MIN_LOOKED_FOR
        && value != MASK
        && raw.matches(value).count() > masked.matches(value).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(f, v)| ((*f).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_value_masked_in_its_line_is_masked_in_its_field() {
        let line =
            r#"{"cfg":{"name":"DB_PASSWORD","value":"hunter2-attackmarker-7731"},"pod":"api-1"}"#;
        let out = redact_row(row(&[
            ("cfg.value", "hunter2-attackmarker-7731"),
            ("pod", "api-1"),
            ("@message", line),
        ]));
        assert_eq!(out[0].1, MASK);
        assert_eq!(out[1].1, "api-1", "what the line shows stays");
        assert!(!out[2].1.contains("attackmarker"), "{}", out[2].1);
        assert!(out[2].1.contains("DB_PASSWORD"), "{}", out[2].1);
    }

    #[test]
    fn a_value_is_judged_under_its_field_name() {
        let out = redact_row(row(&[("client_secret", "plain-words"), ("level", "ERROR")]));
        assert_eq!(out[0].1, MASK);
        assert_eq!(out[1].1, "ERROR");
        let out = redact_row(row(&[("log", "connecting with password=hunter2 now")]));
        assert!(!out[0].1.contains("hunter2"), "{}", out[0].1);
    }

    #[test]
    fn short_values_and_values_shown_elsewhere_in_the_line_stay() {
        let line = "user=bob password=bob1 status=200";
        let out = redact_row(row(&[
            ("user", "bob"),
            ("status", "200"),
            ("@message", line),
        ]));
        assert_eq!((out[0].1.as_str(), out[1].1.as_str()), ("bob", "200"));
    }
}
