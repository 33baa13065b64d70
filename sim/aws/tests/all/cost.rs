//! Cost Explorer (JSON 1.1) driven by the real aws-sdk-costexplorer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use aws_sdk_costexplorer::error::ProvideErrorMetadata;
use aws_sdk_costexplorer::types::{
    DateInterval, Dimension, DimensionValues, Expression, Granularity, GroupDefinition,
    GroupDefinitionType, Metric,
};
use chrono::{Datelike, Months, NaiveDate, Utc};

fn month(offset: i32) -> NaiveDate {
    let first = Utc::now().date_naive().with_day(1).unwrap();
    if offset < 0 {
        first - Months::new(offset.unsigned_abs())
    } else {
        first + Months::new(offset.unsigned_abs())
    }
}

fn interval(start: NaiveDate, end: NaiveDate) -> DateInterval {
    DateInterval::builder()
        .start(start.to_string())
        .end(end.to_string())
        .build()
        .unwrap()
}

fn amount(m: Option<&aws_sdk_costexplorer::types::MetricValue>) -> f64 {
    m.and_then(|v| v.amount()).unwrap().parse().unwrap()
}

#[tokio::test]
async fn monthly_totals_reproduce_the_documents_growth() {
    let sim = common::start().await;
    let ce = sim.cost(1);
    let out = ce
        .get_cost_and_usage()
        .time_period(interval(month(-2), month(0)))
        .granularity(Granularity::Monthly)
        .metrics("UnblendedCost")
        .send()
        .await
        .unwrap();
    let r = out.results_by_time();
    assert_eq!(r.len(), 2);
    let base = amount(r[0].total().and_then(|t| t.get("UnblendedCost")));
    let compare = amount(r[1].total().and_then(|t| t.get("UnblendedCost")));
    assert_eq!((base, compare), (8586.21, 12450.0));
    assert!(((compare - base) / base * 100.0 - 45.0).abs() < 0.01);
    assert!(!r[1].estimated());
}

#[tokio::test]
async fn groups_by_service_usage_type_and_tag_with_filters() {
    let sim = common::start().await;
    let ce = sim.cost(1);
    let out = ce
        .get_cost_and_usage()
        .time_period(interval(month(-1), month(0)))
        .granularity(Granularity::Monthly)
        .metrics("UnblendedCost")
        .metrics("UsageQuantity")
        .group_by(
            GroupDefinition::builder()
                .r#type(GroupDefinitionType::Dimension)
                .key("SERVICE")
                .build(),
        )
        .group_by(
            GroupDefinition::builder()
                .r#type(GroupDefinitionType::Dimension)
                .key("USAGE_TYPE")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let groups = out.results_by_time()[0].groups();
    let m4 = groups
        .iter()
        .find(|g| {
            g.keys()
                == [
                    "Amazon Elastic Compute Cloud - Compute",
                    "USE1-BoxUsage:m5.4xlarge",
                ]
        })
        .unwrap();
    assert_eq!(
        amount(m4.metrics().and_then(|m| m.get("UnblendedCost"))),
        3600.0
    );
    let hours = amount(m4.metrics().and_then(|m| m.get("UsageQuantity")));
    assert!((hours - 3600.0 / 0.768).abs() < 0.01, "{hours}");

    let by_team = ce
        .get_cost_and_usage()
        .time_period(interval(month(-1), month(0)))
        .granularity(Granularity::Monthly)
        .metrics("UnblendedCost")
        .group_by(
            GroupDefinition::builder()
                .r#type(GroupDefinitionType::Tag)
                .key("team")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = by_team.results_by_time()[0]
        .groups()
        .iter()
        .map(|g| g.keys()[0].as_str())
        .collect();
    assert_eq!(keys, ["team$ml", "team$payments", "team$platform"]);

    let compute_only = ce
        .get_cost_and_usage()
        .time_period(interval(month(-1), month(0)))
        .granularity(Granularity::Daily)
        .metrics("UnblendedCost")
        .filter(
            Expression::builder()
                .dimensions(
                    DimensionValues::builder()
                        .key(Dimension::Service)
                        .values("Amazon Elastic Compute Cloud - Compute")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let days = compute_only.results_by_time();
    assert_eq!(days.len() as i64, (month(0) - month(-1)).num_days());
    let sum: f64 = days
        .iter()
        .map(|d| amount(d.total().and_then(|t| t.get("UnblendedCost"))))
        .sum();
    assert!((sum - 8500.0).abs() < 0.005, "{sum}");
}

#[tokio::test]
async fn bad_dates_are_validation_errors_and_throttling_is_limit_exceeded() {
    use sopilot_sim_aws::{Fault, FaultKind, Service};
    let sim = common::start().await;
    let ce = sim.cost(1);
    for (start, end, needle) in [
        ("2026-02-30", "2026-03-01", "not a valid date"),
        ("2026-03-01", "2026-02-01", "before end date"),
    ] {
        let e = ce
            .get_cost_and_usage()
            .time_period(
                DateInterval::builder()
                    .start(start)
                    .end(end)
                    .build()
                    .unwrap(),
            )
            .granularity(Granularity::Monthly)
            .metrics("UnblendedCost")
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("ValidationException"));
        assert!(e.message().unwrap().contains(needle), "{:?}", e.message());
    }
    sim.state.inject(
        Service::CostExplorer,
        Fault {
            operation: "GetCostAndUsage".into(),
            kind: FaultKind::Throttle,
            times: None,
        },
    );
    let e = sim
        .cost(2)
        .get_cost_and_usage()
        .time_period(interval(month(-1), month(0)))
        .granularity(Granularity::Monthly)
        .metrics("UnblendedCost")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("LimitExceededException"));
}

#[tokio::test]
async fn forecasts_the_rest_of_the_month_from_recent_days() {
    let sim = common::start().await;
    let ce = sim.cost(1);
    let today = Utc::now().date_naive();
    let end = month(1);
    let out = ce
        .get_cost_forecast()
        .time_period(interval(today, end))
        .metric(Metric::UnblendedCost)
        .granularity(Granularity::Monthly)
        .send()
        .await
        .unwrap();
    let total: f64 = out
        .total()
        .and_then(|t| t.amount())
        .unwrap()
        .parse()
        .unwrap();
    let days = (end - today).num_days() as f64;
    // A trend through recent days: within a factor of two of the last week's daily average.
    let week = ce
        .get_cost_and_usage()
        .time_period(interval(today - chrono::Duration::days(7), today))
        .granularity(Granularity::Daily)
        .metrics("UnblendedCost")
        .send()
        .await
        .unwrap();
    let recent: f64 = week
        .results_by_time()
        .iter()
        .map(|d| amount(d.total().and_then(|t| t.get("UnblendedCost"))))
        .sum::<f64>()
        / 7.0;
    assert!(recent > 300.0, "{recent}");
    assert!(
        total > days * recent * 0.5 && total < days * recent * 2.0,
        "{total} for {days} days at {recent} a day"
    );
    let r = &out.forecast_results_by_time()[0];
    let (lo, hi): (f64, f64) = (
        r.prediction_interval_lower_bound()
            .unwrap()
            .parse()
            .unwrap(),
        r.prediction_interval_upper_bound()
            .unwrap()
            .parse()
            .unwrap(),
    );
    assert!(lo <= total && total <= hi);
    let e = ce
        .get_cost_forecast()
        .time_period(interval(month(-1), month(0)))
        .metric(Metric::UnblendedCost)
        .granularity(Granularity::Monthly)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"));
}
