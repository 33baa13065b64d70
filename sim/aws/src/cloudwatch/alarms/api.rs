//! The alarm API calls: DescribeAlarms, DescribeAlarmHistory and SetAlarmState.

use serde_json::{Value, json};

use super::{Alarm, HistoryItem, StateValue};
use crate::cloudwatch::CloudWatch;
use crate::error::{ApiError, ApiResult};
use crate::req::{next_token, num_of, page_size, required, str_of, strings_of, token_offset};
use crate::state::Clock;

fn state_filter(req: &Value) -> Result<Option<StateValue>, ApiError> {
    match str_of(req, "StateValue") {
        None => Ok(None),
        Some(s) => StateValue::parse(s).map(Some).ok_or_else(|| {
            ApiError::client("ValidationError", format!("1 validation error detected: Value '{s}' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]"))
        }),
    }
}

pub fn describe_alarms(cw: &CloudWatch, req: &Value) -> ApiResult {
    let names = strings_of(req, "AlarmNames");
    let prefix = str_of(req, "AlarmNamePrefix");
    if !names.is_empty() && prefix.is_some() {
        return Err(ApiError::client(
            "InvalidParameterCombination",
            "AlarmNames and AlarmNamePrefix cannot be given together",
        ));
    }
    let state = state_filter(req)?;
    let action_prefix = str_of(req, "ActionPrefix");
    let types = strings_of(req, "AlarmTypes");
    let max = page_size(req, "MaxRecords", 50, 100, "ValidationError")?;
    let offset = token_offset(req, "NextToken", "da-", "InvalidNextToken")?;
    let mut matching: Vec<&Alarm> = cw
        .alarms
        .iter()
        .filter(|_| types.is_empty() || types.iter().any(|t| t == "MetricAlarm"))
        .filter(|a| names.is_empty() || names.contains(&a.name))
        .filter(|a| prefix.is_none_or(|p| a.name.starts_with(p)))
        .filter(|a| state.is_none_or(|s| a.state == s))
        .filter(|a| action_prefix.is_none_or(|p| a.actions.iter().any(|x| x.starts_with(p))))
        .collect();
    matching.sort_by(|a, b| a.name.cmp(&b.name));
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(max)
        .map(|a| a.to_api())
        .collect();
    let mut out = json!({"MetricAlarms": page, "CompositeAlarms": []});
    if let Some(token) = next_token("da-", offset, max, matching.len()) {
        out["NextToken"] = json!(token);
    }
    Ok(out)
}

pub fn describe_alarm_history(cw: &CloudWatch, req: &Value, _clock: Clock) -> ApiResult {
    let name = str_of(req, "AlarmName");
    let kind = str_of(req, "HistoryItemType");
    if let Some(k) = kind
        && !matches!(
            k,
            "ConfigurationUpdate"
                | "StateUpdate"
                | "Action"
                | "AlarmContributorStateUpdate"
                | "AlarmContributorAction"
        )
    {
        return Err(ApiError::client(
            "ValidationError",
            format!(
                "1 validation error detected: Value '{k}' at 'historyItemType' failed to satisfy constraint: Member must satisfy enum value set: [ConfigurationUpdate, StateUpdate, Action]"
            ),
        ));
    }
    let from = num_of(req, "StartDate").unwrap_or(f64::MIN);
    let to = num_of(req, "EndDate").unwrap_or(f64::MAX);
    let ascending = str_of(req, "ScanBy") == Some("TimestampAscending");
    let max = page_size(req, "MaxRecords", 100, 100, "ValidationError")?;
    let offset = token_offset(req, "NextToken", "dh-", "InvalidNextToken")?;
    let mut items: Vec<(&Alarm, &HistoryItem)> = cw
        .alarms
        .iter()
        .filter(|a| name.is_none_or(|n| a.name == n))
        .flat_map(|a| a.history.iter().map(move |h| (a, h)))
        .filter(|(_, h)| kind.is_none_or(|k| h.kind == k))
        .filter(|(_, h)| {
            #[allow(clippy::cast_precision_loss)]
            let t = h.at as f64;
            t >= from && t <= to
        })
        .collect();
    items.sort_by_key(|(_, h)| h.at);
    if !ascending {
        items.reverse();
    }
    let page: Vec<Value> = items
        .iter()
        .skip(offset)
        .take(max)
        .map(|(a, h)| {
            json!({
                "AlarmName": a.name,
                "AlarmType": "MetricAlarm",
                "Timestamp": h.at,
                "HistoryItemType": h.kind,
                "HistorySummary": h.summary,
                "HistoryData": h.data,
            })
        })
        .collect();
    let mut out = json!({"AlarmHistoryItems": page});
    if let Some(token) = next_token("dh-", offset, max, items.len()) {
        out["NextToken"] = json!(token);
    }
    Ok(out)
}

pub fn set_alarm_state(cw: &mut CloudWatch, req: &Value, clock: Clock) -> ApiResult {
    let name = required(req, "AlarmName", "ValidationError")?;
    let state_text = required(req, "StateValue", "ValidationError")?;
    let Some(state) = StateValue::parse(state_text) else {
        return Err(ApiError::client(
            "ValidationError",
            format!(
                "1 validation error detected: Value '{state_text}' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]"
            ),
        ));
    };
    let reason = required(req, "StateReason", "ValidationError")?;
    if reason.len() > 1023 {
        return Err(ApiError::client(
            "ValidationError",
            "StateReason must be at most 1023 characters",
        ));
    }
    let reason_data = str_of(req, "StateReasonData");
    if let Some(d) = reason_data
        && serde_json::from_str::<Value>(d).is_err()
    {
        return Err(ApiError::client(
            "InvalidFormat",
            "StateReasonData is not valid JSON",
        ));
    }
    let Some(alarm) = cw.alarms.iter_mut().find(|a| a.name == name) else {
        return Err(ApiError {
            status: 404,
            code: "ResourceNotFound".into(),
            message: format!("Alarm {name} not found"),
        });
    };
    let now = clock.now.timestamp();
    let previous = alarm.state;
    alarm.state = state;
    alarm.reason = reason.to_owned();
    alarm.reason_data = reason_data.map(str::to_owned);
    alarm.updated = now;
    if previous != state {
        alarm.transitioned = now;
        let item = alarm.state_update(now, previous.as_str(), state.as_str(), reason);
        alarm.history.push(item);
        let actions = alarm.actions_for(now, state);
        alarm.history.extend(actions);
    }
    Ok(json!({}))
}
