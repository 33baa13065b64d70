//! A managed resource as the tools see it: its zone IDs with their applied weights, the
//! zonal shifts in effect on it and its autoshift status, read with GetManagedResource; and
//! resolving what a caller named (an ARN, or a resource's name) to an ARN.

use std::collections::BTreeMap;

use aws_sdk_arczonalshift::types::{AppliedStatus, ZonalShiftInResource};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{ToolFailure, ToolResult};
use crate::{Clients, SERVICE};

/// Pages of ListManagedResources read at most.
const MAX_PAGES: usize = 20;

/// A managed resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    pub arn: String,
    pub name: String,
    /// Zone ID → applied weight (1: serving traffic, 0: shifted away).
    pub weights: BTreeMap<String, f32>,
    /// The zonal shifts, practice runs and autoshifts in effect.
    pub shifts: Vec<ShiftIn>,
    pub autoshift: String,
}

/// A shift in effect on a resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShiftIn {
    pub zonal_shift_id: String,
    pub away_from: String,
    pub expires_at: DateTime<Utc>,
    /// `ZONAL_SHIFT`, `PRACTICE_RUN`, `FIS_EXPERIMENT` or `ZONAL_AUTOSHIFT`.
    pub shift_type: String,
    pub applied: bool,
    pub comment: String,
}

impl Resource {
    /// The resource's zone IDs, sorted.
    pub fn zones(&self) -> Vec<String> {
        self.weights.keys().cloned().collect()
    }
}

/// An SDK timestamp as a chrono one (the epoch when out of range).
pub fn time_of(t: &aws_sdk_arczonalshift::primitives::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default()
}

fn shift_in(s: &ZonalShiftInResource) -> ShiftIn {
    ShiftIn {
        zonal_shift_id: s.zonal_shift_id().to_owned(),
        away_from: s.away_from().to_owned(),
        expires_at: time_of(s.expiry_time()),
        shift_type: s
            .shift_type()
            .map_or("ZONAL_SHIFT", |t| t.as_str())
            .to_owned(),
        applied: *s.applied_status() == AppliedStatus::Applied,
        comment: s.comment().to_owned(),
    }
}

/// GetManagedResource of `arn`.
pub async fn read(c: &Clients, arn: &str) -> ToolResult<Resource> {
    let out = c
        .arc
        .get_managed_resource()
        .resource_identifier(arn)
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(s) if s.is_resource_not_found_exception() => ToolFailure::NotFound(format!(
                "{arn} is not a resource managed by ARC zonal shift; arc.list_managed_resources lists them"
            )),
            _ => ToolFailure::from_sdk(SERVICE, c.attempts, e),
        })?;
    Ok(Resource {
        arn: out.arn().unwrap_or(arn).to_owned(),
        name: out.name().unwrap_or_default().to_owned(),
        weights: out
            .applied_weights()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
        shifts: out.zonal_shifts().iter().map(shift_in).collect(),
        autoshift: out
            .zonal_autoshift_status()
            .map_or("DISABLED", |s| s.as_str())
            .to_owned(),
    })
}

/// Every managed resource (ListManagedResources, every page up to a bound), with their zones.
pub async fn list(c: &Clients) -> ToolResult<Vec<Resource>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = c
            .arc
            .list_managed_resources()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| ToolFailure::from_sdk(SERVICE, c.attempts, e))?;
        for r in page.items() {
            let mut weights: BTreeMap<String, f32> = r
                .availability_zones()
                .iter()
                .map(|z| (z.clone(), 1.0))
                .collect();
            for (z, w) in r.applied_weights().into_iter().flatten() {
                weights.insert(z.clone(), *w);
            }
            out.push(Resource {
                arn: r.arn().unwrap_or_default().to_owned(),
                name: r.name().unwrap_or_default().to_owned(),
                weights,
                shifts: r.zonal_shifts().iter().map(shift_in).collect(),
                autoshift: r
                    .zonal_autoshift_status()
                    .map_or("DISABLED", |s| s.as_str())
                    .to_owned(),
            });
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

/// The ARN of what the caller named: an ARN as given, or the one managed resource of that
/// name or, for a load balancer, of that CloudWatch `LoadBalancer` dimension (`app/shop/1`).
pub async fn resolve(c: &Clients, named: &str) -> ToolResult<String> {
    let named = named.trim();
    if named.starts_with("arn:") {
        return Ok(named.to_owned());
    }
    if named.is_empty() {
        return Err(ToolFailure::BadArgument(
            "resource is empty: give the resource's ARN, its name, or a load balancer's LoadBalancer dimension (arc.list_managed_resources lists them)".into(),
        ));
    }
    let all = list(c).await?;
    let by_dimension = format!(":loadbalancer/{named}");
    let matching: Vec<&Resource> = all
        .iter()
        .filter(|r| r.name == named || r.arn.ends_with(&by_dimension))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one.arn.clone()),
        [] => Err(ToolFailure::NotFound(format!(
            "no managed resource is named {named:?}; managed resources: {}",
            names(&all)
        ))),
        many => Err(ToolFailure::BadArgument(format!(
            "{} managed resources are named {named:?}; give the ARN: {}",
            many.len(),
            many.iter()
                .map(|r| r.arn.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn names(all: &[Resource]) -> String {
    if all.is_empty() {
        return "none in this account and Region".into();
    }
    all.iter()
        .map(|r| format!("{} ({})", r.name, r.arn))
        .collect::<Vec<_>>()
        .join(", ")
}
