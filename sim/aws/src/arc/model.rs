//! The `arc` scenario section: managed resources (an ARN, the Availability Zone IDs it is
//! deployed in, its autoshift status), zonal shifts already started, and the account's
//! zone names per zone ID (which ARC never serves; the environment hands it to the servers).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::error::AwsSimError;
use crate::faults::Fault;
use crate::time::{When, parse_duration};

pub(super) const SECTION: &str = "arc";

/// The `arc` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Section {
    /// Zone name → zone ID, e.g. `us-east-1b: use1-az2` (the account's mapping).
    #[serde(default)]
    pub zone_ids: BTreeMap<String, String>,
    #[serde(default)]
    pub resources: Vec<ResourceSpec>,
    #[serde(default)]
    pub shifts: Vec<ShiftSpec>,
    #[serde(default)]
    pub faults: Vec<Fault>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResourceSpec {
    pub arn: String,
    /// Default: the ARN's last path segment but one (`shop` of `.../app/shop/1`).
    pub name: Option<String>,
    /// Availability Zone IDs (`use1-az1`).
    pub zones: Vec<String>,
    /// `ENABLED` or `DISABLED` (default).
    pub autoshift: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ShiftSpec {
    pub resource: String,
    pub away_from: String,
    /// When it started (`-10m`).
    pub started: When,
    /// How long it lasts from `started` (`1h`).
    pub expires_in: String,
    #[serde(default)]
    pub comment: String,
    /// Cancelled already.
    #[serde(default)]
    pub canceled: bool,
}

/// A managed resource.
#[derive(Debug, Clone)]
pub(super) struct Resource {
    pub arn: String,
    pub name: String,
    pub zones: Vec<String>,
    pub autoshift: String,
}

/// A zonal shift, as ARC keeps it.
#[derive(Debug, Clone)]
pub(super) struct Shift {
    pub id: String,
    pub resource: String,
    pub away_from: String,
    pub start: DateTime<Utc>,
    pub expiry: DateTime<Utc>,
    pub comment: String,
    pub canceled: bool,
}

impl Shift {
    /// `ACTIVE`, `EXPIRED` or `CANCELED` at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> &'static str {
        if self.canceled {
            "CANCELED"
        } else if self.expiry <= now {
            "EXPIRED"
        } else {
            "ACTIVE"
        }
    }
}

/// The resource's name from its ARN: `shop` of `loadbalancer/app/shop/1`, else the last part.
pub(super) fn name_from_arn(arn: &str) -> String {
    let path: Vec<&str> = arn.rsplit(':').next().unwrap_or(arn).split('/').collect();
    match path.as_slice() {
        ["loadbalancer", _, name, _] => (*name).to_owned(),
        [.., last] => (*last).to_owned(),
        [] => arn.to_owned(),
    }
}

/// ARC's `expiresIn`: a whole number of minutes (`m`) or hours (`h`), 1 minute to 72 hours.
pub(super) fn expires_in(text: &str) -> Option<Duration> {
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    let d = match unit {
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        _ => return None,
    };
    (d <= Duration::hours(72)).then_some(d)
}

impl Section {
    /// The resources and shifts, times resolved against `start`.
    pub fn build(self, start: DateTime<Utc>) -> Result<(Vec<Resource>, Vec<Shift>), AwsSimError> {
        let mut resources = Vec::new();
        for (i, r) in self.resources.into_iter().enumerate() {
            if r.zones.is_empty() {
                return Err(AwsSimError::scenario(
                    SECTION,
                    format!("resources[{i}].zones"),
                    "a managed resource is in at least one Availability Zone (IDs such as use1-az1)",
                ));
            }
            resources.push(Resource {
                name: r.name.unwrap_or_else(|| name_from_arn(&r.arn)),
                arn: r.arn,
                zones: r.zones,
                autoshift: r.autoshift.unwrap_or_else(|| "DISABLED".into()),
            });
        }
        let mut shifts = Vec::new();
        for (i, s) in self.shifts.into_iter().enumerate() {
            let field = |f: &str| format!("shifts[{i}].{f}");
            let begun = s.started.at(start).ok_or_else(|| {
                AwsSimError::scenario(SECTION, field("started"), "not a time such as -10m")
            })?;
            let lasts = parse_duration(&s.expires_in).ok_or_else(|| {
                AwsSimError::scenario(SECTION, field("expires_in"), "not a duration such as 1h")
            })?;
            if !resources.iter().any(|r| r.arn == s.resource) {
                return Err(AwsSimError::scenario(
                    SECTION,
                    field("resource"),
                    format!("{} is not one of the section's resources", s.resource),
                ));
            }
            shifts.push(Shift {
                id: shift_id(i as u64 + 1),
                resource: s.resource,
                away_from: s.away_from,
                start: begun,
                expiry: begun + lasts,
                comment: s.comment,
                canceled: s.canceled,
            });
        }
        Ok((resources, shifts))
    }
}

/// The `n`-th zonal shift's id, shaped like ARC's (a UUID).
pub(super) fn shift_id(n: u64) -> String {
    format!("5e1f7a00-0000-4000-8000-{n:012x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_is_minutes_or_hours_up_to_three_days() {
        assert_eq!(expires_in("30m"), Some(Duration::minutes(30)));
        assert_eq!(expires_in("72h"), Some(Duration::hours(72)));
        assert_eq!(expires_in("4320m"), Some(Duration::hours(72)));
        for bad in [
            "73h", "4321m", "0m", "05m", "1d", "m", "", "1.5h", "-1h", "1 h",
        ] {
            assert_eq!(expires_in(bad), None, "{bad}");
        }
    }

    #[test]
    fn names_come_from_the_arn() {
        assert_eq!(
            name_from_arn(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop/1"
            ),
            "shop"
        );
        assert_eq!(
            name_from_arn("arn:aws:eks:us-east-1:123456789012:cluster/prod"),
            "prod"
        );
    }
}
