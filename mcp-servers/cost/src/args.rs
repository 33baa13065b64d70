//! Tool arguments. The doc comments become the JSON Schema the model reads: they are prompt
//! text, written for a model and an SRE.

use schemars::JsonSchema;
use serde::Deserialize;

/// Arguments of `cost_and_usage`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CostAndUsage {
    /// First day, YYYY-MM-DD (inclusive), e.g. "2026-02-01".
    pub start: String,
    /// Day after the last, YYYY-MM-DD (exclusive): "2026-03-01" ends with February.
    pub end: String,
    /// DAILY or MONTHLY (default).
    pub granularity: Option<String>,
    /// Group by SERVICE, USAGE_TYPE, USAGE_TYPE_GROUP, INSTANCE_TYPE, PURCHASE_TYPE, REGION,
    /// LINKED_ACCOUNT, or a tag as TAG:key (e.g. "TAG:team"). Omit for totals.
    pub group_by: Option<String>,
    /// Only this service, e.g. "Amazon Elastic Compute Cloud - Compute".
    pub service: Option<String>,
}

/// Arguments of `compare_periods`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComparePeriods {
    /// First day of the earlier period, YYYY-MM-DD, e.g. "2026-01-01".
    pub base_start: String,
    /// Day after the earlier period, YYYY-MM-DD (exclusive), e.g. "2026-02-01".
    pub base_end: String,
    /// First day of the later period, YYYY-MM-DD, e.g. "2026-02-01".
    pub compare_start: String,
    /// Day after the later period, YYYY-MM-DD (exclusive), e.g. "2026-03-01".
    pub compare_end: String,
    /// What a driver is: SERVICE, USAGE_TYPE, USAGE_TYPE_GROUP, INSTANCE_TYPE, REGION or
    /// TAG:key. Default: each service's usage types (e.g. EC2 BoxUsage:m5.4xlarge), with a
    /// per-service roll-up.
    pub group_by: Option<String>,
    /// Only this service, e.g. "Amazon Elastic Compute Cloud - Compute".
    pub service: Option<String>,
}

/// Arguments of `cost_forecast`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CostForecast {
    /// First day to forecast, YYYY-MM-DD: today or later.
    pub start: String,
    /// Day after the last to forecast, YYYY-MM-DD (exclusive), at most 12 months ahead.
    pub end: String,
    /// DAILY or MONTHLY (default).
    pub granularity: Option<String>,
    /// Only this service, e.g. "Amazon Elastic Compute Cloud - Compute".
    pub service: Option<String>,
}
