//! Cost Explorer: the `cost` scenario section (monthly amounts per service and usage type,
//! spread over the days of each month) and GetCostAndUsage and GetCostForecast.

mod filter;
mod forecast;
mod usage;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc, Weekday};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult, AwsSimError, decode};
use crate::faults::Fault;
use crate::state::Clock;

const SECTION: &str = "cost";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    /// Currency of every amount (default `USD`).
    currency: Option<String>,
    /// The linked account of every item (default `123456789012`).
    account: Option<String>,
    /// The months `amounts` are for, relative to this month (`0`; `-1` is last month).
    #[serde(default)]
    months: Vec<i32>,
    #[serde(default)]
    items: Vec<ItemSpec>,
    #[serde(default)]
    faults: Vec<Fault>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemSpec {
    service: String,
    usage_type: String,
    #[serde(default = "default_region")]
    region: String,
    #[serde(default = "default_purchase")]
    purchase_type: String,
    operation: Option<String>,
    #[serde(default)]
    tags: Map<String, Value>,
    /// One amount per entry of `months`: the month's total (for this month, the total the
    /// month would reach; only the days before today are billed).
    amounts: Vec<f64>,
    /// How a month's total spreads over its days: `flat` (default), `ramp` (growing through
    /// the month, from half to one and a half times the daily average) or `weekday`
    /// (weekends at 60 %).
    #[serde(default)]
    shape: Shape,
    /// Price per unit of usage, to report UsageQuantity (amount / unit_price).
    unit_price: Option<f64>,
    /// Unit of usage, e.g. `Hrs`, `GB-Mo`, `GB` (default `N/A`).
    usage_unit: Option<String>,
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_purchase() -> String {
    "On Demand Instances".into()
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Shape {
    #[default]
    Flat,
    Ramp,
    Weekday,
}

/// One line item: what a group key or a filter looks at.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub service: String,
    pub usage_type: String,
    pub region: String,
    pub purchase_type: String,
    pub operation: String,
    pub account: String,
    pub tags: Vec<(String, String)>,
    pub unit_price: Option<f64>,
    pub usage_unit: String,
}

impl Item {
    /// The value of a dimension, or `None` for a dimension the simulator does not know.
    pub fn dimension(&self, key: &str) -> Option<String> {
        Some(match key {
            "SERVICE" => self.service.clone(),
            "USAGE_TYPE" => self.usage_type.clone(),
            "REGION" => self.region.clone(),
            "LINKED_ACCOUNT" => self.account.clone(),
            "PURCHASE_TYPE" => self.purchase_type.clone(),
            "OPERATION" => self.operation.clone(),
            "RECORD_TYPE" => "Usage".into(),
            "INSTANCE_TYPE" => self
                .usage_type
                .split_once("Usage:")
                .map_or_else(|| "NoInstanceType".into(), |(_, t)| t.to_owned()),
            "USAGE_TYPE_GROUP" => usage::group(&self.service, &self.usage_type).to_owned(),
            _ => return None,
        })
    }

    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The dimensions GetCostAndUsage can group and filter by here.
pub(crate) const DIMENSIONS: &[&str] = &[
    "SERVICE",
    "USAGE_TYPE",
    "REGION",
    "LINKED_ACCOUNT",
    "PURCHASE_TYPE",
    "OPERATION",
    "RECORD_TYPE",
    "INSTANCE_TYPE",
    "USAGE_TYPE_GROUP",
];

/// A day's cost of one item, in cents (exact sums).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Daily {
    pub date: NaiveDate,
    pub item: usize,
    pub cents: i64,
}

/// The simulated Cost Explorer.
#[derive(Debug, Default)]
pub(crate) struct Cost {
    pub currency: String,
    pub items: Vec<Item>,
    /// Sorted by date.
    pub days: Vec<Daily>,
}

fn field_err(field: String, message: impl Into<String>) -> AwsSimError {
    AwsSimError::scenario(SECTION, field, message)
}

/// The first day of the month `offset` months from `today`'s.
pub(crate) fn month_start(today: NaiveDate, offset: i32) -> Option<NaiveDate> {
    let first = today.with_day(1)?;
    if offset >= 0 {
        first.checked_add_months(Months::new(offset.unsigned_abs()))
    } else {
        first.checked_sub_months(Months::new(offset.unsigned_abs()))
    }
}

impl Cost {
    pub fn from_section(
        section: Option<&Value>,
        start: DateTime<Utc>,
    ) -> Result<(Cost, Vec<Fault>), AwsSimError> {
        let s: Section = match section {
            Some(v) => decode(SECTION, v)?,
            None => Section::default(),
        };
        let today = start.date_naive();
        let account = s.account.unwrap_or_else(|| "123456789012".into());
        let mut cost = Cost {
            currency: s.currency.unwrap_or_else(|| "USD".into()),
            ..Cost::default()
        };
        for (mi, m) in s.months.iter().enumerate() {
            if !(-24..=0).contains(m) || s.months.get(..mi).is_some_and(|before| before.contains(m))
            {
                return Err(field_err(
                    format!("months[{mi}]"),
                    "months are distinct whole numbers from -24 to 0 (0 is this month)",
                ));
            }
        }
        for (i, spec) in s.items.iter().enumerate() {
            let field = |f: &str| format!("items[{i}].{f}");
            if spec.amounts.len() != s.months.len() {
                return Err(field_err(
                    field("amounts"),
                    format!(
                        "give one amount per entry of `months` ({} of them)",
                        s.months.len()
                    ),
                ));
            }
            let mut tags = Vec::new();
            for (k, v) in &spec.tags {
                let Some(v) = v.as_str() else {
                    return Err(field_err(
                        field(&format!("tags.{k}")),
                        "a tag value must be a string",
                    ));
                };
                tags.push((k.clone(), v.to_owned()));
            }
            if spec.unit_price.is_some_and(|p| !(p.is_finite() && p > 0.0)) {
                return Err(field_err(field("unit_price"), "must be a positive number"));
            }
            cost.items.push(Item {
                service: spec.service.clone(),
                usage_type: spec.usage_type.clone(),
                region: spec.region.clone(),
                purchase_type: spec.purchase_type.clone(),
                operation: spec.operation.clone().unwrap_or_default(),
                account: account.clone(),
                tags,
                unit_price: spec.unit_price,
                usage_unit: spec.usage_unit.clone().unwrap_or_else(|| "N/A".into()),
            });
            for (m, amount) in s.months.iter().zip(&spec.amounts) {
                if !(amount.is_finite() && amount.abs() < 1e12) {
                    return Err(field_err(
                        field("amounts"),
                        "amounts must be finite numbers",
                    ));
                }
                let first = month_start(today, *m)
                    .ok_or_else(|| field_err(field("amounts"), "month out of range"))?;
                for (date, cents) in spread(first, *amount, spec.shape) {
                    if date < today {
                        cost.days.push(Daily {
                            date,
                            item: i,
                            cents,
                        });
                    }
                }
            }
        }
        cost.days.sort_by_key(|d| d.date);
        Ok((cost, s.faults))
    }

    pub fn handle(&self, operation: &str, req: &Value, clock: Clock) -> ApiResult {
        match operation {
            "GetCostAndUsage" => usage::get_cost_and_usage(self, req, clock),
            "GetCostForecast" => forecast::get_cost_forecast(self, req, clock),
            other => Err(ApiError::client(
                "UnknownOperationException",
                format!(
                    "the simulated Cost Explorer does not implement {other}; it serves GetCostAndUsage and GetCostForecast"
                ),
            )),
        }
    }
}

/// Spreads a month's total over its days by `shape`, in cents; the days sum exactly.
fn spread(first: NaiveDate, amount: f64, shape: Shape) -> Vec<(NaiveDate, i64)> {
    let days: Vec<NaiveDate> = first
        .iter_days()
        .take_while(|d| d.month() == first.month())
        .collect();
    let n = days.len();
    #[allow(clippy::cast_precision_loss)]
    let weights: Vec<f64> = days
        .iter()
        .enumerate()
        .map(|(i, d)| match shape {
            Shape::Flat => 1.0,
            Shape::Ramp => 0.5 + i as f64 / (n.max(2) - 1) as f64,
            Shape::Weekday => {
                if matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
                    0.6
                } else {
                    1.0
                }
            }
        })
        .collect();
    let total_weight: f64 = weights.iter().sum();
    #[allow(clippy::cast_possible_truncation)]
    let total_cents = (amount * 100.0).round() as i64;
    let mut out = Vec::with_capacity(n);
    let mut given = 0i64;
    for (i, (d, w)) in days.iter().zip(&weights).enumerate() {
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let cents = if i + 1 == n {
            total_cents - given
        } else {
            (total_cents as f64 * w / total_weight).round() as i64
        };
        given += cents;
        out.push((*d, cents));
    }
    out
}

/// Parses a Cost Explorer date (`YYYY-MM-DD`).
pub(crate) fn parse_date(s: &str, member: &str) -> Result<NaiveDate, ApiError> {
    let ok =
        s.len() == 10 && s.as_bytes().get(4) == Some(&b'-') && s.as_bytes().get(7) == Some(&b'-');
    ok.then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| {
            ApiError::client(
                "ValidationException",
                format!("{member}: {s:?} is not a valid date; use YYYY-MM-DD"),
            )
        })
}

/// A money amount as Cost Explorer writes it.
pub(crate) fn amount_text(cents: i64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let v = cents as f64 / 100.0;
    format!("{v:.10}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreading_is_exact() {
        let first = NaiveDate::from_ymd_opt(2026, 2, 1).unwrap_or_default();
        for shape in [Shape::Flat, Shape::Ramp, Shape::Weekday] {
            let days = spread(first, 3200.0, shape);
            assert_eq!(days.len(), 28);
            assert_eq!(days.iter().map(|d| d.1).sum::<i64>(), 320_000, "{shape:?}");
        }
        let ramp = spread(first, 2800.0, Shape::Ramp);
        assert!(ramp[0].1 < ramp[27].1);
    }

    #[test]
    fn months_and_dates() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap_or_default();
        assert_eq!(month_start(today, -2), NaiveDate::from_ymd_opt(2025, 11, 1));
        assert!(parse_date("2026-02-30", "Start").is_err());
        assert!(parse_date("2026-2-3", "Start").is_err());
        assert!(parse_date("2026-02-03", "Start").is_ok());
        assert_eq!(amount_text(858_621), "8586.2100000000");
    }
}
