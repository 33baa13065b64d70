//! GetCostAndUsage: totals or groups (up to two dimensions or tags) per day or month.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::filter::Filter;
use super::{Cost, DIMENSIONS, Item, amount_text, month_start, parse_date};
use crate::error::{ApiError, ApiResult};
use crate::req::{list_of, str_of, strings_of};
use crate::state::Clock;

const METRICS: &[&str] = &[
    "AmortizedCost",
    "BlendedCost",
    "NetAmortizedCost",
    "NetUnblendedCost",
    "NormalizedUsageAmount",
    "UnblendedCost",
    "UsageQuantity",
];

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::client("ValidationException", message)
}

/// The usage type group Cost Explorer would put a usage type in.
pub fn group(service: &str, usage_type: &str) -> &'static str {
    let u = usage_type;
    if u.contains("BoxUsage") || u.contains("SpotUsage") {
        "EC2: Running Hours"
    } else if u.contains("DataTransfer-Regional") {
        "EC2: Data Transfer - Inter AZ"
    } else if u.contains("DataTransfer") {
        "EC2: Data Transfer - Internet (Out)"
    } else if u.contains("EBS:VolumeUsage") {
        "EC2: EBS - SSD(gp3)"
    } else if u.contains("LCUUsage") || u.contains("LoadBalancerUsage") {
        "ELB: Running Hours and LCUs"
    } else if u.contains("NatGateway") {
        "EC2: NAT Gateway - Data Processed"
    } else if service.contains("Kubernetes") {
        "EKS: Cluster Hours"
    } else {
        "Other"
    }
}

/// The time period, granularity and filter shared by both operations.
pub struct Scope {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub filter: Option<Filter>,
}

pub fn scope(req: &Value) -> Result<Scope, ApiError> {
    let period = req
        .get("TimePeriod")
        .ok_or_else(|| invalid("TimePeriod is required"))?;
    let start = parse_date(
        str_of(period, "Start").unwrap_or_default(),
        "TimePeriod.Start",
    )?;
    let end = parse_date(str_of(period, "End").unwrap_or_default(), "TimePeriod.End")?;
    if start >= end {
        return Err(invalid(
            "Start date (and hour) should be before end date (and hour)",
        ));
    }
    let filter = match req.get("Filter") {
        Some(f) if !f.is_null() => Some(Filter::parse(f, 0)?),
        _ => None,
    };
    Ok(Scope { start, end, filter })
}

/// `[start, end)` slices of the period, one per day or per calendar month.
pub fn buckets(start: NaiveDate, end: NaiveDate, monthly: bool) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut cur = start;
    while cur < end && out.len() < 5000 {
        let next = if monthly {
            month_start(cur, 1).unwrap_or(end)
        } else {
            cur.succ_opt().unwrap_or(end)
        };
        let stop = next.min(end);
        out.push((cur, stop));
        cur = stop;
    }
    out
}

#[derive(Debug, Clone, Default)]
struct Sum {
    cents: i64,
    usage: f64,
    /// The usage unit, when all items summed share one.
    unit: Option<String>,
    mixed: bool,
}

impl Sum {
    fn add(&mut self, cents: i64, usage: f64, unit: &str) {
        self.cents += cents;
        self.usage += usage;
        match &self.unit {
            None if !self.mixed => self.unit = Some(unit.to_owned()),
            Some(u) if u != unit => {
                self.unit = None;
                self.mixed = true;
            }
            _ => {}
        }
    }
}

pub fn get_cost_and_usage(cost: &Cost, req: &Value, clock: Clock) -> ApiResult {
    let scope = scope(req)?;
    let monthly = match str_of(req, "Granularity") {
        Some("DAILY") => false,
        Some("MONTHLY") => true,
        Some("HOURLY") => {
            return Err(invalid(
                "Hourly granularity is not enabled for this account (the simulator keeps daily data)",
            ));
        }
        Some(other) => {
            return Err(invalid(format!(
                "Granularity must be DAILY or MONTHLY, not {other:?}"
            )));
        }
        None => return Err(invalid("Granularity is required")),
    };
    let metrics = strings_of(req, "Metrics");
    if metrics.is_empty() {
        return Err(invalid("Metrics is required: e.g. [\"UnblendedCost\"]"));
    }
    if let Some(bad) = metrics.iter().find(|m| !METRICS.contains(&m.as_str())) {
        return Err(invalid(format!(
            "Metrics {bad:?} is not valid; valid values are {}",
            METRICS.join(", ")
        )));
    }
    let group_by = list_of(req, "GroupBy");
    if group_by.len() > 2 {
        return Err(invalid("GroupBy takes at most two groups"));
    }
    let mut keys: Vec<(bool, String)> = Vec::new();
    for g in group_by {
        let key = str_of(g, "Key").unwrap_or_default().to_owned();
        match str_of(g, "Type") {
            Some("DIMENSION") if DIMENSIONS.contains(&key.as_str()) => keys.push((false, key)),
            Some("DIMENSION") => {
                return Err(invalid(format!(
                    "Group Definition dimension {key:?} is not supported; use one of {}",
                    DIMENSIONS.join(", ")
                )));
            }
            Some("TAG") if !key.is_empty() => keys.push((true, key)),
            Some("COST_CATEGORY") => {
                return Err(invalid(
                    "COST_CATEGORY grouping is not supported by the simulator",
                ));
            }
            _ => {
                return Err(invalid(
                    "GroupBy entries need Type DIMENSION or TAG and a Key",
                ));
            }
        }
    }
    let today = clock.now.date_naive();
    let group_key = |item: &Item| -> Vec<String> {
        keys.iter()
            .map(|(tag, k)| {
                if *tag {
                    format!("{k}${}", item.tag(k).unwrap_or_default())
                } else {
                    item.dimension(k).unwrap_or_default()
                }
            })
            .collect()
    };
    let mut results = Vec::new();
    for (from, to) in buckets(scope.start, scope.end, monthly) {
        let mut groups: BTreeMap<Vec<String>, Sum> = BTreeMap::new();
        for d in cost.days.iter().filter(|d| d.date >= from && d.date < to) {
            let Some(item) = cost.items.get(d.item) else {
                continue;
            };
            if scope.filter.as_ref().is_some_and(|f| !f.matches(item)) {
                continue;
            }
            #[allow(clippy::cast_precision_loss)]
            let usage = item.unit_price.map_or(0.0, |p| d.cents as f64 / 100.0 / p);
            groups
                .entry(group_key(item))
                .or_default()
                .add(d.cents, usage, &item.usage_unit);
        }
        let metric_values = |s: &Sum| -> Value {
            let mut m = serde_json::Map::new();
            for name in &metrics {
                let v = if name == "UsageQuantity" || name == "NormalizedUsageAmount" {
                    json!({"Amount": format!("{:.10}", s.usage), "Unit": s.unit.as_deref().unwrap_or("N/A")})
                } else {
                    json!({"Amount": amount_text(s.cents), "Unit": cost.currency})
                };
                m.insert(name.clone(), v);
            }
            Value::Object(m)
        };
        let estimated = to > today;
        let period = json!({"Start": from.to_string(), "End": to.to_string()});
        if keys.is_empty() {
            let mut total = Sum::default();
            for s in groups.values() {
                total.add(s.cents, s.usage, s.unit.as_deref().unwrap_or("N/A"));
                total.mixed |= s.mixed;
            }
            if total.mixed {
                total.unit = None;
            }
            results.push(json!({"TimePeriod": period, "Total": metric_values(&total), "Groups": [], "Estimated": estimated}));
        } else {
            let gs: Vec<Value> = groups
                .iter()
                .map(|(k, s)| json!({"Keys": k, "Metrics": metric_values(s)}))
                .collect();
            results.push(
                json!({"TimePeriod": period, "Total": {}, "Groups": gs, "Estimated": estimated}),
            );
        }
    }
    let definitions: Vec<Value> = keys
        .iter()
        .map(|(tag, k)| json!({"Type": if *tag { "TAG" } else { "DIMENSION" }, "Key": k}))
        .collect();
    Ok(
        json!({"ResultsByTime": results, "GroupDefinitions": definitions, "DimensionValueAttributes": []}),
    )
}
