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
    /// Why the result is empty, for its `Messages` (e.g. no band without history).
    message: Option<String>,
}

/// One validated query, in request order.
struct Query<'a> {
    n: usize,
    id: &'a str,
    body: &'a Value,
    returned: bool,
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
    let end = end.min(now);
    let mut checked: Vec<Query<'_>> = Vec::with_capacity(queries.len());
    for (i, q) in queries.iter().enumerate() {
        let n = i + 1;
        let id = str_of(q, "Id").unwrap_or_default();
        if !valid_id(id) {
            return Err(validation(format!(
                "The value {id:?} for parameter MetricDataQueries.member.{n}.Id is not valid: it must start with a lowercase letter and hold only letters, digits and underscores."
            )));
        }
        if checked.iter().any(|c| c.id == id) {
            return Err(validation(format!(
                "The value {id} for parameter MetricDataQueries.member.{n}.Id is not unique."
            )));
        }
        if q.get("MetricStat").is_some() == str_of(q, "Expression").is_some() {
            return Err(validation(format!(
                "MetricDataQueries.member.{n} must have exactly one of MetricStat and Expression"
            )));
        }
        checked.push(Query {
            n,
            id,
            body: q,
            returned: q.get("ReturnData") != Some(&Value::Bool(false)),
        });
    }
    let mut budget = MAX_SCAN;
    let mut computed: Vec<Computed> = Vec::new();
    for q in &checked {
        let label = str_of(q.body, "Label").map(str::to_owned);
        if let Some(text) = str_of(q.body, "Expression") {
            let expression::Expression::AnomalyDetectionBand { metric_id, width } =
                expression::parse(text)?;
            let Some(stat) = checked
                .iter()
                .find(|c| c.id == metric_id)
                .and_then(|c| c.body.get("MetricStat"))
            else {
                return Err(validation(format!(
                    "MetricDataQueries.member.{}: {text} refers to {metric_id:?}, which is not a MetricStat query of this request",
                    q.n
                )));
            };
            if !q.returned {
                continue;
            }
            let metric_name = stat
                .pointer("/Metric/MetricName")
                .and_then(Value::as_str)
                .unwrap_or(metric_id.as_str());
            let label = label.unwrap_or_else(|| format!("{metric_name} (expected)"));
            let (upper, lower, message) =
                match band_of(cw, stat, q.n, start, end, width, &mut budget)? {
                    Ok(b) => (b.upper, b.lower, None),
                    Err(why) => (Vec::new(), Vec::new(), Some(why)),
                };
            for (suffix, points) in [("Upper", upper), ("Lower", lower)] {
                computed.push(Computed {
                    id: q.id.to_owned(),
                    label: format!("{label} {suffix}"),
                    points,
                    message: message.clone(),
                });
            }
        } else if let Some(stat) = q.body.get("MetricStat") {
            let points = metric_stat(cw, stat, q.n, start, end, &mut budget)?;
            if !q.returned {
                continue;
            }
            let label = label
                .or_else(|| {
                    stat.pointer("/Metric/MetricName")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| q.id.to_owned());
            computed.push(Computed {
                id: q.id.to_owned(),
                label,
                points,
                message: None,
            });
        }
    }
    if !ascending {
        for c in &mut computed {
            c.points.reverse();
        }
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
        let messages: Vec<Value> = c
            .message
            .iter()
            .map(|m| json!({"Code": "InsufficientData", "Value": m}))
            .collect();
        results.push(json!({
            "Id": c.id,
            "Label": c.label,
            "Timestamps": slice.iter().map(|p| p.0).collect::<Vec<_>>(),
            "Values": slice.iter().map(|p| p.1).collect::<Vec<_>>(),
            "StatusCode": if complete { "Complete" } else { "PartialData" },
            "Messages": messages,
        }));
    }
    let mut out = json!({"MetricDataResults": results, "Messages": []});
    if let Some(token) = next_token("gmd-", offset, max_points - budget, total) {
        out["NextToken"] = json!(token);
    }
    Ok(out)
}

/// `ANOMALY_DETECTION_BAND` over the metric of `stat`, trained on up to two weeks before
/// `start`. The outer error is the request's; the inner one says why there is no band.
fn band_of(
    cw: &CloudWatch,
    stat: &Value,
    n: usize,
    start: i64,
    end: i64,
    width: f64,
    budget: &mut i64,
) -> Result<Result<expression::BandSeries, String>, ApiError> {
    let period = int_of(stat, "Period").unwrap_or(0).max(1);
    // Train on whole periods, so the band's grid is the metric's.
    let train_start = (start.min(end) - expression::TRAINING_SECONDS).div_euclid(period) * period;
    let history = metric_stat(cw, stat, n, train_start, end, budget)?;
    Ok(expression::band(&history, period, start, end, width))
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
