//! GetMetricData and ListMetrics.

use serde_json::{Value, json};

use super::expression;
use super::stats::{Stat, aggregate};
use super::{CloudWatch, Metric};
use crate::error::{ApiError, ApiResult};
use crate::req::{int_of, list_of, next_token, num_of, page_size, str_of, token_offset};
use crate::state::Clock;

/// The most native points one request may scan, over all its queries (bounds the work of a
/// silly time range: 200,000 is about 139 days of one-minute data).
const MAX_SCAN: i64 = 200_000;

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::client("ValidationError", message)
}

fn invalid_parameter(message: impl Into<String>) -> ApiError {
    ApiError::client("InvalidParameterValue", message)
}

/// Dimensions of a request (`[{Name, Value}]`).
fn dimensions(v: &Value) -> Vec<(String, String)> {
    list_of(v, "Dimensions")
        .iter()
        .filter_map(|d| {
            Some((
                str_of(d, "Name")?.to_owned(),
                str_of(d, "Value")?.to_owned(),
            ))
        })
        .collect()
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && id.len() <= 255
}

/// One computed result before paging.
struct Computed {
    id: String,
    label: String,
    points: Vec<(i64, f64)>,
}

pub fn get_metric_data(cw: &CloudWatch, req: &Value, clock: Clock) -> ApiResult {
    let queries = match req.get("MetricDataQueries") {
        Some(Value::Array(q)) => q,
        _ => {
            return Err(validation(
                "1 validation error detected: Value null at 'metricDataQueries' failed to satisfy constraint: Member must not be null",
            ));
        }
    };
    if queries.is_empty() || queries.len() > 500 {
        return Err(validation(
            "MetricDataQueries must hold between 1 and 500 queries",
        ));
    }
    let (Some(start), Some(end)) = (num_of(req, "StartTime"), num_of(req, "EndTime")) else {
        return Err(validation("StartTime and EndTime are required"));
    };
    if start >= end {
        return Err(validation(
            "The parameter StartTime must be less than the parameter EndTime.",
        ));
    }
    #[allow(clippy::cast_possible_truncation)]
    let (start, end) = (start.floor() as i64, end.ceil() as i64);
    let ascending = match str_of(req, "ScanBy") {
        None | Some("TimestampDescending") => false,
        Some("TimestampAscending") => true,
        Some(other) => {
            return Err(validation(format!(
                "ScanBy must be TimestampDescending or TimestampAscending, not {other:?}"
            )));
        }
    };
    let max_points = page_size(req, "MaxDatapoints", 100_800, 100_800, "ValidationError")?;
    let offset = token_offset(req, "NextToken", "gmd-", "InvalidNextToken")?;
    // Data exists up to the current minute.
    let now = clock.now.timestamp() + 1;
    let mut computed: Vec<Computed> = Vec::new();
    let mut budget = MAX_SCAN;
    for (i, q) in queries.iter().enumerate() {
        let n = i + 1;
        let id = str_of(q, "Id").unwrap_or_default();
        if !valid_id(id) {
            return Err(validation(format!(
                "The value {id:?} for parameter MetricDataQueries.member.{n}.Id is not valid: it must start with a lowercase letter and hold only letters, digits and underscores."
            )));
        }
        if computed.iter().any(|c| c.id == id) {
            return Err(validation(format!(
                "The value {id} for parameter MetricDataQueries.member.{n}.Id is not unique."
            )));
        }
        let points = match (q.get("MetricStat"), str_of(q, "Expression")) {
            (Some(stat), None) => metric_stat(cw, stat, n, start, end.min(now), &mut budget)?,
            (None, Some(text)) => return Err(expression::unsupported(&expression::parse(text)?)),
            _ => {
                return Err(validation(format!(
                    "MetricDataQueries.member.{n} must have exactly one of MetricStat and Expression"
                )));
            }
        };
        let label = str_of(q, "Label")
            .map(str::to_owned)
            .or_else(|| {
                q.pointer("/MetricStat/Metric/MetricName")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| id.to_owned());
        if q.get("ReturnData") == Some(&Value::Bool(false)) {
            continue;
        }
        let mut points = points;
        if !ascending {
            points.reverse();
        }
        computed.push(Computed {
            id: id.to_owned(),
            label,
            points,
        });
    }
    // Page over all datapoints of all results, in order.
    let total: usize = computed.iter().map(|c| c.points.len()).sum();
    let mut skip = offset;
    let mut budget = max_points;
    let mut results = Vec::new();
    for c in computed {
        let here = c.points.len();
        let from = skip.min(here);
        skip -= from;
        let take = (here - from).min(budget);
        budget -= take;
        let slice = c.points.get(from..from + take).unwrap_or_default();
        let complete = from + take == here;
        results.push(json!({
            "Id": c.id,
            "Label": c.label,
            "Timestamps": slice.iter().map(|p| p.0).collect::<Vec<_>>(),
            "Values": slice.iter().map(|p| p.1).collect::<Vec<_>>(),
            "StatusCode": if complete { "Complete" } else { "PartialData" },
            "Messages": [],
        }));
    }
    let mut out = json!({"MetricDataResults": results, "Messages": []});
    if let Some(token) = next_token("gmd-", offset, max_points - budget, total) {
        out["NextToken"] = json!(token);
    }
    Ok(out)
}

/// The aggregated points of one `MetricStat`, oldest first.
fn metric_stat(
    cw: &CloudWatch,
    stat: &Value,
    n: usize,
    start: i64,
    end: i64,
    budget: &mut i64,
) -> Result<Vec<(i64, f64)>, ApiError> {
    let metric = stat.get("Metric").unwrap_or(&Value::Null);
    let namespace = str_of(metric, "Namespace").unwrap_or_default();
    let name = str_of(metric, "MetricName").unwrap_or_default();
    if name.is_empty() {
        return Err(validation(format!(
            "MetricDataQueries.member.{n}.MetricStat.Metric.MetricName is required"
        )));
    }
    let period = int_of(stat, "Period").unwrap_or(0);
    if period < 1 || !(matches!(period, 1 | 5 | 10 | 30) || period % 60 == 0) {
        return Err(invalid_parameter(format!(
            "The parameter MetricDataQueries.member.{n}.MetricStat.Period must be 1, 5, 10, 30 or a multiple of 60 (got {period})."
        )));
    }
    let stat_name = str_of(stat, "Stat").unwrap_or_default();
    let Some(statistic) = Stat::parse(stat_name) else {
        return Err(invalid_parameter(format!(
            "The parameter MetricDataQueries.member.{n}.MetricStat.Stat {stat_name:?} is not supported by the simulator: use Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p95."
        )));
    };
    let Some(m) = cw.find(namespace, name, &dimensions(metric)) else {
        // CloudWatch answers an unknown metric with no data, not an error.
        return Ok(Vec::new());
    };
    if let (Some(unit), Some(have)) = (str_of(stat, "Unit"), m.unit.as_deref())
        && unit != have
    {
        return Ok(Vec::new());
    }
    let from = start.max(m.since);
    if from >= end {
        return Ok(Vec::new());
    }
    let scan = (end - from) / m.series.period.max(1);
    if scan > *budget {
        return Err(validation(
            "The time range asks for too many datapoints; shorten it or ask fewer queries.",
        ));
    }
    *budget -= scan;
    Ok(aggregate(
        &m.series.points_between(from, end),
        period,
        statistic,
    ))
}

pub fn list_metrics(cw: &CloudWatch, req: &Value) -> ApiResult {
    let namespace = str_of(req, "Namespace");
    let name = str_of(req, "MetricName");
    let filters: Vec<(String, Option<String>)> = list_of(req, "Dimensions")
        .iter()
        .filter_map(|d| {
            Some((
                str_of(d, "Name")?.to_owned(),
                str_of(d, "Value").map(str::to_owned),
            ))
        })
        .collect();
    let offset = token_offset(req, "NextToken", "lm-", "InvalidNextToken")?;
    let matching: Vec<&Metric> = cw
        .metrics
        .iter()
        .filter(|m| namespace.is_none_or(|n| m.namespace == n))
        .filter(|m| name.is_none_or(|n| m.name == n))
        .filter(|m| {
            filters.iter().all(|(k, v)| {
                m.dimensions
                    .iter()
                    .any(|(mk, mv)| mk == k && v.as_ref().is_none_or(|v| v == mv))
            })
        })
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(500)
        .map(|m| m.to_api())
        .collect();
    let mut out = json!({"Metrics": page});
    if let Some(token) = next_token("lm-", offset, 500, matching.len()) {
        out["NextToken"] = json!(token);
    }
    Ok(out)
}
