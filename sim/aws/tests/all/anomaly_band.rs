//! `ANOMALY_DETECTION_BAND(m1, width)` through GetMetricData, driven by the real
//! aws-sdk-cloudwatch: the band follows the daily cycle, a recent spike falls outside it, and
//! what the simulator cannot evaluate is a clear error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use serde_json::json;
use sopilot_sim_aws::AwsState;

/// Three days of a latency with a daily cycle peaking now, and +40 ms for the last 20 minutes.
fn state() -> AwsState {
    let cw = json!({"metrics": [
        {"namespace": "ContainerInsights", "name": "pod_network_rx_latency_ms",
         "dimensions": {"ClusterName": "eks-prod", "AvailabilityZone": "us-east-1b"},
         "history": "3d",
         "series": {"baseline": 20, "daily": {"amplitude": 8, "peak": "now"},
                    "noise": {"stddev": 0.8, "seed": 3},
                    "events": [{"at": "-20m", "add": 40}]}},
        {"namespace": "ContainerInsights", "name": "pod_network_rx_latency_ms",
         "dimensions": {"ClusterName": "eks-prod", "AvailabilityZone": "us-east-1a"},
         "history": "2h",
         "series": {"baseline": 20}}
    ]});
    AwsState::from_sections_at(Some(&cw), None, None, common::test_now()).unwrap()
}

fn metric_query(id: &str, zone: &str) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace("ContainerInsights")
        .metric_name("pod_network_rx_latency_ms")
        .dimensions(
            Dimension::builder()
                .name("ClusterName")
                .value("eks-prod")
                .build(),
        )
        .dimensions(
            Dimension::builder()
                .name("AvailabilityZone")
                .value(zone)
                .build(),
        )
        .build();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(60)
                .stat("Average")
                .build(),
        )
        .build()
}

fn band_query(expression: &str) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id("ad1")
        .expression(expression)
        .label("latency (expected)")
        .return_data(true)
        .build()
}

fn window(minutes: i64) -> (DateTime, DateTime) {
    let now = common::test_now().timestamp();
    (
        DateTime::from_secs(now - minutes * 60),
        DateTime::from_secs(now),
    )
}

#[tokio::test]
async fn the_band_contains_normal_points_and_not_the_spike() {
    let sim = common::serve(state()).await;
    let cw = sim.cloudwatch(1);
    let (start, end) = window(60);
    let out = cw
        .get_metric_data()
        .metric_data_queries(metric_query("m1", "us-east-1b"))
        .metric_data_queries(band_query("ANOMALY_DETECTION_BAND(m1, 3)"))
        .start_time(start)
        .end_time(end)
        .scan_by(ScanBy::TimestampAscending)
        .send()
        .await
        .unwrap();
    let results = out.metric_data_results();
    let ids: Vec<(&str, &str)> = results
        .iter()
        .map(|r| (r.id().unwrap(), r.label().unwrap()))
        .collect();
    assert_eq!(
        ids,
        [
            ("m1", "pod_network_rx_latency_ms"),
            ("ad1", "latency (expected) Upper"),
            ("ad1", "latency (expected) Lower")
        ]
    );
    let (metric, upper, lower) = (&results[0], &results[1], &results[2]);
    assert_eq!(upper.timestamps(), metric.timestamps());
    assert_eq!(lower.timestamps(), metric.timestamps());
    let n = metric.values().len();
    assert!(n >= 59, "{n}");
    let mut outside = Vec::new();
    for i in 0..n {
        let (v, u, l) = (metric.values()[i], upper.values()[i], lower.values()[i]);
        assert!(l < u, "{l} {u}");
        if v > u || v < l {
            outside.push(metric.timestamps()[i].secs());
        }
    }
    let spike_start = common::test_now().timestamp() - 20 * 60;
    // The minute the spike starts in is partly raised.
    let in_spike = outside.iter().filter(|t| **t >= spike_start - 120).count();
    assert!(
        in_spike >= 18,
        "the spike's ~20 points are outside: {outside:?}"
    );
    assert!(
        outside.len() - in_spike <= 2,
        "at most a stray point before the spike at 3 sd: {outside:?}"
    );
    // The band sits around the normal level (20 + 8 at the daily peak), not the spike.
    let mid = (upper.values()[0] + lower.values()[0]) / 2.0;
    assert!((24.0..32.0).contains(&mid), "{mid}");
}

#[tokio::test]
async fn a_metric_without_history_gets_an_empty_band_with_a_message() {
    let sim = common::serve(state()).await;
    let cw = sim.cloudwatch(1);
    let (start, end) = window(120);
    let out = cw
        .get_metric_data()
        .metric_data_queries(
            MetricDataQuery::builder()
                .set_return_data(Some(false))
                .id("m1")
                .set_metric_stat(metric_query("m1", "nowhere").metric_stat().cloned())
                .build(),
        )
        .metric_data_queries(band_query("ANOMALY_DETECTION_BAND(m1)"))
        .start_time(start)
        .end_time(end)
        .send()
        .await
        .unwrap();
    let results = out.metric_data_results();
    assert_eq!(results.len(), 2, "only the band is returned: {results:?}");
    assert!(results.iter().all(|r| r.values().is_empty()));
    let message = results[0].messages()[0].value().unwrap();
    assert!(message.contains("no anomaly band"), "{message}");
}

#[tokio::test]
async fn unknown_references_and_other_math_are_validation_errors() {
    let sim = common::serve(state()).await;
    let cw = sim.cloudwatch(1);
    let (start, end) = window(60);
    for (queries, needle) in [
        (
            vec![band_query("ANOMALY_DETECTION_BAND(m9, 2)")],
            "refers to \"m9\"",
        ),
        (
            vec![metric_query("m1", "us-east-1a"), band_query("m1 * 2")],
            "evaluates only ANOMALY_DETECTION_BAND",
        ),
        (
            vec![
                metric_query("m1", "us-east-1a"),
                band_query("ANOMALY_DETECTION_BAND(m1, 0)"),
            ],
            "positive width",
        ),
    ] {
        let e = cw
            .get_metric_data()
            .set_metric_data_queries(Some(queries))
            .start_time(start)
            .end_time(end)
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("ValidationError"), "{e:?}");
        assert!(
            e.message().unwrap_or_default().contains(needle),
            "{:?}",
            e.message()
        );
    }
}
