//! SOPilot's optional YAML front matter.
//!
//! ```yaml
//! ---
//! name: pod-crashloop
//! description: Diagnose and fix a pod in CrashLoopBackOff.
//! triggers:
//!   - kubernetes_event: {reasons: [BackOff], kinds: [Pod]}
//!     params: {namespace: "{{ trigger.event.object.namespace }}", pod: "{{ trigger.event.object.name }}"}
//! tools: [kubectl.*, slack.post_message]
//! budget: {max_turns: 12, deadline: 5m}
//! phases:
//!   - {name: assess, deadline: 30s}
//! ---
//! ```

use std::collections::BTreeMap;

use globset::GlobBuilder;
use serde::{Deserialize, Serialize};
use sopilot_protocol::Trigger;

/// The front matter. Everything is optional; unknown keys are errors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Which triggers start this SOP, and how they fill its parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<TriggerRule>,
    /// Globs of the tools this SOP may use (`kubectl.*`); empty means no restriction
    /// beyond the policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<Phase>,
}

/// Limits of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    /// Overall deadline, e.g. `5m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Duration>,
    /// Tool-output bytes the model may receive over the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tool_output_bytes: Option<u64>,
    /// Tool-output bytes the model may receive from one call (default 8 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tool_output_bytes_per_call: Option<u64>,
    /// The same, for a named tool (`server.tool`), e.g. `{kubectl.pod_logs: 12288}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tool_output_bytes: BTreeMap<String, u64>,
}

impl Budget {
    /// Why `max_tool_output_bytes_per_call` cannot be meant as written, if it cannot. Shared
    /// by the SOP lint and the configuration file.
    pub fn per_call_problem(bytes: u64) -> Option<String> {
        (bytes == 0).then(|| {
            "budget.max_tool_output_bytes_per_call is 0: the model would see no tool output; leave it out for the default (8192)".to_owned()
        })
    }

    /// Why one `tool_output_bytes` entry cannot be meant as written: the name is not
    /// `SERVER.TOOL` (globs included), or the budget is 0.
    pub fn tool_budget_problems(tool: &str, bytes: u64) -> Vec<String> {
        let mut out = Vec::new();
        if tool.parse::<sopilot_protocol::ToolRef>().is_err() {
            out.push(format!("budget.tool_output_bytes: {tool:?} is not a tool name; write SERVER.TOOL, e.g. kubectl.pod_logs (no globs)"));
        }
        if bytes == 0 {
            out.push(format!("budget.tool_output_bytes: {tool} has a budget of 0 bytes; give at least a few hundred, or leave the tool out of `tools`"));
        }
        out
    }
}

/// A named phase with a deadline counted from the start of the run, e.g. assess within 30 s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Duration>,
}

/// A duration written `30s`, `2m`, `1h` or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub u64);

impl Duration {
    /// The duration in seconds.
    pub fn seconds(self) -> u64 {
        self.0
    }

    /// Parses `30s`, `2m`, `1h`, `1h30m` or plain seconds.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let t = text.trim();
        if let Ok(n) = t.parse::<u64>() {
            return Ok(Duration(n));
        }
        let mut total: u64 = 0;
        let mut digits = String::new();
        for c in t.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => {
                    return Err(format!(
                        "{text:?} is not a duration; write 30s, 2m, 1h or 1h30m"
                    ));
                }
            };
            let n: u64 = digits
                .parse()
                .map_err(|_| format!("{text:?} is not a duration; write 30s, 2m, 1h or 1h30m"))?;
            total = total.saturating_add(n.saturating_mul(unit));
            digits.clear();
        }
        if !digits.is_empty() || t.is_empty() {
            return Err(format!(
                "{text:?} is not a duration; write 30s, 2m, 1h or 1h30m"
            ));
        }
        Ok(Duration(total))
    }
}

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}s", self.0))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Seconds(n) => Ok(Duration(n)),
            Raw::Text(t) => Duration::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

/// One trigger this SOP answers, and how it fills parameters. Exactly one of the match
/// kinds is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudwatch_alarm: Option<AlarmMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alertmanager: Option<AlertMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_event: Option<EventMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub investigation: Option<InvestigationMatch>,
    /// Parameter values as templates over `trigger`, e.g.
    /// `pod: "{{ trigger.event.object.name }}"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

/// Matches CloudWatch alarms by name glob (and state, `ALARM` by default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmMatch {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// Matches Alertmanager groups by alert name and labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alertname: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// Matches Kubernetes events by reason, object kind and namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventMatch {
    pub reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
}

/// Matches Slack requests containing any of the keywords (case-insensitive).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackMatch {
    pub keywords: Vec<String>,
}

/// Matches a named schedule of `sopilot serve`'s configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleMatch {
    pub name: String,
}

/// Matches CloudWatch investigations (EventBridge, `aws.aiops`) by status (any of
/// `statuses`, case-insensitive; empty: any status).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvestigationMatch {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<String>,
}

fn glob_match(pattern: &str, text: &str) -> bool {
    GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .map(|g| g.compile_matcher().is_match(text))
        .unwrap_or(false)
}

/// Whether a pattern is a glob rather than one literal value.
fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}

impl FrontMatter {
    /// The rule that matches `trigger` most specifically, with its score
    /// ([`TriggerRule::specificity`]); the first of equals.
    pub fn best_trigger(&self, trigger: &Trigger) -> Option<(u32, &TriggerRule)> {
        self.triggers
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.specificity(trigger).map(|s| (s, std::cmp::Reverse(i), r)))
            .max_by_key(|(s, i, _)| (*s, *i))
            .map(|(s, _, r)| (s, r))
    }
}

impl TriggerRule {
    /// How specifically this rule matches `trigger` (`None`: it does not). A router prefers
    /// the highest: a name given exactly (an `alertname`, an alarm name without wildcards, a
    /// schedule) counts 8, a glob name 2, each label, kind or namespace constraint 2 when
    /// literal and 1 when a glob, an explicit alarm state 1; a Slack keyword or an event
    /// reason alone counts 1. So `{alertname: KubePodCrashLooping}` wins over
    /// `{labels: {severity: critical}}` for a critical crash-loop alert.
    pub fn specificity(&self, trigger: &Trigger) -> Option<u32> {
        if !self.matches(trigger) {
            return None;
        }
        let constraint = |p: &str| if is_glob(p) { 1 } else { 2 };
        let score = match trigger {
            Trigger::CloudwatchAlarm { .. } => self.cloudwatch_alarm.as_ref().map_or(0, |m| {
                (if is_glob(&m.name) { 2 } else { 8 }) + u32::from(m.state.is_some())
            }),
            Trigger::Alertmanager { .. } => self.alertmanager.as_ref().map_or(0, |m| {
                8 * u32::from(m.alertname.is_some())
                    + m.labels.values().map(|v| constraint(v)).sum::<u32>()
            }),
            Trigger::KubernetesEvent { .. } => self.kubernetes_event.as_ref().map_or(0, |m| {
                1 + 2 * u32::from(!m.kinds.is_empty())
                    + m.namespaces
                        .iter()
                        .map(|n| constraint(n))
                        .max()
                        .unwrap_or(0)
            }),
            Trigger::Slack { .. } | Trigger::Manual { .. } => 1,
            Trigger::Schedule { .. } => 8,
            Trigger::Investigation { .. } => self
                .investigation
                .as_ref()
                .map_or(0, |m| 2 + 2 * u32::from(!m.statuses.is_empty())),
        };
        Some(score)
    }

    /// How many match kinds are set (valid rules have exactly one).
    pub fn kinds_set(&self) -> usize {
        [
            self.cloudwatch_alarm.is_some(),
            self.alertmanager.is_some(),
            self.kubernetes_event.is_some(),
            self.slack.is_some(),
            self.schedule.is_some(),
            self.investigation.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count()
    }

    /// Whether this rule selects the SOP for `trigger`.
    pub fn matches(&self, trigger: &Trigger) -> bool {
        match trigger {
            Trigger::CloudwatchAlarm { alarm, .. } => {
                self.cloudwatch_alarm.as_ref().is_some_and(|m| {
                    glob_match(&m.name, &alarm.name)
                        && alarm.state == m.state.as_deref().unwrap_or("ALARM")
                })
            }
            Trigger::Alertmanager { alert, group } => self.alertmanager.as_ref().is_some_and(|m| {
                let label = |k: &str| alert.labels.get(k).or_else(|| group.common_labels.get(k));
                m.alertname
                    .as_ref()
                    .is_none_or(|n| label("alertname") == Some(n))
                    && m.labels
                        .iter()
                        .all(|(k, v)| label(k).is_some_and(|have| glob_match(v, have)))
            }),
            Trigger::KubernetesEvent { event } => self.kubernetes_event.as_ref().is_some_and(|m| {
                m.reasons.iter().any(|r| r == &event.reason)
                    && (m.kinds.is_empty() || m.kinds.iter().any(|k| k == &event.object.kind))
                    && (m.namespaces.is_empty()
                        || m.namespaces
                            .iter()
                            .any(|n| glob_match(n, &event.object.namespace)))
            }),
            Trigger::Slack { request } => self.slack.as_ref().is_some_and(|m| {
                let text = request.text.to_lowercase();
                m.keywords.iter().any(|k| text.contains(&k.to_lowercase()))
            }),
            Trigger::Schedule { schedule } => self
                .schedule
                .as_ref()
                .is_some_and(|m| m.name == schedule.name),
            Trigger::Investigation { investigation } => {
                self.investigation.as_ref().is_some_and(|m| {
                    m.statuses.is_empty()
                        || m.statuses
                            .iter()
                            .any(|s| s.eq_ignore_ascii_case(&investigation.status))
                })
            }
            Trigger::Manual { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations() {
        assert_eq!(Duration::parse("30s"), Ok(Duration(30)));
        assert_eq!(Duration::parse("2m"), Ok(Duration(120)));
        assert_eq!(Duration::parse("1h30m"), Ok(Duration(5400)));
        assert_eq!(Duration::parse("45"), Ok(Duration(45)));
        for bad in ["", "m", "3x", "1.5m", "10 s"] {
            assert!(Duration::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn trigger_matching() {
        let rule: TriggerRule = serde_json::from_value(json!({
            "kubernetes_event": {"reasons": ["BackOff", "CrashLoopBackOff"], "kinds": ["Pod"], "namespaces": ["pay*"]}
        }))
        .unwrap();
        let event = |reason: &str, ns: &str| {
            Trigger::from_payload(&json!({"kind": "Event", "reason": reason,
                "involvedObject": {"kind": "Pod", "namespace": ns, "name": "p"}}))
            .unwrap()
        };
        assert!(rule.matches(&event("BackOff", "payment")));
        assert!(!rule.matches(&event("BackOff", "shopping")));
        assert!(!rule.matches(&event("OOMKilling", "payment")));
        assert!(!rule.matches(&Trigger::Manual { by: None }));

        let alarm: TriggerRule =
            serde_json::from_value(json!({"cloudwatch_alarm": {"name": "payment-*"}})).unwrap();
        let t = Trigger::from_payload(&json!({"kind": "cloudwatch_alarm", "source": "sns",
            "alarm": {"name": "payment-5xx", "state": "ALARM"}}))
        .unwrap();
        assert!(alarm.matches(&t));
        let ok = Trigger::from_payload(&json!({"kind": "cloudwatch_alarm", "source": "sns",
            "alarm": {"name": "payment-5xx", "state": "OK"}}))
        .unwrap();
        assert!(!alarm.matches(&ok));
    }

    #[test]
    fn investigations_match_by_status() {
        let rule: TriggerRule =
            serde_json::from_value(json!({"investigation": {"statuses": ["completed"]}})).unwrap();
        assert_eq!(rule.kinds_set(), 1);
        let investigation = |status: &str| {
            Trigger::from_payload(&json!({"kind": "investigation",
                "investigation": {"id": "inv-1", "status": status}}))
            .unwrap()
        };
        assert_eq!(rule.specificity(&investigation("COMPLETED")), Some(4));
        assert!(!rule.matches(&investigation("IN_PROGRESS")));
        let any: TriggerRule = serde_json::from_value(json!({"investigation": {}})).unwrap();
        assert_eq!(any.specificity(&investigation("IN_PROGRESS")), Some(2));
        assert!(!rule.matches(&Trigger::Manual { by: None }));
    }
}
