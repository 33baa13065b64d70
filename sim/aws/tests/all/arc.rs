//! ARC zonal shift through the real `aws-sdk-arczonalshift` client: paths, labels and query
//! parameters as the SDK writes them, 201 for a started shift, ARC's error codes (validation,
//! conflict, not found) as the SDK's typed errors, and a throttling fault retried.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_arczonalshift::types::ZonalShiftStatus;
use serde_json::{Value, json};
use sopilot_sim_aws::{AwsState, Fault, FaultKind, Service};

use crate::common::{Sim, serve};

const SHOP: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop/1";

fn section() -> Value {
    json!({
        "zone_ids": {"us-east-1a": "use1-az1", "us-east-1b": "use1-az2"},
        "resources": [
            {"arn": SHOP, "zones": ["use1-az1", "use1-az2"]},
            {"arn": "arn:aws:eks:us-east-1:123456789012:cluster/prod", "zones": ["use1-az1", "use1-az2"], "autoshift": "ENABLED"}
        ],
        "shifts": [
            {"resource": "arn:aws:eks:us-east-1:123456789012:cluster/prod", "away_from": "use1-az1",
             "started": "-2h", "expires_in": "1h", "comment": "last week's drill"}
        ]
    })
}

async fn sim() -> Sim {
    let state = AwsState::from_sections(None, None, None)
        .and_then(|s| s.with_arc(Some(&section())))
        .unwrap();
    serve(state).await
}

#[tokio::test]
async fn resources_are_listed_and_read_by_their_encoded_arn() {
    let sim = sim().await;
    let arc = sim.arc(1);
    let listed = arc.list_managed_resources().send().await.unwrap();
    let names: Vec<_> = listed.items().iter().map(|r| r.name().unwrap()).collect();
    assert_eq!(names, ["shop", "prod"]);
    assert_eq!(
        listed.items()[0].availability_zones(),
        ["use1-az1", "use1-az2"]
    );
    let shop = arc
        .get_managed_resource()
        .resource_identifier(SHOP)
        .send()
        .await
        .unwrap();
    assert_eq!(shop.arn(), Some(SHOP));
    assert_eq!(shop.applied_weights().get("use1-az2"), Some(&1.0));
    let e = arc
        .get_managed_resource()
        .resource_identifier("arn:aws:nope")
        .send()
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_resource_not_found_exception());
    assert_eq!(
        sim.state.zone_ids(),
        [
            ("us-east-1a".into(), "use1-az1".into()),
            ("us-east-1b".into(), "use1-az2".into())
        ]
    );
}

#[tokio::test]
async fn a_shift_is_started_listed_conflicts_and_is_cancelled() {
    let sim = sim().await;
    let arc = sim.arc(1);
    let started = arc
        .start_zonal_shift()
        .resource_identifier(SHOP)
        .away_from("use1-az2")
        .expires_in("90m")
        .comment("gray failure")
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), &ZonalShiftStatus::Active);
    assert_eq!(
        started.expiry_time().secs() - started.start_time().secs(),
        5400
    );
    let shop = arc
        .get_managed_resource()
        .resource_identifier(SHOP)
        .send()
        .await
        .unwrap();
    assert_eq!(shop.applied_weights().get("use1-az2"), Some(&0.0));
    assert_eq!(
        shop.zonal_shifts()[0].zonal_shift_id(),
        started.zonal_shift_id()
    );

    let again = arc
        .start_zonal_shift()
        .resource_identifier(SHOP)
        .away_from("use1-az1")
        .expires_in("1h")
        .comment("again")
        .send()
        .await
        .unwrap_err();
    let again = again.into_service_error();
    assert!(again.is_conflict_exception(), "{again:?}");

    let active = arc
        .list_zonal_shifts()
        .status(ZonalShiftStatus::Active)
        .resource_identifier(SHOP)
        .send()
        .await
        .unwrap();
    assert_eq!(active.items().len(), 1);
    let expired = arc
        .list_zonal_shifts()
        .status(ZonalShiftStatus::Expired)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.items()[0].comment(), "last week's drill");

    let cancelled = arc
        .cancel_zonal_shift()
        .zonal_shift_id(started.zonal_shift_id())
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), &ZonalShiftStatus::Canceled);
    let twice = arc
        .cancel_zonal_shift()
        .zonal_shift_id(started.zonal_shift_id())
        .send()
        .await
        .unwrap_err();
    assert!(twice.into_service_error().is_conflict_exception());
    let none = arc
        .cancel_zonal_shift()
        .zonal_shift_id("nope")
        .send()
        .await
        .unwrap_err();
    assert!(none.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn bad_zones_and_durations_are_validation_errors() {
    let sim = sim().await;
    let arc = sim.arc(1);
    for (zone, expires, says) in [
        ("use1-az9", "1h", "InvalidAz"),
        ("use1-az1", "73h", "InvalidExpiresIn"),
        ("use1-az1", "1d", "InvalidExpiresIn"),
    ] {
        let e = arc
            .start_zonal_shift()
            .resource_identifier(SHOP)
            .away_from(zone)
            .expires_in(expires)
            .comment("x")
            .send()
            .await
            .unwrap_err();
        let e = e.into_service_error();
        assert!(e.is_validation_exception(), "{zone} {expires}: {e:?}");
        assert!(format!("{e:?}").contains(says), "{e:?}");
    }
    assert!(
        sim.state
            .zonal_shifts()
            .iter()
            .all(|s| s["resourceIdentifier"] != SHOP)
    );
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk() {
    let sim = sim().await;
    sim.state.inject(
        Service::Arc,
        Fault {
            operation: "ListZonalShifts".into(),
            kind: FaultKind::Throttle,
            times: Some(2),
        },
    );
    let listed = sim.arc(3).list_zonal_shifts().send().await.unwrap();
    assert_eq!(listed.items().len(), 1);
    let errors: Vec<_> = sim
        .state
        .requests()
        .into_iter()
        .filter_map(|r| r.error)
        .collect();
    assert_eq!(errors, ["ThrottlingException", "ThrottlingException"]);
}
