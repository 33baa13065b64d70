//! CloudWatch Logs: the `logs` scenario section and DescribeLogGroups, DescribeLogStreams,
//! FilterLogEvents, StartQuery and GetQueryResults.

mod events;
mod filter;
mod insights;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult, AwsSimError, decode};
use crate::faults::Fault;
use crate::req::{int_of, next_token, page_size, str_of, strings_of, token_offset};
use crate::state::Clock;
use crate::time::{Span, When, millis};
use events::{expand, record};
use filter::FilterPattern;
use insights::Query;

const SECTION: &str = "logs";
/// Generated events per log group, at most.
const MAX_EVENTS: usize = 200_000;
/// Queries remembered for GetQueryResults.
const MAX_QUERIES: usize = 1_000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    region: Option<String>,
    account: Option<String>,
    #[serde(default)]
    groups: Vec<GroupSpec>,
    /// How many GetQueryResults calls answer `Running` before `Complete` (default 1).
    query_polls: Option<u32>,
    #[serde(default)]
    faults: Vec<Fault>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupSpec {
    name: String,
    retention_days: Option<i64>,
    created_at: Option<When>,
    #[serde(default)]
    streams: Vec<StreamSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamSpec {
    name: String,
    /// Wraps each message as a Container Insights (Fluent Bit) JSON record with this
    /// `kubernetes` object, e.g. `{pod_name, namespace_name, container_name, host}`.
    kubernetes: Option<Map<String, Value>>,
    #[serde(default)]
    events: Vec<EventSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventSpec {
    at: When,
    message: String,
    /// Repeat the event this often...
    every: Option<Span>,
    /// ...until this time (default now)...
    until: Option<When>,
    /// ...or this many times in all. `{n}` in the message is the repetition, from 1.
    count: Option<u32>,
}

#[derive(Debug, Clone)]
struct Event {
    timestamp: i64,
    stream: usize,
    message: String,
}

#[derive(Debug)]
struct Group {
    name: String,
    arn: String,
    created: i64,
    retention: Option<i64>,
    streams: Vec<String>,
    /// Sorted by timestamp.
    events: Vec<Event>,
}

#[derive(Debug)]
struct RunningQuery {
    polls_left: u32,
    results: Value,
    statistics: Value,
}

/// The simulated CloudWatch Logs.
#[derive(Debug, Default)]
pub(crate) struct Logs {
    groups: Vec<Group>,
    query_polls: u32,
    queries: BTreeMap<String, RunningQuery>,
    query_order: Vec<String>,
    next_query: u64,
}

fn field_err(field: String, message: impl Into<String>) -> AwsSimError {
    AwsSimError::scenario(SECTION, field, message)
}

impl Logs {
    pub fn from_section(
        section: Option<&Value>,
        start: DateTime<Utc>,
    ) -> Result<(Logs, Vec<Fault>), AwsSimError> {
        let s: Section = match section {
            Some(v) => decode(SECTION, v)?,
            None => Section::default(),
        };
        let region = s.region.unwrap_or_else(|| "us-east-1".into());
        let account = s.account.unwrap_or_else(|| "123456789012".into());
        let mut logs = Logs {
            query_polls: s.query_polls.unwrap_or(1),
            ..Logs::default()
        };
        for (gi, g) in s.groups.iter().enumerate() {
            if logs.groups.iter().any(|x| x.name == g.name) || g.name.is_empty() {
                return Err(field_err(
                    format!("groups[{gi}].name"),
                    "log group names must be unique and non-empty",
                ));
            }
            let created = match &g.created_at {
                Some(w) => w
                    .at(start)
                    .ok_or_else(|| field_err(format!("groups[{gi}].created_at"), "not a time"))?,
                None => start - chrono::Duration::days(90),
            };
            let mut group = Group {
                name: g.name.clone(),
                arn: format!("arn:aws:logs:{region}:{account}:log-group:{}", g.name),
                created: millis(created),
                retention: g.retention_days,
                streams: Vec::new(),
                events: Vec::new(),
            };
            for (si, st) in g.streams.iter().enumerate() {
                let stream = group.streams.len();
                group.streams.push(st.name.clone());
                for (ei, e) in st.events.iter().enumerate() {
                    let path = format!("groups[{gi}].streams[{si}].events[{ei}]");
                    for (t, text) in expand(e, start).map_err(|m| field_err(path.clone(), m))? {
                        if group.events.len() >= MAX_EVENTS {
                            return Err(field_err(
                                path,
                                format!("more than {MAX_EVENTS} events in one log group"),
                            ));
                        }
                        let message = match &st.kubernetes {
                            Some(k) => json!({"time": t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true), "stream": "stdout", "_p": "F", "log": text, "kubernetes": k}).to_string(),
                            None => text,
                        };
                        group.events.push(Event {
                            timestamp: millis(t),
                            stream,
                            message,
                        });
                    }
                }
            }
            group.events.sort_by_key(|e| e.timestamp);
            logs.groups.push(group);
        }
        Ok((logs, s.faults))
    }

    pub fn group_names(&self) -> Vec<String> {
        self.groups.iter().map(|g| g.name.clone()).collect()
    }

    pub fn handle(&mut self, operation: &str, req: &Value, clock: Clock) -> ApiResult {
        match operation {
            "DescribeLogGroups" => self.describe_log_groups(req),
            "DescribeLogStreams" => self.describe_log_streams(req),
            "FilterLogEvents" => self.filter_log_events(req, clock),
            "StartQuery" => self.start_query(req, clock),
            "GetQueryResults" => self.get_query_results(req),
            other => Err(ApiError::client(
                "UnknownOperationException",
                format!(
                    "the simulated CloudWatch Logs does not implement {other}; it serves DescribeLogGroups, DescribeLogStreams, FilterLogEvents, StartQuery and GetQueryResults"
                ),
            )),
        }
    }

    fn group(&self, req: &Value) -> Result<&Group, ApiError> {
        let id = str_of(req, "logGroupIdentifier").or_else(|| str_of(req, "logGroupName"));
        let Some(id) = id else {
            return Err(invalid(
                "Either logGroupName or logGroupIdentifier must be given",
            ));
        };
        self.find(id).ok_or_else(not_found)
    }

    fn find(&self, id: &str) -> Option<&Group> {
        let id = id.trim_end_matches(":*");
        self.groups.iter().find(|g| g.name == id || g.arn == id)
    }

    fn describe_log_groups(&self, req: &Value) -> ApiResult {
        let prefix = str_of(req, "logGroupNamePrefix");
        let pattern = str_of(req, "logGroupNamePattern");
        if prefix.is_some() && pattern.is_some() {
            return Err(invalid(
                "logGroupNamePrefix and logGroupNamePattern cannot be given together",
            ));
        }
        let limit = page_size(req, "limit", 50, 50, "InvalidParameterException")?;
        let offset = token_offset(req, "nextToken", "lg-", "InvalidParameterException")?;
        let mut matching: Vec<&Group> = self
            .groups
            .iter()
            .filter(|g| prefix.is_none_or(|p| g.name.starts_with(p)))
            .filter(|g| pattern.is_none_or(|p| g.name.to_lowercase().contains(&p.to_lowercase())))
            .collect();
        matching.sort_by(|a, b| a.name.cmp(&b.name));
        let page: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(limit)
            .map(|g| {
                let mut v = json!({
                    "logGroupName": g.name,
                    "creationTime": g.created,
                    "metricFilterCount": 0,
                    "arn": format!("{}:*", g.arn),
                    "logGroupArn": g.arn,
                    "storedBytes": g.events.iter().map(|e| e.message.len()).sum::<usize>(),
                    "logGroupClass": "STANDARD",
                });
                if let Some(r) = g.retention {
                    v["retentionInDays"] = json!(r);
                }
                v
            })
            .collect();
        let mut out = json!({"logGroups": page});
        if let Some(t) = next_token("lg-", offset, limit, matching.len()) {
            out["nextToken"] = json!(t);
        }
        Ok(out)
    }

    fn describe_log_streams(&self, req: &Value) -> ApiResult {
        let g = self.group(req)?;
        let prefix = str_of(req, "logStreamNamePrefix");
        let limit = page_size(req, "limit", 50, 50, "InvalidParameterException")?;
        let offset = token_offset(req, "nextToken", "ls-", "InvalidParameterException")?;
        let by_time = str_of(req, "orderBy") == Some("LastEventTime");
        if by_time && prefix.is_some() {
            return Err(invalid(
                "Cannot order by LastEventTime with a logStreamNamePrefix.",
            ));
        }
        let mut streams: Vec<(usize, &String, Option<i64>, Option<i64>)> = g
            .streams
            .iter()
            .enumerate()
            .filter(|(_, s)| prefix.is_none_or(|p| s.starts_with(p)))
            .map(|(i, s)| {
                let times: Vec<i64> = g
                    .events
                    .iter()
                    .filter(|e| e.stream == i)
                    .map(|e| e.timestamp)
                    .collect();
                (i, s, times.first().copied(), times.last().copied())
            })
            .collect();
        if by_time {
            streams.sort_by_key(|s| s.3);
        } else {
            streams.sort_by(|a, b| a.1.cmp(b.1));
        }
        if req.get("descending") == Some(&Value::Bool(true)) {
            streams.reverse();
        }
        let page: Vec<Value> = streams
            .iter()
            .skip(offset)
            .take(limit)
            .map(|(_, name, first, last)| {
                json!({
                    "logStreamName": name,
                    "creationTime": first.unwrap_or(g.created),
                    "firstEventTimestamp": first,
                    "lastEventTimestamp": last,
                    "lastIngestionTime": last,
                    "arn": format!("{}:log-stream:{name}", g.arn),
                })
            })
            .collect();
        let mut out = json!({"logStreams": page});
        if let Some(t) = next_token("ls-", offset, limit, streams.len()) {
            out["nextToken"] = json!(t);
        }
        Ok(out)
    }

    fn filter_log_events(&self, req: &Value, clock: Clock) -> ApiResult {
        let g = self.group(req)?;
        let names = strings_of(req, "logStreamNames");
        let prefix = str_of(req, "logStreamNamePrefix");
        if !names.is_empty() && prefix.is_some() {
            return Err(invalid(
                "logStreamNames and logStreamNamePrefix cannot be given together",
            ));
        }
        let pattern = FilterPattern::parse(str_of(req, "filterPattern").unwrap_or_default())
            .map_err(|m| invalid(&m))?;
        let start = int_of(req, "startTime").unwrap_or(i64::MIN);
        // Events scheduled after now have not happened yet.
        let end = int_of(req, "endTime")
            .unwrap_or(i64::MAX)
            .min(millis(clock.now));
        let limit = page_size(req, "limit", 10_000, 10_000, "InvalidParameterException")?;
        let offset = token_offset(req, "nextToken", "fe-", "InvalidParameterException")?;
        let stream_ok = |i: usize| {
            let name = g.streams.get(i).map(String::as_str).unwrap_or_default();
            (names.is_empty() || names.iter().any(|n| n == name))
                && prefix.is_none_or(|p| name.starts_with(p))
        };
        let matching: Vec<(usize, &Event)> = g
            .events
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.timestamp >= start
                    && e.timestamp <= end
                    && stream_ok(e.stream)
                    && pattern.matches(&e.message)
            })
            .collect();
        let page: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(limit)
            .map(|(i, e)| {
                json!({
                    "logStreamName": g.streams.get(e.stream),
                    "timestamp": e.timestamp,
                    "message": e.message,
                    "ingestionTime": e.timestamp + 180,
                    "eventId": format!("{:056}", i),
                })
            })
            .collect();
        let searched: Vec<Value> = g
            .streams
            .iter()
            .enumerate()
            .filter(|(i, _)| stream_ok(*i))
            .map(|(_, s)| json!({"logStreamName": s, "searchedCompletely": true}))
            .collect();
        let mut out = json!({"events": page, "searchedLogStreams": searched});
        if let Some(t) = next_token("fe-", offset, limit, matching.len()) {
            out["nextToken"] = json!(t);
        }
        Ok(out)
    }

    fn start_query(&mut self, req: &Value, clock: Clock) -> ApiResult {
        let mut ids = strings_of(req, "logGroupNames");
        ids.extend(strings_of(req, "logGroupIdentifiers"));
        if let Some(n) = str_of(req, "logGroupName") {
            ids.push(n.to_owned());
        }
        if ids.is_empty() {
            return Err(invalid(
                "give logGroupName, logGroupNames or logGroupIdentifiers",
            ));
        }
        let (Some(start), Some(end)) = (int_of(req, "startTime"), int_of(req, "endTime")) else {
            return Err(invalid(
                "startTime and endTime (epoch seconds) are required",
            ));
        };
        if start > end {
            return Err(invalid("startTime must be before endTime"));
        }
        let text = str_of(req, "queryString").unwrap_or_default();
        let query = Query::parse(text).map_err(|m| {
            ApiError::client(
                "MalformedQueryException",
                format!("Query is malformed: {m}"),
            )
        })?;
        let limit = page_size(req, "limit", 10_000, 10_000, "InvalidParameterException")?;
        let mut records = Vec::new();
        let mut scanned = 0usize;
        let mut bytes = 0usize;
        for id in &ids {
            let Some(g) = self.find(id) else {
                return Err(ApiError::client(
                    "ResourceNotFoundException",
                    format!("Log group '{id}' does not exist for account ID '123456789012'"),
                ));
            };
            for (i, e) in g.events.iter().enumerate() {
                let secs = e.timestamp.div_euclid(1000);
                if secs < start || secs > end || e.timestamp > millis(clock.now) {
                    continue;
                }
                scanned += 1;
                bytes += e.message.len();
                records.push(record(g, i, e));
            }
        }
        let (rows, matched) = query.run(records, limit);
        let results: Vec<Value> = rows
            .into_iter()
            .map(|row| {
                Value::Array(
                    row.into_iter()
                        .map(|(f, v)| json!({"field": f, "value": v}))
                        .collect(),
                )
            })
            .collect();
        self.next_query += 1;
        let id = format!(
            "{:08x}-5a1e-4000-8000-{:012x}",
            clock.now.timestamp(),
            self.next_query
        );
        #[allow(clippy::cast_precision_loss)]
        let statistics = json!({"recordsMatched": matched as f64, "recordsScanned": scanned as f64, "bytesScanned": bytes as f64});
        self.queries.insert(
            id.clone(),
            RunningQuery {
                polls_left: self.query_polls,
                results: Value::Array(results),
                statistics,
            },
        );
        self.query_order.push(id.clone());
        if self.query_order.len() > MAX_QUERIES {
            let old = self.query_order.remove(0);
            self.queries.remove(&old);
        }
        Ok(json!({"queryId": id}))
    }

    fn get_query_results(&mut self, req: &Value) -> ApiResult {
        let id = str_of(req, "queryId").unwrap_or_default();
        let Some(q) = self.queries.get_mut(id) else {
            return Err(ApiError::client(
                "ResourceNotFoundException",
                format!("Query {id:?} does not exist"),
            ));
        };
        if q.polls_left > 0 {
            q.polls_left -= 1;
            return Ok(
                json!({"status": "Running", "results": [], "statistics": {"recordsMatched": 0.0, "recordsScanned": 0.0, "bytesScanned": 0.0}}),
            );
        }
        Ok(json!({"status": "Complete", "results": q.results, "statistics": q.statistics}))
    }
}

fn invalid(message: &str) -> ApiError {
    ApiError::client("InvalidParameterException", message)
}

fn not_found() -> ApiError {
    ApiError::client(
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
}
