//! The mutating tools: start and cancel a zonal shift. Both read the resource and its
//! capacity first and judge the impact ([`crate::impact`]); a dry run answers it and sends
//! nothing, a real call sends only what the same judgement allows.

use aws_sdk_arczonalshift::types::ZonalShiftStatus;
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_mcp_common::ok_json;

use crate::args::{CancelZonalShift, StartZonalShift};
use crate::error::{ToolFailure, ToolResult};
use crate::impact::{self, Plan};
use crate::resource::{self, time_of};
use crate::{Clients, SERVICE, capacity, expiry, listing};

/// ARC's longest comment.
const MAX_COMMENT: usize = 128;

/// The reply of a mutating tool: `{"dry_run", "executed", "impact"}` and what ARC answered.
fn reply(text: String, dry_run: bool, impact: Value, shift: Option<Value>) -> CallToolResult {
    let mut structured = json!({"dry_run": dry_run, "executed": !dry_run, "impact": impact});
    if let Some(s) = shift {
        structured["zonal_shift"] = s;
    }
    ok_json(text, &structured)
}

/// A number as people write it: `5`, not `5.0`; `62.5` as is.
fn count(v: &Value) -> String {
    match v.as_f64() {
        Some(n) if n.fract() == 0.0 => format!("{n:.0}"),
        Some(n) => n.to_string(),
        None => "?".into(),
    }
}

fn capacity_text(impact: &Value) -> String {
    let c = &impact["capacity"];
    match c.get("unknown").and_then(Value::as_str) {
        Some(why) => format!("capacity left unknown ({why})"),
        None => format!(
            "{} of {} healthy targets ({} %) left in {}",
            count(&c["left"]),
            count(&c["total"]),
            count(&c["left_percent"]),
            impact["zones_left"]
                .as_array()
                .map(|z| z
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        ),
    }
}

pub async fn start_zonal_shift(c: &Clients, a: StartZonalShift) -> ToolResult<CallToolResult> {
    let lasts = expiry::parse(&a.expires_in).map_err(ToolFailure::BadArgument)?;
    let comment = a.comment.trim();
    if comment.is_empty() || comment.chars().count() > MAX_COMMENT {
        return Err(ToolFailure::BadArgument(format!(
            "comment must say why in 1 to {MAX_COMMENT} characters (it has {}); e.g. \"gray failure in us-east-1b: p99 412 ms\"",
            comment.chars().count()
        )));
    }
    let arn = resource::resolve(c, &a.resource).await?;
    let r = resource::read(c, &arn).await?;
    let zones = r.zones();
    let away = c.zones.resolve(&a.away_from, &zones).ok_or_else(|| {
        ToolFailure::BadArgument(format!(
            "{} is not an Availability Zone of {arn}; its zones: {}",
            a.away_from,
            zones
                .iter()
                .map(|z| c.zones.label(z))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let capacity = capacity::read(c, &arn, &zones).await?;
    let plan = Plan {
        resource: &r,
        away_from: away,
        expires_in: a.expires_in.trim(),
        lasts,
    };
    let impact = impact::start(&plan, &capacity, &c.zones).map_err(ToolFailure::Refused)?;
    let summary = format!(
        "zonal shift of {} away from {} for {}: {}",
        r.name,
        c.zones.label(away),
        plan.expires_in,
        capacity_text(&impact)
    );
    if a.dry_run {
        return Ok(reply(
            format!("Dry run, nothing started: {summary}."),
            true,
            impact,
            None,
        ));
    }
    let out = c
        .arc
        .start_zonal_shift()
        .resource_identifier(&arn)
        .away_from(away)
        .expires_in(plan.expires_in)
        .comment(comment)
        .send()
        .await
        .map_err(|e| ToolFailure::from_sdk(SERVICE, c.attempts, e))?;
    let shift = json!({
        "zonal_shift_id": out.zonal_shift_id(),
        "status": out.status().as_str(),
        "started_at": time_of(out.start_time()).to_rfc3339(),
        "expires_at": time_of(out.expiry_time()).to_rfc3339(),
    });
    let text = format!(
        "Started {} ({}, until {}): {summary}. Cancel it with arc.cancel_zonal_shift to return traffic earlier.",
        out.zonal_shift_id(),
        out.status().as_str(),
        shift["expires_at"].as_str().unwrap_or_default()
    );
    Ok(reply(text, false, impact, Some(shift)))
}

pub async fn cancel_zonal_shift(c: &Clients, a: CancelZonalShift) -> ToolResult<CallToolResult> {
    let id = a.zonal_shift_id.trim();
    let active = listing::shifts(c, Some(ZonalShiftStatus::Active), None).await?;
    let Some(found) = active.iter().find(|s| s.zonal_shift_id() == id) else {
        let ids: Vec<&str> = active.iter().map(|s| s.zonal_shift_id()).collect();
        return Err(ToolFailure::NotFound(format!(
            "no active zonal shift {id}; active: {}",
            if ids.is_empty() {
                "none".to_owned()
            } else {
                ids.join(", ")
            }
        )));
    };
    let arn = found.resource_identifier().to_owned();
    let r = resource::read(c, &arn).await?;
    let capacity = capacity::read(c, &arn, &r.zones()).await?;
    let impact = impact::cancel(&r, id, &capacity, &c.zones).map_err(ToolFailure::Refused)?;
    let summary = format!(
        "cancel zonal shift {id} of {}: traffic returns to {}",
        r.name,
        c.zones.label(found.away_from())
    );
    if a.dry_run {
        return Ok(reply(
            format!("Dry run, nothing cancelled: {summary}."),
            true,
            impact,
            None,
        ));
    }
    let out = c
        .arc
        .cancel_zonal_shift()
        .zonal_shift_id(id)
        .send()
        .await
        .map_err(|e| ToolFailure::from_sdk(SERVICE, c.attempts, e))?;
    let shift = json!({"zonal_shift_id": out.zonal_shift_id(), "status": out.status().as_str()});
    Ok(reply(
        format!("Cancelled: {summary}."),
        false,
        impact,
        Some(shift),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(count(&json!(75.0)), "75");
        assert_eq!(count(&json!(62.5)), "62.5");
        assert_eq!(count(&json!(8)), "8");
        assert_eq!(count(&Value::Null), "?");
    }
}
