//! A useful subset of CloudWatch Logs Insights: `fields`/`display` (with `as`), `filter`
//! (`=`, `!=`, `<`, `<=`, `>`, `>=`, `like "text"`, `like /regex/`, `not like`, `=~`,
//! `and`, `or`, `not`, parentheses, `ispresent(f)`), `stats count()|count(f)|sum|avg|min|max
//! [as name] by f, bin(5m)`, `sort f [asc|desc]` and `limit N`. Fields of JSON messages are
//! discovered (`kubernetes.pod_name`). Anything else is a `MalformedQueryException`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// A field value of a record.
mod parse;

use regex::Regex;

#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Text(String),
    Number(f64),
}

impl Field {
    pub fn text(&self) -> String {
        match self {
            Field::Text(s) => s.clone(),
            Field::Number(n) => format_number(*n),
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Field::Number(n) => Some(*n),
            Field::Text(s) => s.trim().parse().ok(),
        }
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        format!("{n}")
    }
}

/// One log event as Insights sees it.
pub type Record = BTreeMap<String, Field>;

#[derive(Debug, Clone)]
pub(super) enum Operand {
    Field(String),
    Str(String),
    Num(f64),
    Regex(Regex),
}

#[derive(Debug, Clone)]
pub(super) enum Cond {
    Or(Box<Cond>, Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Compare(Operand, &'static str, Operand),
    Like(Operand, Operand),
    Present(String),
    Truthy(Operand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Agg {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

#[derive(Debug, Clone)]
pub(super) struct Aggregate {
    pub func: Agg,
    pub field: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone)]
pub(super) enum GroupKey {
    Field(String),
    /// `bin(N)`: seconds.
    Bin(i64, String),
}

#[derive(Debug, Clone)]
pub(super) enum Command {
    Fields(Vec<(String, String)>),
    Filter(Cond),
    Stats(Vec<Aggregate>, Vec<GroupKey>),
    Sort(String, bool),
    Limit(usize),
}

/// A parsed query.
#[derive(Debug, Clone)]
pub struct Query {
    commands: Vec<Command>,
}

impl Query {
    /// Parses a query; `Err` is a message for `MalformedQueryException`.
    pub fn parse(text: &str) -> Result<Query, String> {
        parse::parse(text).map(|commands| Query { commands })
    }

    /// Runs the query over `records` (any order); rows are lists of `(field, value)`.
    pub fn run(
        &self,
        records: Vec<Record>,
        default_limit: usize,
    ) -> (Vec<Vec<(String, String)>>, usize) {
        let mut rows = records;
        let mut columns: Option<Vec<(String, String)>> = None;
        let mut sorted = false;
        let mut limit = default_limit;
        let mut aggregated = false;
        for c in &self.commands {
            match c {
                Command::Filter(cond) => rows.retain(|r| eval(cond, r)),
                Command::Fields(list) => {
                    for r in &mut rows {
                        for (f, alias) in list {
                            if f != alias
                                && let Some(v) = r.get(f).cloned()
                            {
                                r.insert(alias.clone(), v);
                            }
                        }
                    }
                    let mut cols = if aggregated {
                        Vec::new()
                    } else {
                        columns.take().unwrap_or_default()
                    };
                    cols.extend(list.iter().map(|(_, a)| (a.clone(), a.clone())));
                    columns = Some(cols);
                }
                Command::Stats(aggs, by) => {
                    rows = stats(&rows, aggs, by);
                    aggregated = true;
                    let mut cols: Vec<(String, String)> = by
                        .iter()
                        .map(|k| match k {
                            GroupKey::Field(f) => (f.clone(), f.clone()),
                            GroupKey::Bin(_, name) => (name.clone(), name.clone()),
                        })
                        .collect();
                    cols.extend(aggs.iter().map(|a| (a.name.clone(), a.name.clone())));
                    columns = Some(cols);
                }
                Command::Sort(field, desc) => {
                    rows.sort_by(|a, b| {
                        let o = compare(a.get(field), b.get(field));
                        if *desc { o.reverse() } else { o }
                    });
                    sorted = true;
                }
                Command::Limit(n) => limit = *n,
            }
        }
        if !sorted && !aggregated {
            rows.sort_by(|a, b| compare(b.get("@timestamp"), a.get("@timestamp")));
        }
        let matched = rows.len();
        let columns = columns.unwrap_or_else(|| {
            ["@timestamp", "@message", "@logStream", "@log"]
                .iter()
                .map(|c| ((*c).to_owned(), (*c).to_owned()))
                .collect()
        });
        let out = rows
            .iter()
            .take(limit)
            .map(|r| {
                let mut row: Vec<(String, String)> = columns
                    .iter()
                    .filter_map(|(f, name)| r.get(f).map(|v| (name.clone(), display(f, v))))
                    .collect();
                if !aggregated && let Some(p) = r.get("@ptr") {
                    row.push(("@ptr".into(), p.text()));
                }
                row
            })
            .collect();
        (out, matched)
    }
}

fn display(field: &str, v: &Field) -> String {
    match (field, v) {
        ("@timestamp" | "@ingestionTime", Field::Number(ms)) => insights_time(*ms),
        (f, Field::Number(s)) if f.starts_with("bin(") => insights_time(*s * 1000.0),
        _ => v.text(),
    }
}

/// `2026-03-10 12:00:00.000`, as Insights shows times.
pub fn insights_time(ms: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let t = crate::time::from_millis(ms as i64);
    t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

fn compare(a: Option<&Field>, b: Option<&Field>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => match (x.number(), y.number()) {
            (Some(p), Some(q)) => p.total_cmp(&q),
            _ => x.text().cmp(&y.text()),
        },
    }
}

fn value(o: &Operand, r: &Record) -> Option<Field> {
    match o {
        Operand::Field(f) => r.get(f).cloned(),
        Operand::Str(s) => Some(Field::Text(s.clone())),
        Operand::Num(n) => Some(Field::Number(*n)),
        Operand::Regex(re) => Some(Field::Text(re.as_str().to_owned())),
    }
}

fn eval(c: &Cond, r: &Record) -> bool {
    match c {
        Cond::Or(a, b) => eval(a, r) || eval(b, r),
        Cond::And(a, b) => eval(a, r) && eval(b, r),
        Cond::Not(a) => !eval(a, r),
        Cond::Present(f) => r.contains_key(f),
        Cond::Truthy(o) => value(o, r).is_some_and(|v| !matches!(v, Field::Number(n) if n == 0.0)),
        Cond::Like(left, right) => {
            let Some(text) = value(left, r).map(|v| v.text()) else {
                return false;
            };
            match right {
                Operand::Regex(re) => re.is_match(&text),
                other => value(other, r).is_some_and(|v| text.contains(&v.text())),
            }
        }
        Cond::Compare(left, op, right) => {
            let (Some(a), Some(b)) = (value(left, r), value(right, r)) else {
                return *op == "!=";
            };
            let o = match (a.number(), b.number()) {
                (Some(p), Some(q)) => p.total_cmp(&q),
                _ => a.text().cmp(&b.text()),
            };
            match *op {
                "=" => o == Ordering::Equal,
                "!=" => o != Ordering::Equal,
                "<" => o == Ordering::Less,
                "<=" => o != Ordering::Greater,
                ">" => o == Ordering::Greater,
                _ => o != Ordering::Less,
            }
        }
    }
}

fn stats(rows: &[Record], aggs: &[Aggregate], by: &[GroupKey]) -> Vec<Record> {
    let mut groups: BTreeMap<Vec<String>, (Vec<Field>, Vec<&Record>)> = BTreeMap::new();
    for r in rows {
        let mut key = Vec::new();
        let mut shown = Vec::new();
        for k in by {
            let v = match k {
                GroupKey::Field(f) => r.get(f).cloned(),
                GroupKey::Bin(secs, _) => r.get("@timestamp").and_then(Field::number).map(|ms| {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
                    let bucket = ((ms / 1000.0).floor() as i64).div_euclid(*secs) * secs;
                    #[allow(clippy::cast_precision_loss)]
                    Field::Number(bucket as f64)
                }),
            };
            // Insights leaves out events without the group-by field.
            let Some(v) = v else { continue };
            key.push(match &v {
                Field::Number(n) => format!("{n:020.3}"),
                Field::Text(s) => s.clone(),
            });
            shown.push(v);
        }
        if key.len() != by.len() {
            continue;
        }
        groups
            .entry(key)
            .or_insert_with(|| (shown, Vec::new()))
            .1
            .push(r);
    }
    if by.is_empty() && groups.is_empty() {
        groups.insert(Vec::new(), (Vec::new(), Vec::new()));
    }
    let mut out = Vec::new();
    for (shown, members) in groups.into_values() {
        let mut rec = Record::new();
        for (k, v) in by.iter().zip(shown) {
            let name = match k {
                GroupKey::Field(f) => f.clone(),
                GroupKey::Bin(_, n) => n.clone(),
            };
            rec.insert(name, v);
        }
        for a in aggs {
            let nums: Vec<f64> = match &a.field {
                Some(f) => members
                    .iter()
                    .filter_map(|r| r.get(f).and_then(Field::number))
                    .collect(),
                None => Vec::new(),
            };
            #[allow(clippy::cast_precision_loss)]
            let v = match a.func {
                Agg::Count => match &a.field {
                    None => Some(members.len() as f64),
                    Some(f) => Some(members.iter().filter(|r| r.contains_key(f)).count() as f64),
                },
                Agg::Sum => Some(nums.iter().sum()),
                Agg::Avg => {
                    (!nums.is_empty()).then(|| nums.iter().sum::<f64>() / nums.len() as f64)
                }
                Agg::Min => nums.iter().copied().reduce(f64::min),
                Agg::Max => nums.iter().copied().reduce(f64::max),
            };
            if let Some(v) = v {
                rec.insert(a.name.clone(), Field::Number(v));
            }
        }
        out.push(rec);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ts: f64, msg: &str, pod: &str) -> Record {
        let mut r = Record::new();
        r.insert("@timestamp".into(), Field::Number(ts));
        r.insert("@message".into(), Field::Text(msg.into()));
        r.insert("pod".into(), Field::Text(pod.into()));
        r
    }

    fn records() -> Vec<Record> {
        vec![
            rec(1000.0, "ERROR db timeout", "a"),
            rec(2000.0, "INFO ok", "a"),
            rec(3000.0, "ERROR db timeout", "b"),
            rec(4000.0, "ERROR CannotGetJdbcConnectionException", "a"),
        ]
    }

    fn run(q: &str) -> Vec<Vec<(String, String)>> {
        Query::parse(q)
            .unwrap_or_else(|e| panic!("{q}: {e}"))
            .run(records(), 1000)
            .0
    }

    #[test]
    fn filter_stats_sort_limit() {
        let rows = run(
            "fields @timestamp, @message | filter @message like /ERROR/ | sort @timestamp desc | limit 2",
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][1].1, "ERROR CannotGetJdbcConnectionException");
        let rows =
            run("filter @message like \"timeout\" | stats count() as n by pod | sort n desc");
        assert_eq!(
            rows,
            vec![
                vec![("pod".into(), "a".into()), ("n".into(), "1".into())],
                vec![("pod".into(), "b".into()), ("n".into(), "1".into())],
            ]
        );
        let rows = run("filter pod = 'a' and not @message like /INFO/ | stats count(*)");
        assert_eq!(rows, vec![vec![("count(*)".into(), "2".into())]]);
        let rows = run("stats count() by bin(1s)");
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0][0].1, "1970-01-01 00:00:01.000");
        let rows = run("filter @timestamp >= 3000 | fields pod as p");
        assert_eq!(
            rows,
            vec![
                vec![("p".into(), "a".into())],
                vec![("p".into(), "b".into())]
            ]
        );
    }

    #[test]
    fn malformed_queries_say_why() {
        for (q, needle) in [
            ("", "empty"),
            ("parse @message 'x'", "not supported"),
            ("filter @message like /(/", "invalid regular expression"),
            ("stats median(x)", "not supported"),
            ("fields a |", "ends with"),
            ("filter (a = 1", "expected ')'"),
            ("limit 0", "whole number"),
            ("fields a b", "unexpected"),
            ("filter @message like \"x", "unterminated"),
        ] {
            let e = Query::parse(q).err().unwrap_or_default();
            assert!(e.contains(needle), "{q}: {e}");
        }
    }
}
