//! The tools on the real AWS SDK against the simulated ARC and CloudWatch: reading the shop
//! ALB with its healthy targets per zone, a dry run that sends nothing, a shift started,
//! listed and cancelled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use crate::common::{Harness, SHOP};

#[tokio::test]
async fn resources_are_listed_and_read_with_healthy_targets_per_zone() {
    let h = Harness::start().await;
    let r = h.ok("list_managed_resources", json!({})).await;
    assert!(
        r.text.contains("shop") && r.text.contains(SHOP),
        "{}",
        r.text
    );
    assert!(r.text.contains("use1-az2 (us-east-1b)=1"), "{}", r.text);
    let by_dimension = h
        .ok("get_managed_resource", json!({"resource": "app/shop/1"}))
        .await;
    assert_eq!(by_dimension.structured["resource"]["arn"], SHOP);
    let r = h
        .ok("get_managed_resource", json!({"resource": "shop"}))
        .await;
    let per_zone = &r.structured["capacity"]["per_zone"];
    assert_eq!(
        per_zone,
        &json!({"use1-az1": 3.0, "use1-az2": 3.0, "use1-az4": 2.0})
    );
    assert!(r.text.contains("HealthyHostCount"), "{}", r.text);
}

#[tokio::test]
async fn a_dry_run_answers_the_impact_and_sends_nothing() {
    let h = Harness::start().await;
    let args = json!({"resource": SHOP, "away_from": "us-east-1b", "expires_in": "2h",
        "comment": "gray failure in us-east-1b", "dry_run": true});
    let args_again = args.clone();
    let r = h.ok("start_zonal_shift", args).await;
    assert_eq!(r.structured["dry_run"], true);
    assert_eq!(r.structured["executed"], false);
    let impact = &r.structured["impact"];
    assert_eq!(
        impact["target"],
        json!({"kind": "ManagedResource", "name": SHOP})
    );
    assert_eq!(impact["away_from"], "use1-az2");
    assert_eq!(impact["zones_left"], json!(["use1-az1", "use1-az4"]));
    assert_eq!(impact["capacity"]["left"], 5.0);
    assert_eq!(impact["capacity"]["total"], 8.0);
    assert_eq!(impact["capacity"]["left_percent"], 62.5);
    assert!(
        r.text
            .contains("5 of 8 healthy targets (62.5 %) left in use1-az1, use1-az4"),
        "{}",
        r.text
    );
    assert!(!h.arc_operations().contains(&"StartZonalShift".to_owned()));
    // An approval covers the impact: assessed again before the call runs, it must not change.
    let again = h.ok("start_zonal_shift", args_again).await;
    assert_eq!(again.structured["impact"], r.structured["impact"]);
    assert!(h.state.zonal_shifts().is_empty());
}

#[tokio::test]
async fn a_shift_is_started_listed_refused_twice_and_cancelled() {
    let h = Harness::start().await;
    let start = json!({"resource": "shop", "away_from": "use1-az2", "expires_in": "90m",
        "comment": "gray failure in us-east-1b"});
    let r = h.ok("start_zonal_shift", start.clone()).await;
    assert_eq!(r.structured["executed"], true);
    let id = r.structured["zonal_shift"]["zonal_shift_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(r.structured["zonal_shift"]["status"], "ACTIVE");
    let shifts = h.state.zonal_shifts();
    assert_eq!(shifts.len(), 1);
    assert_eq!(shifts[0]["awayFrom"], "use1-az2");
    assert_eq!(shifts[0]["resourceIdentifier"], SHOP);
    assert_eq!(shifts[0]["comment"], "gray failure in us-east-1b");
    let expiry =
        shifts[0]["expiryTime"].as_i64().unwrap() - shifts[0]["startTime"].as_i64().unwrap();
    assert_eq!(expiry, 90 * 60);

    let listed = h.ok("list_zonal_shifts", json!({})).await;
    assert_eq!(
        listed.structured["zonal_shifts"][0]["zonal_shift_id"],
        id.as_str()
    );
    assert_eq!(
        listed.structured["zonal_shifts"][0]["away_from_name"],
        "us-east-1b"
    );
    let read = h
        .ok("get_managed_resource", json!({"resource": SHOP}))
        .await;
    assert_eq!(read.structured["resource"]["weights"]["use1-az2"], 0.0);

    let again = h
        .fails(
            "start_zonal_shift",
            json!({"resource": "shop", "away_from": "us-east-1a",
        "expires_in": "1h", "comment": "second", "dry_run": true}),
        )
        .await;
    assert!(
        again.contains(&id) && again.contains("one at a time"),
        "{again}"
    );

    let dry = h
        .ok(
            "cancel_zonal_shift",
            json!({"zonal_shift_id": id, "dry_run": true}),
        )
        .await;
    assert_eq!(dry.structured["impact"]["traffic_returns_to"], "use1-az2");
    assert_eq!(dry.structured["impact"]["capacity"]["returning_zone"], 3.0);
    assert_eq!(h.state.zonal_shifts()[0]["status"], "ACTIVE");
    let done = h
        .ok("cancel_zonal_shift", json!({"zonal_shift_id": id}))
        .await;
    assert_eq!(done.structured["zonal_shift"]["status"], "CANCELED");
    assert_eq!(h.state.zonal_shifts()[0]["status"], "CANCELED");
    let none = h.ok("list_zonal_shifts", json!({})).await;
    assert_eq!(none.text, "No active zonal shifts.");
    let all = h
        .ok(
            "list_zonal_shifts",
            json!({"status": "ALL", "resource": "shop"}),
        )
        .await;
    assert_eq!(all.structured["zonal_shifts"][0]["status"], "CANCELED");
}
