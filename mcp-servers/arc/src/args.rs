//! Tool arguments. The doc comments become the JSON Schema the model reads: they are prompt
//! text, written for a model and an SRE.

use schemars::JsonSchema;
use serde::Deserialize;

/// Arguments of `list_managed_resources`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListManagedResources {}

/// Arguments of `get_managed_resource`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetManagedResource {
    /// The resource's ARN (e.g. an Application Load Balancer's
    /// "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188"),
    /// its name as list_managed_resources shows it ("shop"), or a load balancer's CloudWatch
    /// LoadBalancer dimension ("app/shop/50dc6c495c0c9188").
    pub resource: String,
}

/// Which zonal shifts `list_zonal_shifts` returns.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum ShiftStatus {
    /// In effect now (the default).
    #[default]
    Active,
    /// Ended at their expiry.
    Expired,
    /// Cancelled before their expiry.
    Canceled,
    /// All of them.
    All,
}

/// Arguments of `list_zonal_shifts`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListZonalShifts {
    /// ACTIVE (default), EXPIRED, CANCELED or ALL.
    #[serde(default)]
    pub status: ShiftStatus,
    /// Only the shifts of this resource (ARN, name or LoadBalancer dimension).
    pub resource: Option<String>,
}

/// Arguments of `start_zonal_shift`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartZonalShift {
    /// The managed resource: its ARN, its name as list_managed_resources shows it, or a load
    /// balancer's CloudWatch LoadBalancer dimension ("app/shop/50dc6c495c0c9188").
    pub resource: String,
    /// The Availability Zone to move traffic away from: its zone ID as ARC names it
    /// ("use1-az2") or its name ("us-east-1b", when the server knows the account's mapping).
    pub away_from: String,
    /// How long the shift lasts before traffic returns by itself: a whole number of minutes
    /// or hours, e.g. "30m" or "2h" (ARC allows 1m to 72h). Choose what covers the
    /// investigation; it can be cancelled earlier.
    pub expires_in: String,
    /// Why, for the record ARC keeps (at most 128 characters), with the evidence, e.g.
    /// "gray failure in us-east-1b: p99 412 ms, 5XX 2.9 % vs 0.1 % in other zones".
    pub comment: String,
    /// Report the impact without starting the shift.
    #[serde(default)]
    pub dry_run: bool,
}

/// Arguments of `cancel_zonal_shift`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelZonalShift {
    /// The zonal shift's ID, as list_zonal_shifts shows it.
    pub zonal_shift_id: String,
    /// Report the impact (the zone traffic returns to, its healthy targets) without
    /// cancelling.
    #[serde(default)]
    pub dry_run: bool,
}
