//! What a zonal shift would do, judged before it is sent (pure): the zone traffic leaves, the
//! zones that take it and their capacity (healthy targets and share of the total), the other
//! shifts on the resource, how long it lasts. A shift that would leave no zone or no healthy target,
//! or that the resource's active zonal shift would make ARC refuse, is refused here with why.

use chrono::Duration;
use serde_json::{Value, json};

use crate::capacity::Capacity;
use crate::resource::Resource;
use crate::zones::ZoneMap;

/// What the caller asked to shift.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    pub resource: &'a Resource,
    /// The zone ID traffic moves away from (already resolved to one of the resource's).
    pub away_from: &'a str,
    pub expires_in: &'a str,
    pub lasts: Duration,
}

fn target(arn: &str) -> Value {
    json!({"kind": "ManagedResource", "name": arn})
}

/// The zones still serving once `away` is shifted away (weight above 0, not `away`).
fn zones_left<'a>(r: &'a Resource, away: &str) -> Vec<&'a String> {
    r.weights
        .iter()
        .filter(|(z, w)| z.as_str() != away && **w > 0.0)
        .map(|(z, _)| z)
        .collect()
}

/// The capacity part of a start impact, or why the shift would leave none.
fn capacity_left(
    capacity: &Capacity,
    away: &str,
    left: &[&String],
    zones: &ZoneMap,
) -> Result<Value, String> {
    let Capacity::Known { per_zone, source } = capacity else {
        return Ok(serde_json::to_value(capacity).unwrap_or(Value::Null));
    };
    let total: f64 = per_zone.values().sum();
    let remaining: f64 = left.iter().filter_map(|z| per_zone.get(z.as_str())).sum();
    if remaining <= 0.0 {
        return Err(format!(
            "shifting away from {} would leave no healthy target: the other zones ({}) have 0 healthy targets ({source}). Do not shift; fix the targets or scale the other zones first",
            zones.label(away),
            left.iter()
                .map(|z| zones.label(z))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let percent = |n: f64| {
        if total > 0.0 {
            (n / total * 1000.0).round() / 10.0
        } else {
            0.0
        }
    };
    Ok(json!({
        "unit": "healthy targets",
        "source": source,
        "total": total,
        "away_from": per_zone.get(away).copied().unwrap_or(0.0),
        "left": remaining,
        "left_percent": percent(remaining),
        "per_zone": left.iter().map(|z| ((*z).clone(), json!(per_zone.get(z.as_str()).copied().unwrap_or(0.0)))).collect::<serde_json::Map<_, _>>(),
    }))
}

/// The impact of starting the shift, or why it is refused.
pub fn start(plan: &Plan<'_>, capacity: &Capacity, zones: &ZoneMap) -> Result<Value, String> {
    let r = plan.resource;
    if let Some(s) = r.shifts.iter().find(|s| s.shift_type == "ZONAL_SHIFT") {
        return Err(format!(
            "{} already has an active zonal shift ({}, away from {}, expires {}); ARC allows one at a time. Cancel it with arc.cancel_zonal_shift first, or keep it",
            r.arn,
            s.zonal_shift_id,
            zones.label(&s.away_from),
            s.expires_at.to_rfc3339()
        ));
    }
    let left = zones_left(r, plan.away_from);
    if left.is_empty() {
        return Err(format!(
            "shifting {} away from {} would leave it no zone to serve from (zones: {}); do not shift",
            r.arn,
            zones.label(plan.away_from),
            r.zones().join(", ")
        ));
    }
    let capacity = capacity_left(capacity, plan.away_from, &left, zones)?;
    Ok(json!({
        "action": "start_zonal_shift",
        "target": target(&r.arn),
        "resource": {"arn": r.arn, "name": r.name},
        "away_from": plan.away_from,
        "away_from_name": zones.name_of(plan.away_from),
        "zones_left": left,
        "capacity": capacity,
        "other_shifts": r.shifts,
        "autoshift": r.autoshift,
        "expires_in": plan.expires_in,
        // How long, not until when: a re-assessment after an approval must find the same impact.
        "expires_in_minutes": plan.lasts.num_minutes(),
    }))
}

/// The impact of cancelling the active zonal shift `id` of `r` (traffic returns to its zone).
pub fn cancel(
    r: &Resource,
    id: &str,
    capacity: &Capacity,
    zones: &ZoneMap,
) -> Result<Value, String> {
    let Some(s) = r.shifts.iter().find(|s| s.zonal_shift_id == id) else {
        return Err(format!(
            "zonal shift {id} is not active on {}; arc.list_zonal_shifts lists the active ones",
            r.arn
        ));
    };
    let returning = match capacity {
        Capacity::Known { per_zone, source } => json!({
            "unit": "healthy targets",
            "source": source,
            "returning_zone": per_zone.get(&s.away_from).copied().unwrap_or(0.0),
            "per_zone": per_zone,
        }),
        unknown => serde_json::to_value(unknown).unwrap_or(Value::Null),
    };
    Ok(json!({
        "action": "cancel_zonal_shift",
        "target": target(&r.arn),
        "resource": {"arn": r.arn, "name": r.name},
        "zonal_shift_id": id,
        "traffic_returns_to": s.away_from,
        "traffic_returns_to_name": zones.name_of(&s.away_from),
        "capacity": returning,
        "was_expiring_at": s.expires_at.to_rfc3339(),
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::DateTime;

    use super::*;
    use crate::resource::ShiftIn;

    const ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/shop/1";

    fn resource(weights: &[(&str, f32)]) -> Resource {
        Resource {
            arn: ARN.into(),
            name: "shop".into(),
            weights: weights.iter().map(|(z, w)| ((*z).to_owned(), *w)).collect(),
            shifts: Vec::new(),
            autoshift: "DISABLED".into(),
        }
    }

    fn known(per: &[(&str, f64)]) -> Capacity {
        Capacity::Known {
            per_zone: per
                .iter()
                .map(|(z, n)| ((*z).to_owned(), *n))
                .collect::<BTreeMap<_, _>>(),
            source: "test".into(),
        }
    }

    fn zones() -> ZoneMap {
        ZoneMap::parse("us-east-1a=use1-az1,us-east-1b=use1-az2,us-east-1c=use1-az4").unwrap()
    }

    fn plan(r: &Resource) -> Plan<'_> {
        Plan {
            resource: r,
            away_from: "use1-az2",
            expires_in: "1h",
            lasts: Duration::hours(1),
        }
    }

    #[test]
    fn the_impact_names_the_zone_the_capacity_left_and_how_long() {
        let r = resource(&[("use1-az1", 1.0), ("use1-az2", 1.0), ("use1-az4", 1.0)]);
        let cap = known(&[("use1-az1", 3.0), ("use1-az2", 3.0), ("use1-az4", 2.0)]);
        let i = start(&plan(&r), &cap, &zones()).unwrap();
        assert_eq!(i["target"], json!({"kind": "ManagedResource", "name": ARN}));
        assert_eq!(i["away_from"], "use1-az2");
        assert_eq!(i["away_from_name"], "us-east-1b");
        assert_eq!(i["zones_left"], json!(["use1-az1", "use1-az4"]));
        assert_eq!(i["capacity"]["left"], 5.0);
        assert_eq!(i["capacity"]["left_percent"], 62.5);
        assert_eq!(i["capacity"]["away_from"], 3.0);
        assert_eq!(i["expires_in_minutes"], 60);
    }

    #[test]
    fn refuses_a_shift_leaving_no_healthy_target_or_no_zone() {
        let r = resource(&[("use1-az1", 1.0), ("use1-az2", 1.0)]);
        let e = start(
            &plan(&r),
            &known(&[("use1-az1", 0.0), ("use1-az2", 4.0)]),
            &zones(),
        )
        .unwrap_err();
        assert!(
            e.contains("no healthy target") && e.contains("use1-az1 (us-east-1a)"),
            "{e}"
        );
        let r = resource(&[("use1-az1", 0.0), ("use1-az2", 1.0)]);
        let e = start(&plan(&r), &known(&[]), &zones()).unwrap_err();
        assert!(e.contains("no zone to serve from"), "{e}");
    }

    #[test]
    fn refuses_a_second_zonal_shift_and_keeps_unknown_capacity_visible() {
        let mut r = resource(&[("use1-az1", 1.0), ("use1-az2", 1.0)]);
        let unknown = Capacity::Unknown {
            unknown: "not a load balancer".into(),
        };
        let i = start(&plan(&r), &unknown, &zones()).unwrap();
        assert_eq!(i["capacity"]["unknown"], "not a load balancer");
        r.shifts.push(ShiftIn {
            zonal_shift_id: "z-1".into(),
            away_from: "use1-az1".into(),
            expires_at: DateTime::from_timestamp(1_700_003_600, 0).unwrap(),
            shift_type: "ZONAL_SHIFT".into(),
            applied: true,
            comment: String::new(),
        });
        let e = start(&plan(&r), &unknown, &zones()).unwrap_err();
        assert!(
            e.contains("z-1") && e.contains("arc.cancel_zonal_shift"),
            "{e}"
        );
        let c = cancel(&r, "z-1", &known(&[("use1-az1", 3.0)]), &zones()).unwrap();
        assert_eq!(c["traffic_returns_to_name"], "us-east-1a");
        assert_eq!(c["capacity"]["returning_zone"], 3.0);
        assert!(cancel(&r, "z-2", &unknown, &zones()).is_err());
    }
}
