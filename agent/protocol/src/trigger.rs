//! What started a run, normalised from the payloads SOPilot receives.
//!
//! SOPs read triggers in templates (`{{ trigger.alarm.name }}`) and policies in `when`
//! expressions (`trigger.kind == "cloudwatch_alarm"`), so the serialised shape is part of the
//! SOP and policy formats: a `kind` tag plus one field named after the kind's subject.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::investigation::{self, Investigation};

/// A normalised trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// A CloudWatch alarm state change, delivered by SNS or EventBridge.
    CloudwatchAlarm { source: AlarmSource, alarm: Alarm },
    /// One Alertmanager alert group (webhook v4); `alert` is its first firing alert.
    Alertmanager { group: AlertGroup, alert: Alert },
    /// A Kubernetes event (BackOff, OOMKilling, FailedScheduling, node pressure, ...).
    KubernetesEvent { event: KubeEvent },
    /// A request in a Slack channel (mention or slash command).
    Slack { request: SlackRequest },
    /// A scheduled (cron) run.
    Schedule { schedule: ScheduleFire },
    /// A CloudWatch investigation's state, delivered by EventBridge (`aws.aiops`): its
    /// hypotheses and findings, redacted and bounded.
    Investigation { investigation: Investigation },
    /// Started by hand (`sopilot run`, the API, the IDE).
    Manual {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
}

/// How a CloudWatch alarm reached SOPilot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmSource {
    Sns,
    Eventbridge,
}

/// A CloudWatch alarm state change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    pub name: String,
    /// `ALARM`, `OK` or `INSUFFICIENT_DATA`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<AlarmMetric>,
}

/// The metric an alarm watches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmMetric {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

/// An Alertmanager webhook (v4) group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertGroup {
    pub group_key: String,
    pub status: String,
    #[serde(default)]
    pub receiver: String,
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub alerts: Vec<Alert>,
}

/// One Alertmanager alert.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub status: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_url: Option<String>,
}

/// A Kubernetes event, from core/v1 or events.k8s.io/v1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KubeEvent {
    pub reason: String,
    /// `Normal` or `Warning`.
    #[serde(default, rename = "type")]
    pub event_type: String,
    #[serde(default)]
    pub message: String,
    #[serde(default = "one")]
    pub count: i64,
    pub object: KubeObject,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// The target whose cluster the event came from, set by that target's watcher only: a
    /// payload can never claim it.
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

fn one() -> i64 {
    1
}

/// The object an event is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubeObject {
    pub kind: String,
    #[serde(default)]
    pub namespace: String,
    pub name: String,
}

/// A request made in Slack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackRequest {
    pub channel: String,
    pub user: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
}

/// A cron schedule firing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleFire {
    pub name: String,
    pub cron: String,
    pub fired_at: String,
}

/// A payload that is not a trigger SOPilot understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriggerError {
    #[error(
        "unrecognised trigger payload: expected an SNS notification, an EventBridge \"CloudWatch Alarm State Change\" or CloudWatch investigation (aws.aiops) event, an Alertmanager webhook (version 4), a Kubernetes Event, or a SOPilot trigger with a \"kind\""
    )]
    Unrecognised,
    #[error("this is an SNS {0}, not an alarm notification; `sopilot serve` handles subscriptions")]
    NotANotification(String),
    #[error("{what} payload is missing {field}")]
    Missing {
        what: &'static str,
        field: &'static str,
    },
    #[error("{what} payload is malformed: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error("the Alertmanager group has no alerts")]
    EmptyAlertGroup,
}

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    (k.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Trigger {
    /// Normalises any payload SOPilot accepts: an SNS notification carrying a CloudWatch
    /// alarm, an EventBridge alarm state change, an Alertmanager webhook, a Kubernetes
    /// Event (core/v1 or events.k8s.io/v1), or an already-normalised trigger.
    pub fn from_payload(payload: &Value) -> Result<Trigger, TriggerError> {
        if let Some(t) = payload.get("Type").and_then(Value::as_str) {
            return if t == "Notification" {
                parse_sns(payload)
            } else {
                Err(TriggerError::NotANotification(t.to_owned()))
            };
        }
        if payload.get("detail-type").and_then(Value::as_str)
            == Some("CloudWatch Alarm State Change")
        {
            return parse_eventbridge(payload);
        }
        if investigation::is_investigation(payload) {
            return investigation::parse(payload)
                .map(|investigation| Trigger::Investigation { investigation });
        }
        if payload.get("alerts").is_some() && payload.get("groupKey").is_some() {
            return parse_alertmanager(payload);
        }
        if payload.get("kind").and_then(Value::as_str) == Some("Event") {
            return parse_kube_event(payload);
        }
        if payload.get("kind").and_then(Value::as_str).is_some() {
            return serde_json::from_value(payload.clone()).map_err(|e| TriggerError::Malformed {
                what: "SOPilot trigger",
                detail: e.to_string(),
            });
        }
        Err(TriggerError::Unrecognised)
    }

    /// The key repeated deliveries of the same incident share, for deduplication.
    pub fn dedup_key(&self) -> String {
        match self {
            Trigger::CloudwatchAlarm { alarm, .. } => {
                let dims = alarm
                    .metric
                    .as_ref()
                    .map(|m| {
                        m.dimensions
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                // The same alarm name in two accounts or regions is two incidents; the
                // fields as a JSON array, so no name or dimension can pass for a place.
                match (&alarm.account, &alarm.region) {
                    (None, None) => format!("alarm:{}:{}", alarm.name, dims),
                    (a, r) => format!("alarm:{}", serde_json::json!([a, r, alarm.name, dims])),
                }
            }
            // Two clusters' Alertmanagers send the same group key for their own alerts.
            Trigger::Alertmanager { group, .. } => match group.common_labels.get("cluster") {
                Some(c) => format!("alertmanager:{}", serde_json::json!([c, group.group_key])),
                None => format!("alertmanager:{}", group.group_key),
            },
            Trigger::KubernetesEvent { event } => format!(
                "k8s:{}/{}/{}:{}{}",
                event.object.namespace,
                event.object.kind,
                event.object.name,
                event.reason,
                event
                    .cluster
                    .as_deref()
                    .map(|c| format!("@{c}"))
                    .unwrap_or_default()
            ),
            Trigger::Slack { request } => format!(
                "slack:{}:{}",
                request.channel,
                request.thread_ts.as_deref().unwrap_or(&request.text)
            ),
            Trigger::Schedule { schedule } => format!("schedule:{}", schedule.name),
            Trigger::Investigation { investigation } => {
                format!("investigation:{}", investigation.id)
            }
            Trigger::Manual { by } => format!("manual:{}", by.as_deref().unwrap_or("")),
        }
    }

    /// The snake_case kind, as in the serialised `kind` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::CloudwatchAlarm { .. } => "cloudwatch_alarm",
            Trigger::Alertmanager { .. } => "alertmanager",
            Trigger::KubernetesEvent { .. } => "kubernetes_event",
            Trigger::Slack { .. } => "slack",
            Trigger::Schedule { .. } => "schedule",
            Trigger::Investigation { .. } => "investigation",
            Trigger::Manual { .. } => "manual",
        }
    }
}

fn parse_sns(payload: &Value) -> Result<Trigger, TriggerError> {
    const WHAT: &str = "SNS notification";
    let message = payload
        .get("Message")
        .and_then(Value::as_str)
        .ok_or(TriggerError::Missing {
            what: WHAT,
            field: "Message",
        })?;
    let m: Value = serde_json::from_str(message).map_err(|e| TriggerError::Malformed {
        what: WHAT,
        detail: format!("Message is not a CloudWatch alarm JSON document: {e}"),
    })?;
    let name = s(&m, "AlarmName").ok_or(TriggerError::Missing {
        what: WHAT,
        field: "Message.AlarmName",
    })?;
    let state = s(&m, "NewStateValue").ok_or(TriggerError::Missing {
        what: WHAT,
        field: "Message.NewStateValue",
    })?;
    let arn = s(&m, "AlarmArn");
    let metric = m.get("Trigger").and_then(|t| {
        Some(AlarmMetric {
            namespace: s(t, "Namespace")?,
            name: s(t, "MetricName")?,
            dimensions: t
                .get("Dimensions")
                .and_then(Value::as_array)
                .map(|ds| {
                    ds.iter()
                        .filter_map(|d| Some((s(d, "name")?, s(d, "value")?)))
                        .collect()
                })
                .unwrap_or_default(),
            stat: s(t, "Statistic").or_else(|| s(t, "ExtendedStatistic")),
            period: t.get("Period").and_then(Value::as_i64),
            threshold: t.get("Threshold").and_then(Value::as_f64),
        })
    });
    Ok(Trigger::CloudwatchAlarm {
        source: AlarmSource::Sns,
        alarm: Alarm {
            name,
            state,
            previous_state: s(&m, "OldStateValue"),
            reason: s(&m, "NewStateReason"),
            description: s(&m, "AlarmDescription"),
            changed_at: s(&m, "StateChangeTime"),
            region: arn.as_deref().and_then(arn_region),
            account: s(&m, "AWSAccountId"),
            arn,
            metric,
        },
    })
}

/// `arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME` → REGION.
fn arn_region(arn: &str) -> Option<String> {
    arn.split(':')
        .nth(3)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
}

fn parse_eventbridge(payload: &Value) -> Result<Trigger, TriggerError> {
    const WHAT: &str = "EventBridge alarm state change";
    let detail = payload.get("detail").ok_or(TriggerError::Missing {
        what: WHAT,
        field: "detail",
    })?;
    let name = s(detail, "alarmName").ok_or(TriggerError::Missing {
        what: WHAT,
        field: "detail.alarmName",
    })?;
    let state = detail.get("state").ok_or(TriggerError::Missing {
        what: WHAT,
        field: "detail.state",
    })?;
    let metric = detail
        .pointer("/configuration/metrics")
        .and_then(Value::as_array)
        .and_then(|ms| ms.iter().find_map(|m| m.get("metricStat")))
        .and_then(|ms| {
            let metric = ms.get("metric")?;
            Some(AlarmMetric {
                namespace: s(metric, "namespace")?,
                name: s(metric, "name")?,
                dimensions: string_map(metric.get("dimensions")),
                stat: s(ms, "stat"),
                period: ms.get("period").and_then(Value::as_i64),
                threshold: None,
            })
        });
    Ok(Trigger::CloudwatchAlarm {
        source: AlarmSource::Eventbridge,
        alarm: Alarm {
            name,
            state: s(state, "value").ok_or(TriggerError::Missing {
                what: WHAT,
                field: "detail.state.value",
            })?,
            previous_state: detail.get("previousState").and_then(|p| s(p, "value")),
            reason: s(state, "reason"),
            description: detail
                .pointer("/configuration/description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            changed_at: s(state, "timestamp").or_else(|| s(payload, "time")),
            region: s(payload, "region"),
            account: s(payload, "account"),
            arn: payload
                .get("resources")
                .and_then(Value::as_array)
                .and_then(|r| r.first())
                .and_then(Value::as_str)
                .map(str::to_owned),
            metric,
        },
    })
}

fn parse_alert(a: &Value) -> Alert {
    Alert {
        status: s(a, "status").unwrap_or_default(),
        labels: string_map(a.get("labels")),
        annotations: string_map(a.get("annotations")),
        starts_at: s(a, "startsAt"),
        fingerprint: s(a, "fingerprint"),
        generator_url: s(a, "generatorURL"),
    }
}

fn parse_alertmanager(payload: &Value) -> Result<Trigger, TriggerError> {
    const WHAT: &str = "Alertmanager webhook";
    let alerts: Vec<Alert> = payload
        .get("alerts")
        .and_then(Value::as_array)
        .ok_or(TriggerError::Malformed {
            what: WHAT,
            detail: "alerts is not a list".into(),
        })?
        .iter()
        .map(parse_alert)
        .collect();
    let alert = alerts
        .iter()
        .find(|a| a.status == "firing")
        .or_else(|| alerts.first())
        .cloned()
        .ok_or(TriggerError::EmptyAlertGroup)?;
    let group = AlertGroup {
        group_key: s(payload, "groupKey").ok_or(TriggerError::Missing {
            what: WHAT,
            field: "groupKey",
        })?,
        status: s(payload, "status").unwrap_or_default(),
        receiver: s(payload, "receiver").unwrap_or_default(),
        group_labels: string_map(payload.get("groupLabels")),
        common_labels: string_map(payload.get("commonLabels")),
        common_annotations: string_map(payload.get("commonAnnotations")),
        alerts,
    };
    Ok(Trigger::Alertmanager { group, alert })
}

fn parse_kube_event(payload: &Value) -> Result<Trigger, TriggerError> {
    const WHAT: &str = "Kubernetes Event";
    // core/v1 names the object `involvedObject`; events.k8s.io/v1 names it `regarding`.
    let obj = payload
        .get("involvedObject")
        .or_else(|| payload.get("regarding"))
        .ok_or(TriggerError::Missing {
            what: WHAT,
            field: "involvedObject",
        })?;
    let count = payload
        .get("count")
        .or_else(|| payload.pointer("/series/count"))
        .or_else(|| payload.get("deprecatedCount"))
        .and_then(Value::as_i64)
        .unwrap_or(1);
    Ok(Trigger::KubernetesEvent {
        event: KubeEvent {
            reason: s(payload, "reason").ok_or(TriggerError::Missing {
                what: WHAT,
                field: "reason",
            })?,
            event_type: s(payload, "type").unwrap_or_default(),
            message: s(payload, "message")
                .or_else(|| s(payload, "note"))
                .unwrap_or_default(),
            count,
            object: KubeObject {
                kind: s(obj, "kind").ok_or(TriggerError::Missing {
                    what: WHAT,
                    field: "involvedObject.kind",
                })?,
                namespace: s(obj, "namespace")
                    .or_else(|| {
                        payload
                            .pointer("/metadata/namespace")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .unwrap_or_default(),
                name: s(obj, "name").ok_or(TriggerError::Missing {
                    what: WHAT,
                    field: "involvedObject.name",
                })?,
            },
            last_seen: s(payload, "lastTimestamp").or_else(|| s(payload, "eventTime")),
            // Only a target's own watcher says which cluster an event came from.
            cluster: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sns_payload() -> Value {
        let message = json!({
            "AlarmName": "payment-5xx", "AWSAccountId": "123456789012",
            "NewStateValue": "ALARM", "OldStateValue": "OK",
            "NewStateReason": "Threshold Crossed: 1 datapoint [42.0] was greater than 10.0",
            "StateChangeTime": "2026-11-27T10:00:00.000+0000",
            "AlarmArn": "arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:payment-5xx",
            "Trigger": {"MetricName": "5XXError", "Namespace": "AWS/ApplicationELB",
                        "Statistic": "SUM", "Period": 60, "Threshold": 10.0,
                        "Dimensions": [{"name": "LoadBalancer", "value": "app/payment/abc"}]}
        });
        json!({"Type": "Notification", "MessageId": "m1",
               "TopicArn": "arn:aws:sns:ap-northeast-2:123456789012:ops",
               "Message": message.to_string(), "SignatureVersion": "1"})
    }

    #[test]
    fn sns_alarm_normalises_and_round_trips() {
        let t = Trigger::from_payload(&sns_payload()).unwrap();
        let Trigger::CloudwatchAlarm { source, alarm } = &t else {
            panic!("{t:?}")
        };
        assert_eq!(*source, AlarmSource::Sns);
        assert_eq!(alarm.name, "payment-5xx");
        assert_eq!(alarm.region.as_deref(), Some("ap-northeast-2"));
        assert_eq!(
            alarm.metric.as_ref().unwrap().dimensions["LoadBalancer"],
            "app/payment/abc"
        );
        assert_eq!(
            t.dedup_key(),
            r#"alarm:["123456789012","ap-northeast-2","payment-5xx","LoadBalancer=app/payment/abc"]"#
        );
        // The same alarm in another account is another incident.
        let mut other = t.clone();
        if let Trigger::CloudwatchAlarm { alarm, .. } = &mut other {
            alarm.account = Some("210987654321".into());
        }
        assert_ne!(other.dedup_key(), t.dedup_key());
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["kind"], "cloudwatch_alarm");
        assert_eq!(v["alarm"]["name"], "payment-5xx");
        // A normalised trigger is itself an accepted payload.
        assert_eq!(Trigger::from_payload(&v).unwrap(), t);
    }

    #[test]
    fn eventbridge_alarm() {
        let p = json!({"version": "0", "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch", "account": "1", "region": "us-east-1",
            "time": "2026-11-27T10:00:00Z",
            "resources": ["arn:aws:cloudwatch:us-east-1:1:alarm:hi-cpu"],
            "detail": {"alarmName": "hi-cpu", "state": {"value": "ALARM", "reason": "r"},
                "previousState": {"value": "OK"},
                "configuration": {"metrics": [{"id": "m", "metricStat": {"metric": {
                    "namespace": "AWS/EC2", "name": "CPUUtilization",
                    "dimensions": {"InstanceId": "i-1"}}, "period": 300, "stat": "Average"}}]}}});
        let t = Trigger::from_payload(&p).unwrap();
        let Trigger::CloudwatchAlarm { source, alarm } = t else {
            panic!()
        };
        assert_eq!(source, AlarmSource::Eventbridge);
        assert_eq!(alarm.previous_state.as_deref(), Some("OK"));
        assert_eq!(alarm.metric.unwrap().stat.as_deref(), Some("Average"));
    }

    #[test]
    fn alertmanager_group() {
        let p = json!({"version": "4", "groupKey": "{}:{alertname=\"KubePodCrashLooping\"}",
            "status": "firing", "receiver": "sopilot", "commonLabels": {"severity": "critical"},
            "alerts": [{"status": "resolved", "labels": {"pod": "a"}},
                       {"status": "firing", "labels": {"pod": "b", "namespace": "payment"},
                        "fingerprint": "f1"}]});
        let t = Trigger::from_payload(&p).unwrap();
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["alert"]["labels"]["pod"], "b");
        assert_eq!(v["group"]["alerts"].as_array().unwrap().len(), 2);
        let empty = json!({"version": "4", "groupKey": "k", "alerts": []});
        assert_eq!(
            Trigger::from_payload(&empty),
            Err(TriggerError::EmptyAlertGroup)
        );
    }

    #[test]
    fn kubernetes_events_of_both_apis() {
        let core = json!({"apiVersion": "v1", "kind": "Event", "reason": "BackOff",
            "type": "Warning", "message": "Back-off restarting failed container", "count": 12,
            "involvedObject": {"kind": "Pod", "namespace": "payment", "name": "p-1"}});
        let t = Trigger::from_payload(&core).unwrap();
        assert_eq!(t.dedup_key(), "k8s:payment/Pod/p-1:BackOff");
        let new = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "reason": "OOMKilling",
            "note": "oom", "series": {"count": 3}, "metadata": {"namespace": "kube-system"},
            "regarding": {"kind": "Node", "name": "n1"}});
        let Trigger::KubernetesEvent { event } = Trigger::from_payload(&new).unwrap() else {
            panic!()
        };
        assert_eq!((event.count, event.message.as_str()), (3, "oom"));
        assert_eq!(event.object.namespace, "kube-system");
    }

    #[test]
    fn unknown_payloads_are_named_errors() {
        assert_eq!(
            Trigger::from_payload(&json!({"x": 1})),
            Err(TriggerError::Unrecognised)
        );
        assert!(matches!(
            Trigger::from_payload(&json!({"Type": "SubscriptionConfirmation"})),
            Err(TriggerError::NotANotification(_))
        ));
        let bad_sns = json!({"Type": "Notification", "Message": "not json"});
        assert!(matches!(
            Trigger::from_payload(&bad_sns),
            Err(TriggerError::Malformed { .. })
        ));
        assert!(matches!(
            Trigger::from_payload(&json!({"kind": "cloudwatch_alarm"})),
            Err(TriggerError::Malformed { .. })
        ));
    }

    #[test]
    fn every_kind_round_trips() {
        let triggers = [
            Trigger::Manual {
                by: Some("alice".into()),
            },
            Trigger::Slack {
                request: SlackRequest {
                    channel: "C1".into(),
                    user: "U1".into(),
                    text: "investigate payment-service".into(),
                    thread_ts: None,
                },
            },
            Trigger::Schedule {
                schedule: ScheduleFire {
                    name: "prescale".into(),
                    cron: "*/15 * * * *".into(),
                    fired_at: "2026-11-27T10:15:00Z".into(),
                },
            },
        ];
        for t in triggers {
            let v = serde_json::to_value(&t).unwrap();
            assert_eq!(v["kind"], t.kind());
            assert_eq!(serde_json::from_value::<Trigger>(v).unwrap(), t);
        }
    }
}
