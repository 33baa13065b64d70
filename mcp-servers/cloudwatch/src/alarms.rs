//! Alarms: describe_alarms (state, reason, when they changed) and alarm_history.

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{MetricAlarm, StateValue};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_mcp_common::{Table, age, cap, ok_json, redact};

use crate::Clients;
use crate::args::{AlarmHistory, DescribeAlarms};
use crate::error::{ToolFailure, ToolResult};
use crate::summary::rfc3339;

const SERVICE: &str = "CloudWatch";
const MAX_TEXT: usize = 16 * 1024;

async fn alarms(
    c: &Clients,
    state: Option<StateValue>,
    prefix: Option<String>,
    names: Vec<String>,
) -> ToolResult<Vec<MetricAlarm>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let resp =
            c.cw.describe_alarms()
                .set_state_value(state.clone())
                .set_alarm_name_prefix(prefix.clone())
                .set_alarm_names((!names.is_empty()).then(|| names.clone()))
                .max_records(100)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| ToolFailure::from_sdk(SERVICE, c.attempts, e))?;
        out.extend(resp.metric_alarms().iter().cloned());
        token = resp.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

fn condition(a: &MetricAlarm) -> String {
    let op = match a.comparison_operator().map(|c| c.as_str()) {
        Some("GreaterThanOrEqualToThreshold") => ">=",
        Some("GreaterThanThreshold") => ">",
        Some("LessThanThreshold") => "<",
        Some("LessThanOrEqualToThreshold") => "<=",
        Some(other) => other,
        None => "?",
    };
    let stat = a
        .statistic()
        .map(|s| s.as_str().to_owned())
        .or_else(|| a.extended_statistic().map(str::to_owned))
        .unwrap_or_default();
    format!(
        "{stat} {op} {} for {} of {} x {}s",
        a.threshold().unwrap_or_default(),
        a.datapoints_to_alarm()
            .or(a.evaluation_periods())
            .unwrap_or(1),
        a.evaluation_periods().unwrap_or(1),
        a.period().unwrap_or(60)
    )
}

fn alarm_json(a: &MetricAlarm) -> Value {
    json!({
        "name": a.alarm_name(),
        "state": a.state_value().map(|s| s.as_str()),
        "reason": a.state_reason(),
        "state_updated_at": a.state_updated_timestamp().map(|t| rfc3339(t.secs())),
        "description": a.alarm_description(),
        "metric": {
            "namespace": a.namespace(),
            "name": a.metric_name(),
            "dimensions": a.dimensions().iter().filter_map(|d| Some((d.name()?.to_owned(), Value::String(d.value()?.to_owned())))).collect::<serde_json::Map<_, _>>(),
        },
        "condition": condition(a),
        "threshold": a.threshold(),
        "actions": a.alarm_actions(),
    })
}

pub async fn describe_alarms(c: &Clients, a: DescribeAlarms) -> ToolResult<CallToolResult> {
    let state = match a.state.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None => None,
        Some("ALARM") => Some(StateValue::Alarm),
        Some("OK") => Some(StateValue::Ok),
        Some("INSUFFICIENT_DATA") => Some(StateValue::InsufficientData),
        Some(other) => {
            return Err(ToolFailure::BadArgument(format!(
                "state {other:?} is not valid: use ALARM, OK or INSUFFICIENT_DATA"
            )));
        }
    };
    let found = alarms(c, state, a.name_prefix.clone(), Vec::new()).await?;
    let now = crate::clock::now().timestamp();
    let mut table = Table::new(["STATE", "NAME", "SINCE", "METRIC", "CONDITION"]);
    let mut reasons = String::new();
    for al in &found {
        let since = al
            .state_updated_timestamp()
            .map_or_else(|| "?".into(), |t| format!("{} ago", age(now - t.secs())));
        table.row([
            al.state_value().map_or("?", |s| s.as_str()).to_owned(),
            al.alarm_name().unwrap_or_default().to_owned(),
            since,
            format!(
                "{}/{}",
                al.namespace().unwrap_or_default(),
                al.metric_name().unwrap_or_default()
            ),
            condition(al),
        ]);
        if al.state_value() != Some(&StateValue::Ok) {
            reasons.push_str(&format!(
                "{}: {}\n",
                al.alarm_name().unwrap_or_default(),
                redact(al.state_reason().unwrap_or_default())
            ));
        }
    }
    let text = if found.is_empty() {
        "no alarms match".to_owned()
    } else {
        format!(
            "{} alarm(s)\n{}{}",
            found.len(),
            table.render(),
            if reasons.is_empty() {
                String::new()
            } else {
                format!("\nReasons:\n{reasons}")
            }
        )
    };
    Ok(ok_json(
        cap(&text, MAX_TEXT, "filter by state or name_prefix").text,
        &json!({"alarms": found.iter().map(alarm_json).collect::<Vec<_>>()}),
    ))
}

pub async fn alarm_history(c: &Clients, a: AlarmHistory) -> ToolResult<CallToolResult> {
    let hours = a.hours.unwrap_or(24);
    if !(1..=24 * 14).contains(&hours) {
        return Err(ToolFailure::BadArgument(format!(
            "hours must be between 1 and 336 (got {hours})"
        )));
    }
    let now = crate::clock::now().timestamp();
    let resp =
        c.cw.describe_alarm_history()
            .alarm_name(&a.alarm_name)
            .start_date(DateTime::from_secs(now - hours * 3600))
            .end_date(DateTime::from_secs(now + 60))
            .max_records(100)
            .send()
            .await
            .map_err(|e| ToolFailure::from_sdk(SERVICE, c.attempts, e))?;
    let items = resp.alarm_history_items();
    if items.is_empty()
        && alarms(c, None, None, vec![a.alarm_name.clone()])
            .await?
            .is_empty()
    {
        let prefix: String = a.alarm_name.chars().take_while(|c| *c != '-').collect();
        let similar: Vec<String> = alarms(c, None, Some(prefix), Vec::new())
            .await?
            .iter()
            .filter_map(|x| x.alarm_name().map(str::to_owned))
            .take(20)
            .collect();
        return Err(ToolFailure::NotFound(format!(
            "alarm {:?} not found{}",
            a.alarm_name,
            if similar.is_empty() {
                "; list alarms with describe_alarms".to_owned()
            } else {
                format!("; alarms with a similar name: {}", similar.join(", "))
            }
        )));
    }
    let mut table = Table::new(["TIME", "TYPE", "SUMMARY"]);
    for i in items {
        table.row([
            i.timestamp().map(|t| rfc3339(t.secs())).unwrap_or_default(),
            i.history_item_type().map_or("?", |t| t.as_str()).to_owned(),
            i.history_summary().unwrap_or_default().to_owned(),
        ]);
    }
    let text = if items.is_empty() {
        format!("{}: no history in the last {hours} h", a.alarm_name)
    } else {
        format!(
            "{}: {} event(s) in the last {hours} h, newest first\n{}",
            a.alarm_name,
            items.len(),
            table.render()
        )
    };
    let structured = json!({
        "alarm_name": a.alarm_name,
        "items": items.iter().map(|i| json!({
            "at": i.timestamp().map(|t| rfc3339(t.secs())),
            "type": i.history_item_type().map(|t| t.as_str()),
            "summary": i.history_summary(),
            "data": i.history_data().and_then(|d| serde_json::from_str::<Value>(d).ok()),
        })).collect::<Vec<_>>(),
    });
    Ok(ok_json(
        cap(&text, MAX_TEXT, "ask for fewer hours").text,
        &structured,
    ))
}
