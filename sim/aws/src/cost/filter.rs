//! Cost Explorer filter expressions: `Dimensions`, `Tags`, `And`, `Or`, `Not`, with
//! `MatchOptions` (EQUALS, ABSENT, STARTS_WITH, ENDS_WITH, CONTAINS, CASE_SENSITIVE,
//! CASE_INSENSITIVE).

use serde_json::Value;

use super::{DIMENSIONS, Item};
use crate::error::ApiError;
use crate::req::{list_of, str_of, strings_of};

/// A validated expression.
#[derive(Debug, Clone)]
pub enum Filter {
    Dimension {
        key: String,
        values: Vec<String>,
        options: Vec<String>,
    },
    Tag {
        key: String,
        values: Vec<String>,
        options: Vec<String>,
    },
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::client("ValidationException", message)
}

const OPTIONS: &[&str] = &[
    "EQUALS",
    "ABSENT",
    "STARTS_WITH",
    "ENDS_WITH",
    "CONTAINS",
    "CASE_SENSITIVE",
    "CASE_INSENSITIVE",
    "GREATER_THAN_OR_EQUAL",
];

impl Filter {
    /// Validates an `Expression` object.
    pub fn parse(v: &Value, depth: usize) -> Result<Filter, ApiError> {
        if depth > 16 {
            return Err(invalid("Expression is nested too deeply"));
        }
        let present: Vec<&str> = ["Dimensions", "Tags", "CostCategories", "And", "Or", "Not"]
            .into_iter()
            .filter(|k| v.get(*k).is_some_and(|x| !x.is_null()))
            .collect();
        if present.len() != 1 {
            return Err(invalid(
                "Expression must have exactly one of Dimensions, Tags, CostCategories, And, Or and Not",
            ));
        }
        let options = |x: &Value| -> Result<Vec<String>, ApiError> {
            let o = strings_of(x, "MatchOptions");
            match o.iter().find(|m| !OPTIONS.contains(&m.as_str())) {
                Some(bad) => Err(invalid(format!("unknown MatchOptions value {bad:?}"))),
                None => Ok(o),
            }
        };
        match present.first().copied().unwrap_or_default() {
            "Dimensions" => {
                let d = v.get("Dimensions").unwrap_or(&Value::Null);
                let key = str_of(d, "Key").unwrap_or_default().to_owned();
                if !DIMENSIONS.contains(&key.as_str()) {
                    return Err(invalid(format!(
                        "Dimension {key:?} is not supported by the simulator; use one of {}",
                        DIMENSIONS.join(", ")
                    )));
                }
                Ok(Filter::Dimension {
                    key,
                    values: strings_of(d, "Values"),
                    options: options(d)?,
                })
            }
            "Tags" => {
                let t = v.get("Tags").unwrap_or(&Value::Null);
                let key = str_of(t, "Key").unwrap_or_default().to_owned();
                Ok(Filter::Tag {
                    key,
                    values: strings_of(t, "Values"),
                    options: options(t)?,
                })
            }
            "CostCategories" => Err(invalid(
                "CostCategories filters are not supported by the simulator",
            )),
            "Not" => Ok(Filter::Not(Box::new(Filter::parse(
                v.get("Not").unwrap_or(&Value::Null),
                depth + 1,
            )?))),
            kind => {
                let parts = list_of(v, kind);
                if parts.len() < 2 {
                    return Err(invalid(format!("{kind} needs at least two expressions")));
                }
                let parsed = parts
                    .iter()
                    .map(|p| Filter::parse(p, depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if kind == "And" {
                    Filter::And(parsed)
                } else {
                    Filter::Or(parsed)
                })
            }
        }
    }

    pub fn matches(&self, item: &Item) -> bool {
        match self {
            Filter::Dimension {
                key,
                values,
                options,
            } => matches_value(item.dimension(key).as_deref(), values, options),
            Filter::Tag {
                key,
                values,
                options,
            } => matches_value(item.tag(key), values, options),
            Filter::And(parts) => parts.iter().all(|p| p.matches(item)),
            Filter::Or(parts) => parts.iter().any(|p| p.matches(item)),
            Filter::Not(inner) => !inner.matches(item),
        }
    }
}

fn matches_value(actual: Option<&str>, values: &[String], options: &[String]) -> bool {
    let has = |o: &str| options.iter().any(|x| x == o);
    if has("ABSENT") {
        return actual.is_none_or(str::is_empty);
    }
    let Some(actual) = actual else { return false };
    let insensitive = has("CASE_INSENSITIVE");
    let norm = |s: &str| {
        if insensitive {
            s.to_lowercase()
        } else {
            s.to_owned()
        }
    };
    let a = norm(actual);
    values.iter().any(|v| {
        let v = norm(v);
        if has("STARTS_WITH") {
            a.starts_with(&v)
        } else if has("ENDS_WITH") {
            a.ends_with(&v)
        } else if has("CONTAINS") {
            a.contains(&v)
        } else {
            a == v
        }
    })
}
