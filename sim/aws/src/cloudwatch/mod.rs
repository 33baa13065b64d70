//! CloudWatch metrics and alarms: the `cloudwatch` scenario section and the operations
//! GetMetricData, ListMetrics, DescribeAlarms, DescribeAlarmHistory and SetAlarmState.

mod alarms;
mod expression;
mod history;
mod metrics;
pub(crate) mod series;
pub(crate) mod stats;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult, AwsSimError, decode};
use crate::faults::Fault;
use crate::state::Clock;
use crate::time::Span;

pub(crate) use alarms::Alarm;
use alarms::AlarmSpec;
pub use history::MetricHistory;
use series::{Series, SeriesSpec};

const SECTION: &str = "cloudwatch";

/// The `cloudwatch` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    /// Region in alarm ARNs (default `us-east-1`).
    region: Option<String>,
    /// Account id in alarm ARNs (default `123456789012`).
    account: Option<String>,
    #[serde(default)]
    metrics: Vec<MetricSpec>,
    #[serde(default)]
    alarms: Vec<AlarmSpec>,
    #[serde(default)]
    faults: Vec<Fault>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricSpec {
    namespace: String,
    name: String,
    #[serde(default)]
    dimensions: Map<String, Value>,
    /// Unit of the values, e.g. `Percent`, `Count`, `Seconds`.
    unit: Option<String>,
    /// Native resolution (default `1m`).
    period: Option<Span>,
    /// How far back data exists (default `1d`).
    history: Option<Span>,
    #[serde(default)]
    series: SeriesSpec,
}

/// One metric: its identity and its generated data.
#[derive(Debug, Clone)]
pub(crate) struct Metric {
    pub namespace: String,
    pub name: String,
    /// In the order the scenario gives them.
    pub dimensions: Vec<(String, String)>,
    pub unit: Option<String>,
    /// Epoch seconds of the oldest data.
    pub since: i64,
    pub series: Series,
}

impl Metric {
    /// Whether this metric has exactly these dimensions (CloudWatch matches the whole set).
    pub fn is(&self, namespace: &str, name: &str, dimensions: &[(String, String)]) -> bool {
        self.namespace == namespace
            && self.name == name
            && self.dimensions.len() == dimensions.len()
            && dimensions.iter().all(|d| self.dimensions.contains(d))
    }

    /// `{Namespace, MetricName, Dimensions}` as the API shows a metric.
    pub fn to_api(&self) -> Value {
        serde_json::json!({
            "Namespace": self.namespace,
            "MetricName": self.name,
            "Dimensions": self.dimensions.iter()
                .map(|(n, v)| serde_json::json!({"Name": n, "Value": v}))
                .collect::<Vec<_>>(),
        })
    }
}

/// The simulated CloudWatch.
#[derive(Debug, Default)]
pub(crate) struct CloudWatch {
    pub metrics: Vec<Metric>,
    pub alarms: Vec<Alarm>,
    pub region: String,
    pub account: String,
}

impl CloudWatch {
    /// Loads the section (absent means no metrics and no alarms).
    pub fn from_section(
        section: Option<&Value>,
        start: DateTime<Utc>,
    ) -> Result<(CloudWatch, Vec<Fault>), AwsSimError> {
        let s: Section = match section {
            Some(v) => decode(SECTION, v)?,
            None => Section::default(),
        };
        let mut cw = CloudWatch {
            region: s.region.unwrap_or_else(|| "us-east-1".into()),
            account: s.account.unwrap_or_else(|| "123456789012".into()),
            ..CloudWatch::default()
        };
        for (i, m) in s.metrics.iter().enumerate() {
            let field = |f: &str| format!("metrics[{i}].{f}");
            let mut dimensions = Vec::new();
            for (k, v) in &m.dimensions {
                let value = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => {
                        return Err(AwsSimError::scenario(
                            SECTION,
                            field(&format!("dimensions.{k}")),
                            "a dimension value must be a string",
                        ));
                    }
                };
                dimensions.push((k.clone(), value));
            }
            if dimensions.len() > 30 {
                return Err(AwsSimError::scenario(
                    SECTION,
                    field("dimensions"),
                    "at most 30 dimensions",
                ));
            }
            let period = m.period.map_or(60, |p| p.0.num_seconds());
            let history = m.history.map_or(86_400, |h| h.0.num_seconds());
            let identity = format!("{}|{}|{:?}", m.namespace, m.name, dimensions);
            let series =
                Series::resolve(&m.series, start, period, &identity).map_err(|(f, msg)| {
                    AwsSimError::scenario(SECTION, field(&format!("series.{f}")), msg)
                })?;
            if cw
                .metrics
                .iter()
                .any(|x| x.is(&m.namespace, &m.name, &dimensions))
            {
                return Err(AwsSimError::scenario(
                    SECTION,
                    field("dimensions"),
                    format!(
                        "metric {}/{} with these dimensions is defined twice",
                        m.namespace, m.name
                    ),
                ));
            }
            cw.metrics.push(Metric {
                namespace: m.namespace.clone(),
                name: m.name.clone(),
                dimensions,
                unit: m.unit.clone(),
                since: start.timestamp() - history,
                series,
            });
        }
        for (i, a) in s.alarms.iter().enumerate() {
            let alarm = Alarm::resolve(a, &cw, start).map_err(|(f, msg)| {
                AwsSimError::scenario(SECTION, format!("alarms[{i}].{f}"), msg)
            })?;
            if cw.alarms.iter().any(|x| x.name == alarm.name) {
                return Err(AwsSimError::scenario(
                    SECTION,
                    format!("alarms[{i}].name"),
                    "duplicate alarm name",
                ));
            }
            cw.alarms.push(alarm);
        }
        Ok((cw, s.faults))
    }

    /// Answers one operation.
    pub fn handle(&mut self, operation: &str, request: &Value, clock: Clock) -> ApiResult {
        match operation {
            "GetMetricData" => metrics::get_metric_data(self, request, clock),
            "ListMetrics" => metrics::list_metrics(self, request),
            "DescribeAlarms" => alarms::describe_alarms(self, request),
            "DescribeAlarmHistory" => alarms::describe_alarm_history(self, request, clock),
            "SetAlarmState" => alarms::set_alarm_state(self, request, clock),
            other => Err(ApiError::client(
                "UnknownOperationException",
                format!(
                    "the simulated CloudWatch does not implement {other}; it serves GetMetricData, ListMetrics, DescribeAlarms, DescribeAlarmHistory and SetAlarmState"
                ),
            )),
        }
    }

    /// An alarm's state value.
    pub fn alarm_state(&self, name: &str) -> Option<String> {
        self.alarms
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.state.as_str().to_owned())
    }

    /// The metric with exactly these dimensions.
    pub fn find(
        &self,
        namespace: &str,
        name: &str,
        dimensions: &[(String, String)],
    ) -> Option<&Metric> {
        self.metrics
            .iter()
            .find(|m| m.is(namespace, name, dimensions))
    }
}
