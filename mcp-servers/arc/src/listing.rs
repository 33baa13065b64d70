//! The read-only tools: managed resources (with healthy targets per zone for one) and zonal
//! shifts.

use aws_sdk_arczonalshift::types::{ZonalShiftStatus, ZonalShiftSummary};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_mcp_common::{Table, ok_json};

use crate::args::{GetManagedResource, ListManagedResources, ListZonalShifts, ShiftStatus};
use crate::capacity::{self, Capacity};
use crate::error::{ToolFailure, ToolResult};
use crate::resource::{self, Resource, time_of};
use crate::{Clients, SERVICE};

/// Pages of ListZonalShifts read at most.
const MAX_PAGES: usize = 20;

fn weights_text(c: &Clients, r: &Resource) -> String {
    r.weights
        .iter()
        .map(|(z, w)| format!("{}={w}", c.zones.label(z)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn list_managed_resources(
    c: &Clients,
    _a: ListManagedResources,
) -> ToolResult<CallToolResult> {
    let all = resource::list(c).await?;
    if all.is_empty() {
        return Ok(ok_json(
            "No resources are managed by ARC zonal shift in this account and Region.",
            &json!({"resources": []}),
        ));
    }
    let mut t = Table::new([
        "NAME",
        "ZONES (WEIGHT)",
        "SHIFTS IN EFFECT",
        "AUTOSHIFT",
        "ARN",
    ]);
    for r in &all {
        let shifts = r
            .shifts
            .iter()
            .map(|s| format!("{} away from {}", s.shift_type, c.zones.label(&s.away_from)))
            .collect::<Vec<_>>()
            .join("; ");
        t.row([
            r.name.clone(),
            weights_text(c, r),
            if shifts.is_empty() {
                "none".into()
            } else {
                shifts
            },
            r.autoshift.clone(),
            r.arn.clone(),
        ]);
    }
    Ok(ok_json(t.render(), &json!({"resources": all})))
}

pub async fn get_managed_resource(
    c: &Clients,
    a: GetManagedResource,
) -> ToolResult<CallToolResult> {
    let arn = resource::resolve(c, &a.resource).await?;
    let r = resource::read(c, &arn).await?;
    let capacity = capacity::read(c, &arn, &r.zones()).await?;
    let mut text = format!(
        "{} ({})\nautoshift: {}\nzones (applied weight): {}\n",
        r.name,
        r.arn,
        r.autoshift,
        weights_text(c, &r)
    );
    for s in &r.shifts {
        text.push_str(&format!(
            "in effect: {} {} away from {}, until {} ({})\n",
            s.shift_type,
            s.zonal_shift_id,
            c.zones.label(&s.away_from),
            s.expires_at.to_rfc3339(),
            s.comment
        ));
    }
    match &capacity {
        Capacity::Known { per_zone, source } => {
            let mut t = Table::new(["ZONE", "HEALTHY TARGETS"]);
            for (z, n) in per_zone {
                t.row([c.zones.label(z), n.to_string()]);
            }
            text.push_str(&format!(
                "healthy targets per zone ({source}):\n{}",
                t.render()
            ));
        }
        Capacity::Unknown { unknown } => {
            text.push_str(&format!("capacity per zone unknown: {unknown}\n"))
        }
    }
    Ok(ok_json(text, &json!({"resource": r, "capacity": capacity})))
}

/// The zonal shifts with `status` (all when `None`), of `resource` or all, every page up to a
/// bound.
pub async fn shifts(
    c: &Clients,
    status: Option<ZonalShiftStatus>,
    resource: Option<String>,
) -> ToolResult<Vec<ZonalShiftSummary>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = c
            .arc
            .list_zonal_shifts()
            .set_status(status.clone())
            .set_resource_identifier(resource.clone())
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| ToolFailure::from_sdk(SERVICE, c.attempts, e))?;
        out.extend(page.items().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

pub async fn list_zonal_shifts(c: &Clients, a: ListZonalShifts) -> ToolResult<CallToolResult> {
    let resource = match &a.resource {
        Some(named) => Some(resource::resolve(c, named).await?),
        None => None,
    };
    let status = match a.status {
        ShiftStatus::Active => Some(ZonalShiftStatus::Active),
        ShiftStatus::Expired => Some(ZonalShiftStatus::Expired),
        ShiftStatus::Canceled => Some(ZonalShiftStatus::Canceled),
        ShiftStatus::All => None,
    };
    let rows: Vec<Value> = shifts(c, status, resource)
        .await?
        .iter()
        .map(|s| {
            json!({
                "zonal_shift_id": s.zonal_shift_id(),
                "resource": s.resource_identifier(),
                "away_from": s.away_from(),
                "away_from_name": c.zones.name_of(s.away_from()),
                "status": s.status().as_str(),
                "started_at": time_of(s.start_time()).to_rfc3339(),
                "expires_at": time_of(s.expiry_time()).to_rfc3339(),
                "comment": s.comment(),
            })
        })
        .collect();
    Ok(ok_json(
        shifts_text(c, &rows, a.status),
        &json!({"zonal_shifts": rows}),
    ))
}

fn shifts_text(c: &Clients, rows: &[Value], status: ShiftStatus) -> String {
    if rows.is_empty() {
        let which = match status {
            ShiftStatus::Active => "active ",
            ShiftStatus::Expired => "expired ",
            ShiftStatus::Canceled => "canceled ",
            ShiftStatus::All => "",
        };
        return format!("No {which}zonal shifts.");
    }
    let mut t = Table::new([
        "ID",
        "STATUS",
        "AWAY FROM",
        "EXPIRES",
        "RESOURCE",
        "COMMENT",
    ]);
    for r in rows {
        let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
        t.row([
            s("zonal_shift_id"),
            s("status"),
            c.zones.label(&s("away_from")),
            s("expires_at"),
            s("resource"),
            s("comment"),
        ]);
    }
    t.render()
}
