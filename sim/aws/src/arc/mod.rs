//! ARC zonal shift (`arc-zonal-shift`, REST-JSON): the `arc` scenario section's managed
//! resources and the operations ListManagedResources (`GET /managedresources`),
//! GetManagedResource (`GET /managedresources/{id}`), ListZonalShifts (`GET /zonalshifts`),
//! StartZonalShift (`POST /zonalshifts`, 201) and CancelZonalShift
//! (`DELETE /zonalshifts/{id}`). As in ARC, a resource has at most one active zonal shift,
//! `awayFrom` is one of the resource's zone IDs and `expiresIn` is 1 minute to 72 hours.
//! Path labels and query parameters reach [`ZonalShifts::handle`] as members of the request body.

mod model;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, AwsSimError, decode};
use crate::faults::Fault;
use crate::req::{required, str_of};
use crate::state::Clock;

use model::{Resource, SECTION, Section, Shift, expires_in, shift_id};

/// The longest comment ARC accepts.
const MAX_COMMENT: usize = 128;
const VALIDATION: &str = "ValidationException";

/// The simulated ARC zonal shift service.
#[derive(Debug, Default)]
pub(crate) struct ZonalShifts {
    resources: Vec<Resource>,
    shifts: Vec<Shift>,
    /// Zone name → zone ID (the account's mapping, for the servers' environment).
    zone_ids: Vec<(String, String)>,
}

impl ZonalShifts {
    /// Loads the `arc` section (absent: no managed resources) and its faults.
    pub fn from_section(
        section: Option<&Value>,
        start: DateTime<Utc>,
    ) -> Result<(Self, Vec<Fault>), AwsSimError> {
        let mut section: Section = match section {
            Some(v) => decode(SECTION, v)?,
            None => Section::default(),
        };
        let faults = std::mem::take(&mut section.faults);
        let zone_ids = std::mem::take(&mut section.zone_ids).into_iter().collect();
        let (resources, shifts) = section.build(start)?;
        Ok((
            ZonalShifts {
                resources,
                shifts,
                zone_ids,
            },
            faults,
        ))
    }

    /// The account's zone name → zone ID mapping the scenario gave.
    pub fn zone_ids(&self) -> &[(String, String)] {
        &self.zone_ids
    }

    /// The zonal shifts, oldest first, with their status at `now`, as ARC lists them.
    pub fn shifts(&self, now: DateTime<Utc>) -> Vec<Value> {
        self.shifts.iter().map(|s| summary(s, now)).collect()
    }

    pub fn handle(&mut self, operation: &str, body: &Value, clock: Clock) -> ApiResult {
        let now = clock.now;
        match operation {
            "ListManagedResources" => Ok(json!({
                "items": self.resources.iter().map(|r| self.resource_summary(r, now)).collect::<Vec<_>>()
            })),
            "GetManagedResource" => self.get_resource(body, now),
            "ListZonalShifts" => self.list_shifts(body, now),
            "StartZonalShift" => self.start_shift(body, now),
            "CancelZonalShift" => self.cancel_shift(body, now),
            other => Err(ApiError {
                status: 404,
                code: "UnknownOperationException".into(),
                message: format!("the simulated ARC zonal shift does not implement {other}"),
            }),
        }
    }

    fn resource(&self, id: &str) -> Result<&Resource, ApiError> {
        self.resources
            .iter()
            .find(|r| r.arn == id || r.name == id)
            .ok_or_else(|| not_found(format!("no managed resource {id}")))
    }

    fn active(&self, arn: &str, now: DateTime<Utc>) -> impl Iterator<Item = &Shift> {
        self.shifts
            .iter()
            .filter(move |s| s.resource == arn && s.status(now) == "ACTIVE")
    }

    /// Zone ID → 1.0, or 0.0 for the zone an active shift moves traffic away from.
    fn weights(&self, r: &Resource, now: DateTime<Utc>) -> Value {
        let away: Vec<&str> = self
            .active(&r.arn, now)
            .map(|s| s.away_from.as_str())
            .collect();
        r.zones
            .iter()
            .map(|z| {
                let w = if away.contains(&z.as_str()) { 0.0 } else { 1.0 };
                (z.clone(), json!(w))
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    fn in_resource(&self, r: &Resource, now: DateTime<Utc>) -> Vec<Value> {
        self.active(&r.arn, now)
            .map(|s| {
                json!({
                    "appliedStatus": "APPLIED",
                    "zonalShiftId": s.id,
                    "resourceIdentifier": s.resource,
                    "awayFrom": s.away_from,
                    "expiryTime": s.expiry.timestamp(),
                    "startTime": s.start.timestamp(),
                    "comment": s.comment,
                    "shiftType": "ZONAL_SHIFT",
                })
            })
            .collect()
    }

    fn resource_summary(&self, r: &Resource, now: DateTime<Utc>) -> Value {
        json!({
            "arn": r.arn,
            "name": r.name,
            "availabilityZones": r.zones,
            "appliedWeights": self.weights(r, now),
            "zonalShifts": self.in_resource(r, now),
            "autoshifts": [],
            "zonalAutoshiftStatus": r.autoshift,
        })
    }

    fn get_resource(&self, body: &Value, now: DateTime<Utc>) -> ApiResult {
        let r = self.resource(required(body, "resourceIdentifier", VALIDATION)?)?;
        Ok(json!({
            "arn": r.arn,
            "name": r.name,
            "appliedWeights": self.weights(r, now),
            "zonalShifts": self.in_resource(r, now),
            "autoshifts": [],
            "zonalAutoshiftStatus": r.autoshift,
        }))
    }

    fn list_shifts(&self, body: &Value, now: DateTime<Utc>) -> ApiResult {
        let status = str_of(body, "status");
        if let Some(s) = status
            && !["ACTIVE", "EXPIRED", "CANCELED"].contains(&s)
        {
            return Err(ApiError::client(
                VALIDATION,
                format!("status {s:?} is not ACTIVE, EXPIRED or CANCELED"),
            ));
        }
        let resource = str_of(body, "resourceIdentifier");
        let items: Vec<Value> = self
            .shifts
            .iter()
            .filter(|s| status.is_none_or(|want| s.status(now) == want))
            .filter(|s| resource.is_none_or(|r| s.resource == r))
            .map(|s| summary(s, now))
            .collect();
        Ok(json!({ "items": items }))
    }

    fn start_shift(&mut self, body: &Value, now: DateTime<Utc>) -> ApiResult {
        let id = required(body, "resourceIdentifier", VALIDATION)?;
        let away = required(body, "awayFrom", VALIDATION)?;
        let lasts = required(body, "expiresIn", VALIDATION)?;
        let comment = required(body, "comment", VALIDATION)?;
        let r = self.resource(id)?;
        if !r.zones.iter().any(|z| z == away) {
            return Err(ApiError::client(
                VALIDATION,
                format!(
                    "InvalidAz: {away} is not an Availability Zone of {} ({})",
                    r.arn,
                    r.zones.join(", ")
                ),
            ));
        }
        let lasts = expires_in(lasts).ok_or_else(|| {
            ApiError::client(
                VALIDATION,
                format!(
                    "InvalidExpiresIn: {lasts:?} is not 1m to 72h (a whole number then m or h)"
                ),
            )
        })?;
        if comment.chars().count() > MAX_COMMENT {
            return Err(ApiError::client(
                VALIDATION,
                format!("comment is longer than {MAX_COMMENT} characters"),
            ));
        }
        if let Some(existing) = self.active(&r.arn, now).next() {
            return Err(conflict(format!(
                "ZonalShiftAlreadyExists: zonal shift {} is already active on {}",
                existing.id, r.arn
            )));
        }
        let shift = Shift {
            id: shift_id(self.shifts.len() as u64 + 1),
            resource: r.arn.clone(),
            away_from: away.to_owned(),
            start: now,
            expiry: now + lasts,
            comment: comment.to_owned(),
            canceled: false,
        };
        let answer = zonal_shift(&shift, now);
        self.shifts.push(shift);
        Ok(answer)
    }

    fn cancel_shift(&mut self, body: &Value, now: DateTime<Utc>) -> ApiResult {
        let id = required(body, "zonalShiftId", VALIDATION)?;
        let shift = self
            .shifts
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or_else(|| not_found(format!("no zonal shift {id}")))?;
        if shift.status(now) != "ACTIVE" {
            return Err(conflict(format!(
                "ZonalShiftStatusNotActive: zonal shift {id} is {}",
                shift.status(now)
            )));
        }
        shift.canceled = true;
        Ok(zonal_shift(shift, now))
    }
}

/// A `ZonalShift` (StartZonalShift's and CancelZonalShift's answer).
fn zonal_shift(s: &Shift, now: DateTime<Utc>) -> Value {
    json!({
        "zonalShiftId": s.id,
        "resourceIdentifier": s.resource,
        "awayFrom": s.away_from,
        "expiryTime": s.expiry.timestamp(),
        "startTime": s.start.timestamp(),
        "status": s.status(now),
        "comment": s.comment,
    })
}

/// A `ZonalShiftSummary` (ListZonalShifts' items).
fn summary(s: &Shift, now: DateTime<Utc>) -> Value {
    let mut v = zonal_shift(s, now);
    v["shiftType"] = json!("ZONAL_SHIFT");
    v
}

fn not_found(message: String) -> ApiError {
    ApiError {
        status: 404,
        code: "ResourceNotFoundException".into(),
        message,
    }
}

fn conflict(message: String) -> ApiError {
    ApiError {
        status: 409,
        code: "ConflictException".into(),
        message,
    }
}
