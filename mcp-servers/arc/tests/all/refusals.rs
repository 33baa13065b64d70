//! Shifts refused before anything is sent, each naming the bad input and the fix: a zone
//! the resource is not in, an `expires_in` ARC would refuse, no healthy target left, an
//! unknown resource or shift; and the capacity reported unknown, not guessed, without the
//! account's zone mapping.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use sopilot_test_support::aws::{aws_server, serve};

use crate::common::{Harness, SHOP, scenario, state_of};

fn shift(away: &str, expires: &str) -> Value {
    json!({"resource": SHOP, "away_from": away, "expires_in": expires, "comment": "test"})
}

#[tokio::test]
async fn bad_zones_durations_and_names_are_refused_and_nothing_is_started() {
    let h = Harness::start().await;
    let e = h
        .fails("start_zonal_shift", shift("us-east-1d", "1h"))
        .await;
    assert!(
        e.contains("us-east-1d is not an Availability Zone") && e.contains("use1-az4 (us-east-1c)"),
        "{e}"
    );
    for (expires, says) in [
        ("73h", "72h"),
        ("4321m", "72h"),
        ("0m", "e.g. 30m"),
        ("1d", "e.g. 30m"),
    ] {
        let e = h
            .fails("start_zonal_shift", shift("us-east-1b", expires))
            .await;
        assert!(e.contains(says), "{expires}: {e}");
    }
    let long = json!({"resource": SHOP, "away_from": "us-east-1b", "expires_in": "1h", "comment": "x".repeat(129)});
    let e = h.fails("start_zonal_shift", long).await;
    assert!(e.contains("128 characters"), "{e}");
    let e = h.fails("start_zonal_shift", json!({"resource": "checkout", "away_from": "us-east-1b", "expires_in": "1h", "comment": "t"})).await;
    assert!(
        e.contains("no managed resource is named \"checkout\"") && e.contains("shop"),
        "{e}"
    );
    let e = h
        .fails("cancel_zonal_shift", json!({"zonal_shift_id": "nope"}))
        .await;
    assert!(e.contains("no active zonal shift nope"), "{e}");
    assert!(
        !h.arc_operations()
            .iter()
            .any(|op| op == "StartZonalShift" || op == "CancelZonalShift")
    );
}

#[tokio::test]
async fn a_shift_that_would_leave_no_healthy_target_is_refused() {
    let mut s = scenario();
    for m in s["cloudwatch"]["metrics"].as_array_mut().unwrap() {
        let zone = m["dimensions"]["AvailabilityZone"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if m["name"] == "HealthyHostCount" && zone != "us-east-1b" {
            m["series"] = json!({"baseline": 0, "integer": true});
        }
    }
    let h = Harness::with(state_of(&s)).await;
    let e = h.fails("start_zonal_shift", shift("use1-az2", "1h")).await;
    assert!(
        e.contains("would leave no healthy target") && e.contains("use1-az1 (us-east-1a)"),
        "{e}"
    );
    assert!(h.state.zonal_shifts().is_empty());
}

#[tokio::test]
async fn without_the_zone_mapping_capacity_is_unknown_and_zone_ids_still_work() {
    let state = state_of(&scenario());
    let url = serve(state.clone()).await;
    let client = aws_server(env!("CARGO_BIN_EXE_mcp-arc"), &url)
        .stdio()
        .await;
    let e = client
        .fails("start_zonal_shift", shift("us-east-1b", "1h"))
        .await;
    assert!(e.contains("its zones: use1-az1, use1-az2, use1-az4"), "{e}");
    let r = client
        .ok(
            "start_zonal_shift",
            json!({"resource": SHOP, "away_from": "use1-az2",
        "expires_in": "1h", "comment": "t", "dry_run": true}),
        )
        .await;
    let unknown = r.structured["impact"]["capacity"]["unknown"]
        .as_str()
        .unwrap();
    assert!(unknown.contains("SOPILOT_AZ_IDS"), "{unknown}");
}
