//! Cost Explorer calls: costs per period and group, and forecasts.

use std::collections::BTreeMap;

use aws_sdk_costexplorer::types::{
    DateInterval, Dimension, DimensionValues, Expression, Granularity, GroupDefinition,
    GroupDefinitionType,
};
use chrono::NaiveDate;

use crate::Clients;
use crate::dates::cents;
use crate::error::{ToolFailure, ToolResult};

pub const SERVICE: &str = "Cost Explorer";
pub const METRIC: &str = "UnblendedCost";
const DIMENSIONS: &[&str] = &[
    "SERVICE",
    "USAGE_TYPE",
    "USAGE_TYPE_GROUP",
    "INSTANCE_TYPE",
    "PURCHASE_TYPE",
    "REGION",
    "LINKED_ACCOUNT",
    "OPERATION",
    "RECORD_TYPE",
];

/// A grouping, validated.
pub fn group(text: &str) -> ToolResult<GroupDefinition> {
    let t = text.trim();
    if let Some(key) = t.strip_prefix("TAG:").filter(|k| !k.is_empty()) {
        return Ok(GroupDefinition::builder()
            .r#type(GroupDefinitionType::Tag)
            .key(key)
            .build());
    }
    let upper = t.to_ascii_uppercase();
    if DIMENSIONS.contains(&upper.as_str()) {
        return Ok(GroupDefinition::builder()
            .r#type(GroupDefinitionType::Dimension)
            .key(upper)
            .build());
    }
    Err(ToolFailure::BadArgument(format!(
        "group_by {text:?} is not valid: use {} or TAG:key (e.g. TAG:team)",
        DIMENSIONS.join(", ")
    )))
}

pub fn granularity(text: Option<&str>) -> ToolResult<Granularity> {
    match text.map(str::to_ascii_uppercase).as_deref() {
        None | Some("MONTHLY") => Ok(Granularity::Monthly),
        Some("DAILY") => Ok(Granularity::Daily),
        Some(other) => Err(ToolFailure::BadArgument(format!(
            "granularity {other:?} is not valid: use DAILY or MONTHLY"
        ))),
    }
}

pub fn service_filter(service: Option<&str>) -> Option<Expression> {
    service.map(|s| {
        Expression::builder()
            .dimensions(
                DimensionValues::builder()
                    .key(Dimension::Service)
                    .values(s)
                    .build(),
            )
            .build()
    })
}

fn interval(start: NaiveDate, end: NaiveDate) -> ToolResult<DateInterval> {
    DateInterval::builder()
        .start(start.to_string())
        .end(end.to_string())
        .build()
        .map_err(|e| ToolFailure::BadArgument(e.to_string()))
}

/// One time bucket: its range, whether estimated, total and amounts per group key (cents).
#[derive(Debug, Clone, Default)]
pub struct Bucket {
    pub start: String,
    pub end: String,
    pub estimated: bool,
    pub total: i64,
    pub groups: BTreeMap<Vec<String>, i64>,
}

/// Costs over `[start, end)`, per bucket, grouped by `groups` (at most two).
pub async fn costs(
    c: &Clients,
    start: NaiveDate,
    end: NaiveDate,
    gran: Granularity,
    groups: &[GroupDefinition],
    filter: Option<Expression>,
) -> ToolResult<(Vec<Bucket>, String)> {
    let mut out: Vec<Bucket> = Vec::new();
    let mut currency = "USD".to_owned();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let resp =
            c.ce.get_cost_and_usage()
                .time_period(interval(start, end)?)
                .granularity(gran.clone())
                .metrics(METRIC)
                .set_group_by((!groups.is_empty()).then(|| groups.to_vec()))
                .set_filter(filter.clone())
                .set_next_page_token(token.clone())
                .send()
                .await
                .map_err(|e| ToolFailure::from_sdk(SERVICE, c.attempts, e))?;
        for r in resp.results_by_time() {
            let mut b = Bucket {
                start: r
                    .time_period()
                    .map(|p| p.start().to_owned())
                    .unwrap_or_default(),
                end: r
                    .time_period()
                    .map(|p| p.end().to_owned())
                    .unwrap_or_default(),
                estimated: r.estimated(),
                ..Bucket::default()
            };
            if let Some(m) = r.total().and_then(|t| t.get(METRIC)) {
                b.total = cents(m.amount());
                if let Some(u) = m.unit() {
                    u.clone_into(&mut currency);
                }
            }
            for g in r.groups() {
                let amount = g.metrics().and_then(|m| m.get(METRIC));
                if let Some(u) = amount.and_then(|m| m.unit()) {
                    u.clone_into(&mut currency);
                }
                *b.groups.entry(g.keys().to_vec()).or_default() +=
                    cents(amount.and_then(|m| m.amount()));
            }
            if !groups.is_empty() {
                b.total = b.groups.values().sum();
            }
            // A later page may continue the same bucket.
            match out.last_mut() {
                Some(last) if last.start == b.start && last.end == b.end => {
                    for (k, v) in b.groups {
                        *last.groups.entry(k).or_default() += v;
                    }
                    last.total = if groups.is_empty() {
                        last.total
                    } else {
                        last.groups.values().sum()
                    };
                }
                _ => out.push(b),
            }
        }
        token = resp.next_page_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok((out, currency))
}
