//! mcp-cost over stdio against the simulated Cost Explorer, through the real SDK.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use chrono::{Datelike, Months, NaiveDate, Utc};
use common::Harness;
use serde_json::json;
use sopilot_sim_aws::{Fault, FaultKind, Service};

fn month(offset: i32) -> String {
    let first = Utc::now().date_naive().with_day(1).unwrap();
    let d: NaiveDate = if offset < 0 {
        first - Months::new(offset.unsigned_abs())
    } else {
        first + Months::new(offset.unsigned_abs())
    };
    d.to_string()
}

#[tokio::test]
async fn compare_periods_reproduces_the_month_over_month_growth() {
    let h = Harness::start().await;
    let r = h.ok("compare_periods", json!({"base_start": month(-2), "base_end": month(-1), "compare_start": month(-1), "compare_end": month(0)})).await;
    let c = &r.structured["comparison"];
    assert_eq!(c["base_total"], 8586.21);
    assert_eq!(c["compare_total"], 12450.0);
    assert_eq!(c["change_percent"], 45.0);
    let drivers: Vec<(String, f64, f64)> = c["increases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["keys"][1].as_str().unwrap().to_owned(),
                d["change"].as_f64().unwrap(),
                d["share_percent"].as_f64().unwrap().round(),
            )
        })
        .collect();
    assert_eq!(
        drivers,
        [
            ("USE1-BoxUsage:m5.4xlarge".to_owned(), 3200.0, 52.0),
            ("USE1-DataTransfer-Regional-Bytes".to_owned(), 1800.0, 29.0),
            ("USE1-EBS:VolumeUsage.gp3".to_owned(), 950.0, 15.0),
            ("USE1-LCUUsage".to_owned(), 250.0, 4.0),
        ]
    );
    assert_eq!(c["decreases"][0]["keys"][1], "USE1-NatGateway-Bytes");
    assert!(
        r.text
            .contains("Total: $8,586.21 → $12,450.00 (+$3,863.79, +45.0 %)"),
        "{}",
        r.text
    );
    assert!(r.text.contains("USE1-BoxUsage:m5.4xlarge"), "{}", r.text);
    assert!(r.text.contains("52 %"), "{}", r.text);
    let compute = r.structured["by_service"]["increases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["keys"][0] == "Amazon Elastic Compute Cloud - Compute")
        .unwrap();
    assert_eq!(compute["change"], 3200.0);

    // By usage type group, the drivers are the document's categories.
    let r = h.ok("compare_periods", json!({"base_start": month(-2), "base_end": month(-1), "compare_start": month(-1), "compare_end": month(0), "group_by": "USAGE_TYPE_GROUP"})).await;
    let groups: Vec<&str> = r.structured["comparison"]["increases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["keys"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        groups,
        [
            "EC2: Running Hours",
            "EC2: Data Transfer - Inter AZ",
            "EC2: EBS - SSD(gp3)",
            "ELB: Running Hours and LCUs"
        ]
    );
}

#[tokio::test]
async fn cost_and_usage_groups_by_service_and_tag() {
    let h = Harness::start().await;
    let r = h
        .ok(
            "cost_and_usage",
            json!({"start": month(-1), "end": month(0), "group_by": "SERVICE"}),
        )
        .await;
    let groups = r.structured["periods"][0]["groups"].as_array().unwrap();
    let compute = groups
        .iter()
        .find(|g| g["keys"][0] == "Amazon Elastic Compute Cloud - Compute")
        .unwrap();
    assert_eq!(
        compute["amount"], 8500.0,
        "the on-demand compute bill of the Spot question"
    );
    assert_eq!(r.structured["total"], 12450.0);
    let r = h
        .ok(
            "cost_and_usage",
            json!({"start": month(-1), "end": month(0), "group_by": "TAG:team"}),
        )
        .await;
    assert!(r.text.contains("team$ml"), "{}", r.text);
    let r = h.ok("cost_and_usage", json!({"start": month(-2), "end": month(0), "granularity": "DAILY", "service": "EC2 - Other"})).await;
    assert!(r.structured["periods"].as_array().unwrap().len() >= 56);
    assert_eq!(r.structured["total"], 2999.21 + 3413.0);
}

#[tokio::test]
async fn forecasts_the_rest_of_the_month() {
    let h = Harness::start().await;
    let today = Utc::now().date_naive();
    let r = h
        .ok(
            "cost_forecast",
            json!({"start": today.to_string(), "end": month(1)}),
        )
        .await;
    assert!(r.structured["total"].as_f64().unwrap() > 0.0, "{}", r.text);
    assert!(r.text.contains("80 % INTERVAL"), "{}", r.text);
}

#[tokio::test]
async fn bad_dates_say_what_to_fix() {
    let h = Harness::start().await;
    let cases = [
        (
            "cost_and_usage",
            json!({"start": "2026-02-30", "end": "2026-03-01"}),
            "start \"2026-02-30\" is not a date: use YYYY-MM-DD",
        ),
        (
            "cost_and_usage",
            json!({"start": "March", "end": "2026-03-01"}),
            "is not a date",
        ),
        (
            "cost_and_usage",
            json!({"start": "2026-03-01", "end": "2026-02-01"}),
            "must be before end",
        ),
        (
            "cost_and_usage",
            json!({"start": "2026-02-01", "end": "2026-03-01", "group_by": "TEAM"}),
            "TAG:key",
        ),
        (
            "cost_and_usage",
            json!({"start": "2026-02-01", "end": "2026-03-01", "granularity": "WEEKLY"}),
            "DAILY or MONTHLY",
        ),
        (
            "compare_periods",
            json!({"base_start": "2026-01-01", "base_end": "2026-01-32", "compare_start": "2026-02-01", "compare_end": "2026-03-01"}),
            "base_end \"2026-01-32\" is not a date",
        ),
        (
            "cost_forecast",
            json!({"start": "2020-01-01", "end": "2020-02-01"}),
            "is in the past",
        ),
    ];
    for (tool, args, needle) in cases {
        let r = h.call(tool, args.clone()).await;
        assert!(r.is_error, "{tool} {args}: {}", r.text);
        assert!(
            r.text.contains(needle),
            "{tool} {args}: expected {needle:?} in {:?}",
            r.text
        );
    }
}

#[tokio::test]
async fn throttling_is_retried_then_reported() {
    let h = Harness::start().await;
    h.state.inject(
        Service::CostExplorer,
        Fault {
            operation: "GetCostAndUsage".into(),
            kind: FaultKind::Throttle,
            times: Some(2),
        },
    );
    let r = h
        .ok(
            "cost_and_usage",
            json!({"start": month(-1), "end": month(0)}),
        )
        .await;
    assert_eq!(r.structured["total"], 12450.0);
    h.state.inject(
        Service::CostExplorer,
        Fault {
            operation: "*".into(),
            kind: FaultKind::Throttle,
            times: None,
        },
    );
    let r = h
        .call(
            "cost_forecast",
            json!({"start": Utc::now().date_naive().to_string(), "end": month(1)}),
        )
        .await;
    assert!(r.is_error);
    assert!(
        r.text
            .contains("Cost Explorer is throttling requests (LimitExceededException"),
        "{}",
        r.text
    );
    assert!(r.text.contains("after 3 attempts"), "{}", r.text);
}

#[tokio::test]
async fn a_missing_region_is_a_clear_error_at_startup() {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-cost"));
    for (k, v) in common::aws_env("http://127.0.0.1:9") {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        cmd.env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("AWS_PROFILE")
            .stdin(std::process::Stdio::null())
            .output(),
    )
    .await
    .expect("no hang")
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no AWS region configured: set AWS_REGION"),
        "{stderr}"
    );
}
