//! Metric alarms: the scenario's alarms, their reasons (computed from the metric's generated
//! data unless the scenario writes one) and their history. The API calls on them are in [`api`].

mod api;

pub use api::{describe_alarm_history, describe_alarms, set_alarm_state};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::cloudwatch::CloudWatch;
use crate::cloudwatch::stats::{Stat, aggregate};
use crate::time::When;

/// An alarm's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateValue {
    Ok,
    Alarm,
    InsufficientData,
}

impl StateValue {
    pub fn parse(s: &str) -> Option<StateValue> {
        match s {
            "OK" => Some(StateValue::Ok),
            "ALARM" => Some(StateValue::Alarm),
            "INSUFFICIENT_DATA" => Some(StateValue::InsufficientData),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StateValue::Ok => "OK",
            StateValue::Alarm => "ALARM",
            StateValue::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

const COMPARISONS: &[(&str, &str)] = &[
    ("GreaterThanOrEqualToThreshold", "greater than or equal to"),
    ("GreaterThanThreshold", "greater than"),
    ("LessThanThreshold", "less than"),
    ("LessThanOrEqualToThreshold", "less than or equal to"),
];

/// An alarm as a scenario writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmSpec {
    name: String,
    description: Option<String>,
    namespace: String,
    metric: String,
    #[serde(default)]
    dimensions: Map<String, Value>,
    #[serde(default = "average")]
    statistic: String,
    #[serde(default = "sixty")]
    period: i64,
    #[serde(default = "one")]
    evaluation_periods: i64,
    datapoints_to_alarm: Option<i64>,
    threshold: f64,
    comparison: String,
    #[serde(default = "missing")]
    treat_missing_data: String,
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    ok_actions: Vec<String>,
    #[serde(default = "yes")]
    actions_enabled: bool,
    #[serde(default = "ok")]
    state: String,
    reason: Option<String>,
    /// When the state last changed (default `-1h`).
    updated_at: Option<When>,
    /// When the alarm was created (default `-30d`).
    created_at: Option<When>,
    /// Replaces the generated history.
    history: Option<Vec<HistorySpec>>,
}

fn average() -> String {
    "Average".into()
}
fn sixty() -> i64 {
    60
}
fn one() -> i64 {
    1
}
fn missing() -> String {
    "missing".into()
}
fn yes() -> bool {
    true
}
fn ok() -> String {
    "OK".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistorySpec {
    at: When,
    #[serde(rename = "type")]
    kind: String,
    summary: Option<String>,
    from: Option<String>,
    to: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Clone)]
struct HistoryItem {
    at: i64,
    kind: &'static str,
    summary: String,
    data: String,
}

/// A metric alarm.
#[derive(Debug, Clone)]
pub(crate) struct Alarm {
    pub name: String,
    arn: String,
    description: Option<String>,
    namespace: String,
    metric: String,
    dimensions: Vec<(String, String)>,
    statistic: String,
    period: i64,
    evaluation_periods: i64,
    datapoints_to_alarm: i64,
    threshold: f64,
    comparison: String,
    treat_missing_data: String,
    actions_enabled: bool,
    actions: Vec<String>,
    ok_actions: Vec<String>,
    pub state: StateValue,
    reason: String,
    reason_data: Option<String>,
    updated: i64,
    transitioned: i64,
    configured: i64,
    history: Vec<HistoryItem>,
}

type FieldError = (String, String);

fn err(field: &str, message: impl Into<String>) -> FieldError {
    (field.to_owned(), message.into())
}

impl Alarm {
    /// Resolves a scenario alarm; errors name the field.
    pub fn resolve(
        spec: &AlarmSpec,
        cw: &CloudWatch,
        start: DateTime<Utc>,
    ) -> Result<Alarm, FieldError> {
        let state = StateValue::parse(&spec.state)
            .ok_or_else(|| err("state", "must be OK, ALARM or INSUFFICIENT_DATA"))?;
        if !COMPARISONS.iter().any(|(c, _)| *c == spec.comparison) {
            return Err(err(
                "comparison",
                format!(
                    "must be one of {}",
                    COMPARISONS
                        .iter()
                        .map(|c| c.0)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if Stat::parse(&spec.statistic).is_none() {
            return Err(err(
                "statistic",
                "must be Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p95",
            ));
        }
        if spec.period < 10 || spec.evaluation_periods < 1 {
            return Err(err(
                "period",
                "period must be ≥ 10 seconds and evaluation_periods ≥ 1",
            ));
        }
        let dimensions = spec
            .dimensions
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect();
        let at = |w: &Option<When>, default: i64, field: &str| -> Result<i64, FieldError> {
            match w {
                Some(w) => w
                    .at(start)
                    .map(|t| t.timestamp())
                    .ok_or_else(|| err(field, "not a time")),
                None => Ok(start.timestamp() + default),
            }
        };
        let updated = at(&spec.updated_at, -3600, "updated_at")?;
        let configured = at(&spec.created_at, -30 * 86_400, "created_at")?;
        let mut alarm = Alarm {
            name: spec.name.clone(),
            arn: format!(
                "arn:aws:cloudwatch:{}:{}:alarm:{}",
                cw.region, cw.account, spec.name
            ),
            description: spec.description.clone(),
            namespace: spec.namespace.clone(),
            metric: spec.metric.clone(),
            dimensions,
            statistic: spec.statistic.clone(),
            period: spec.period,
            evaluation_periods: spec.evaluation_periods,
            datapoints_to_alarm: spec.datapoints_to_alarm.unwrap_or(spec.evaluation_periods),
            threshold: spec.threshold,
            comparison: spec.comparison.clone(),
            treat_missing_data: spec.treat_missing_data.clone(),
            actions_enabled: spec.actions_enabled,
            actions: spec.actions.clone(),
            ok_actions: spec.ok_actions.clone(),
            state,
            reason: String::new(),
            reason_data: None,
            updated,
            transitioned: updated,
            configured,
            history: Vec::new(),
        };
        let (reason, data) = match &spec.reason {
            Some(r) => (r.clone(), None),
            None => alarm.evaluated_reason(cw, updated),
        };
        alarm.reason = reason;
        alarm.reason_data = data;
        alarm.history = match &spec.history {
            Some(items) => {
                let mut out = Vec::new();
                for (i, h) in items.iter().enumerate() {
                    out.push(
                        alarm
                            .history_item(h, start)
                            .map_err(|(f, m)| (format!("history[{i}].{f}"), m))?,
                    );
                }
                out
            }
            None => alarm.generated_history(),
        };
        Ok(alarm)
    }

    fn comparison_words(&self) -> &'static str {
        COMPARISONS
            .iter()
            .find(|(c, _)| *c == self.comparison)
            .map_or("compared with", |c| c.1)
    }

    fn breaches(&self, v: f64) -> bool {
        match self.comparison.as_str() {
            "GreaterThanOrEqualToThreshold" => v >= self.threshold,
            "GreaterThanThreshold" => v > self.threshold,
            "LessThanThreshold" => v < self.threshold,
            _ => v <= self.threshold,
        }
    }

    /// The reason CloudWatch would have written when the state changed at `at`.
    fn evaluated_reason(&self, cw: &CloudWatch, at: i64) -> (String, Option<String>) {
        let n = self.datapoints_to_alarm.max(1);
        let points = match (
            cw.find(&self.namespace, &self.metric, &self.dimensions),
            Stat::parse(&self.statistic),
        ) {
            (Some(m), Some(stat)) => {
                let from = at - self.period * self.evaluation_periods;
                aggregate(
                    &m.series.points_between(from.max(m.since), at),
                    self.period,
                    stat,
                )
            }
            _ => Vec::new(),
        };
        if points.is_empty() || self.state == StateValue::InsufficientData {
            let s = if n == 1 { "" } else { "s" };
            return (
                format!(
                    "Insufficient Data: {n} datapoint{s} {} unknown.",
                    if n == 1 { "was" } else { "were" }
                ),
                None,
            );
        }
        let recent: Vec<&(i64, f64)> = points
            .iter()
            .rev()
            .take(usize::try_from(n).unwrap_or(1))
            .collect();
        let listed = recent
            .iter()
            .map(|(t, v)| {
                format!(
                    "{} ({})",
                    round(*v),
                    DateTime::from_timestamp(*t, 0)
                        .map(|d| d.format("%d/%m/%y %H:%M:%S").to_string())
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let breaching = recent.iter().filter(|(_, v)| self.breaches(*v)).count();
        let (verb, transition, count) = match self.state {
            StateValue::Alarm => ("", "OK -> ALARM", breaching),
            StateValue::Ok | StateValue::InsufficientData => {
                ("not ", "ALARM -> OK", recent.len() - breaching)
            }
        };
        let plural = if recent.len() == 1 {
            ("", "was")
        } else {
            ("s", "were")
        };
        let reason = format!(
            "Threshold Crossed: {count} out of the last {} datapoint{} [{listed}] {} {verb}{} the threshold ({:?}) (minimum {n} datapoint{} for {transition} transition).",
            recent.len(),
            plural.0,
            plural.1,
            self.comparison_words(),
            self.threshold,
            if n == 1 { "" } else { "s" },
        );
        let data = json!({
            "version": "1.0",
            "queryDate": ts_text(at),
            "startDate": recent.last().map(|p| ts_text(p.0)),
            "statistic": self.statistic,
            "period": self.period,
            "recentDatapoints": recent.iter().map(|p| round(p.1)).collect::<Vec<_>>(),
            "threshold": self.threshold,
            "evaluatedDatapoints": recent.iter().map(|(t, v)| json!({"timestamp": ts_text(*t), "sampleCount": 1.0, "value": round(*v)})).collect::<Vec<_>>(),
        });
        (reason, Some(data.to_string()))
    }

    fn state_update(&self, at: i64, from: &str, to: &str, reason: &str) -> HistoryItem {
        HistoryItem {
            at,
            kind: "StateUpdate",
            summary: format!("Alarm updated from {from} to {to}"),
            data: json!({
                "version": "1.0",
                "oldState": {"stateValue": from},
                "newState": {"stateValue": to, "stateReason": reason},
            })
            .to_string(),
        }
    }

    fn actions_for(&self, at: i64, state: StateValue) -> Vec<HistoryItem> {
        let arns = match state {
            StateValue::Alarm => &self.actions,
            StateValue::Ok => &self.ok_actions,
            StateValue::InsufficientData => return Vec::new(),
        };
        if !self.actions_enabled {
            return Vec::new();
        }
        arns.iter()
            .map(|arn| HistoryItem {
                // Actions run just after the state change that triggers them.
                at: at + 1,
                kind: "Action",
                summary: format!("Successfully executed action {arn}"),
                data: json!({"actionState": "Succeeded", "notificationResource": arn}).to_string(),
            })
            .collect()
    }

    fn generated_history(&self) -> Vec<HistoryItem> {
        let mut h = vec![
            HistoryItem {
                at: self.configured,
                kind: "ConfigurationUpdate",
                summary: format!("Alarm \"{}\" created", self.name),
                data: json!({"version": "1.0", "type": "Create", "createdAlarm": {"alarmName": self.name, "namespace": self.namespace, "metricName": self.metric, "threshold": self.threshold, "comparisonOperator": self.comparison}}).to_string(),
            },
            self.state_update(self.configured + 60, "INSUFFICIENT_DATA", "OK", "Threshold Crossed: no datapoints were breaching the threshold"),
        ];
        if self.state != StateValue::Ok {
            h.push(self.state_update(self.updated, "OK", self.state.as_str(), &self.reason));
            h.extend(self.actions_for(self.updated, self.state));
        }
        h
    }

    fn history_item(
        &self,
        spec: &HistorySpec,
        start: DateTime<Utc>,
    ) -> Result<HistoryItem, FieldError> {
        let at = spec
            .at
            .at(start)
            .map(|t| t.timestamp())
            .ok_or_else(|| err("at", "not a time"))?;
        match spec.kind.as_str() {
            "StateUpdate" => {
                let from = spec.from.as_deref().unwrap_or("OK");
                let to = spec.to.as_deref().unwrap_or(self.state.as_str());
                for (field, s) in [("from", from), ("to", to)] {
                    if StateValue::parse(s).is_none() {
                        return Err(err(field, "must be OK, ALARM or INSUFFICIENT_DATA"));
                    }
                }
                let mut item =
                    self.state_update(at, from, to, spec.reason.as_deref().unwrap_or(&self.reason));
                if let Some(s) = &spec.summary {
                    item.summary.clone_from(s);
                }
                Ok(item)
            }
            "ConfigurationUpdate" | "Action" => Ok(HistoryItem {
                at,
                kind: if spec.kind == "Action" {
                    "Action"
                } else {
                    "ConfigurationUpdate"
                },
                summary: spec
                    .summary
                    .clone()
                    .unwrap_or_else(|| format!("Alarm \"{}\" updated", self.name)),
                data: "{}".into(),
            }),
            _ => Err(err(
                "type",
                "must be StateUpdate, ConfigurationUpdate or Action",
            )),
        }
    }

    fn to_api(&self) -> Value {
        let mut a = json!({
            "AlarmName": self.name,
            "AlarmArn": self.arn,
            "AlarmConfigurationUpdatedTimestamp": self.configured,
            "ActionsEnabled": self.actions_enabled,
            "OKActions": self.ok_actions,
            "AlarmActions": self.actions,
            "InsufficientDataActions": [],
            "StateValue": self.state.as_str(),
            "StateReason": self.reason,
            "StateUpdatedTimestamp": self.updated,
            "StateTransitionedTimestamp": self.transitioned,
            "MetricName": self.metric,
            "Namespace": self.namespace,
            "Dimensions": self.dimensions.iter().map(|(n, v)| json!({"Name": n, "Value": v})).collect::<Vec<_>>(),
            "Period": self.period,
            "EvaluationPeriods": self.evaluation_periods,
            "DatapointsToAlarm": self.datapoints_to_alarm,
            "Threshold": self.threshold,
            "ComparisonOperator": self.comparison,
            "TreatMissingData": self.treat_missing_data,
        });
        if matches!(Stat::parse(&self.statistic), Some(Stat::Percentile(_))) {
            a["ExtendedStatistic"] = json!(self.statistic);
        } else {
            a["Statistic"] = json!(self.statistic);
        }
        if let Some(d) = &self.description {
            a["AlarmDescription"] = json!(d);
        }
        if let Some(d) = &self.reason_data {
            a["StateReasonData"] = json!(d);
        }
        a
    }
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn ts_text(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
        .unwrap_or_default()
}
