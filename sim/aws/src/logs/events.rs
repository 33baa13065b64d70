//! Log events: expanding a scenario's (repeated) events, and the record Logs Insights sees.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::insights::{Field, Record};
use super::{Event, EventSpec, Group, MAX_EVENTS};

/// An Insights record: the system fields plus the fields of a JSON message, flattened.
pub(super) fn record(g: &Group, i: usize, e: &Event) -> Record {
    let mut r = Record::new();
    #[allow(clippy::cast_precision_loss)]
    r.insert("@timestamp".into(), Field::Number(e.timestamp as f64));
    #[allow(clippy::cast_precision_loss)]
    r.insert(
        "@ingestionTime".into(),
        Field::Number((e.timestamp + 180) as f64),
    );
    r.insert("@message".into(), Field::Text(e.message.clone()));
    r.insert(
        "@logStream".into(),
        Field::Text(g.streams.get(e.stream).cloned().unwrap_or_default()),
    );
    r.insert(
        "@log".into(),
        Field::Text(format!("123456789012:{}", g.name)),
    );
    r.insert("@ptr".into(), Field::Text(format!("{}/{i}", g.name)));
    if e.message.starts_with('{')
        && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&e.message)
    {
        flatten("", &map, &mut r, 0);
    }
    r
}

fn flatten(prefix: &str, map: &Map<String, Value>, r: &mut Record, depth: usize) {
    if depth > 8 {
        return;
    }
    for (k, v) in map {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(m) => flatten(&name, m, r, depth + 1),
            Value::Number(n) => {
                r.insert(name, Field::Number(n.as_f64().unwrap_or(0.0)));
            }
            Value::String(s) => {
                r.insert(name, Field::Text(s.clone()));
            }
            Value::Bool(b) => {
                r.insert(name, Field::Text(b.to_string()));
            }
            Value::Null | Value::Array(_) => {}
        }
    }
}

/// The times and texts of a (possibly repeated) scenario event.
pub(super) fn expand(
    e: &EventSpec,
    start: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, String)>, String> {
    let at = e.at.at(start).ok_or("`at` is not a time")?;
    let Some(every) = e.every else {
        if e.count.is_some() || e.until.is_some() {
            return Err("`count` and `until` need `every`".into());
        }
        return Ok(vec![(at, e.message.replace("{n}", "1"))]);
    };
    let until = match (&e.until, e.count) {
        (Some(w), _) => w.at(start).ok_or("`until` is not a time")?,
        (None, Some(_)) => DateTime::<Utc>::MAX_UTC,
        (None, None) => start,
    };
    let mut out = Vec::new();
    let mut t = at;
    let mut n: u32 = 0;
    while t <= until && e.count.is_none_or(|c| n < c) {
        n += 1;
        if out.len() >= MAX_EVENTS {
            return Err(format!("more than {MAX_EVENTS} repetitions"));
        }
        out.push((t, e.message.replace("{n}", &n.to_string())));
        t = t
            .checked_add_signed(every.0)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        if t == DateTime::<Utc>::MAX_UTC {
            break;
        }
    }
    Ok(out)
}
