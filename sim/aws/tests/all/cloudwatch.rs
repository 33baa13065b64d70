//! CloudWatch (Smithy RPC v2 CBOR) driven by the real aws-sdk-cloudwatch.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, DimensionFilter, HistoryItemType, Metric, MetricDataQuery, MetricStat, ScanBy,
    StateValue,
};

fn node_query(id: &str, node: &str, instance: &str, stat: &str, period: i32) -> MetricDataQuery {
    let dims = [
        ("ClusterName", "eks-prod"),
        ("InstanceId", instance),
        ("NodeName", node),
    ];
    let mut metric = Metric::builder()
        .namespace("ContainerInsights")
        .metric_name("node_cpu_utilization");
    for (n, v) in dims {
        metric = metric.dimensions(Dimension::builder().name(n).value(v).build());
    }
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric.build())
                .period(period)
                .stat(stat)
                .build(),
        )
        .build()
}

fn last(minutes: i64) -> (DateTime, DateTime) {
    let now = chrono::Utc::now().timestamp();
    (
        DateTime::from_secs(now - minutes * 60),
        DateTime::from_secs(now),
    )
}

#[tokio::test]
async fn get_metric_data_answers_several_queries_with_stats_and_order() {
    let sim = common::start().await;
    let cw = sim.cloudwatch(1);
    let (start, end) = last(60);
    let out = cw
        .get_metric_data()
        .metric_data_queries(node_query(
            "hot",
            "ip-10-0-1-45",
            "i-0a1b2c3d4e5f60001",
            "Average",
            60,
        ))
        .metric_data_queries(node_query(
            "warm",
            "ip-10-0-2-78",
            "i-0a1b2c3d4e5f60002",
            "Maximum",
            300,
        ))
        .metric_data_queries(node_query(
            "p95",
            "ip-10-0-1-45",
            "i-0a1b2c3d4e5f60001",
            "p95",
            3600,
        ))
        .start_time(start)
        .end_time(end)
        .scan_by(ScanBy::TimestampAscending)
        .send()
        .await
        .unwrap();
    let results = out.metric_data_results();
    assert_eq!(results.len(), 3);
    let hot = &results[0];
    assert_eq!(hot.id(), Some("hot"));
    assert_eq!(hot.label(), Some("node_cpu_utilization"));
    let values = hot.values();
    assert!((59..=61).contains(&values.len()), "{}", values.len());
    let avg = values.iter().sum::<f64>() / values.len() as f64;
    assert!(
        (86.5..88.5).contains(&avg),
        "ip-10-0-1-45 averages about 87.3 %: {avg}"
    );
    assert_eq!(values.iter().copied().fold(0.0, f64::max), 94.1);
    let ts = hot.timestamps();
    assert!(ts.windows(2).all(|w| w[0] < w[1]), "ascending on request");
    assert!(
        ts.iter().all(|t| t.secs() % 60 == 0),
        "aligned to the period"
    );
    let warm = &results[1];
    assert!((12..=13).contains(&warm.values().len()));
    assert!(warm.values().contains(&89.7), "{:?}", warm.values());
    let mean_max = warm.values().iter().sum::<f64>() / warm.values().len() as f64;
    assert!(
        mean_max > 83.0,
        "5-minute maxima of a node at 82.5 %: {mean_max}"
    );
    // Hourly buckets over the last hour: one holds at least half of it; its p95 is the highest.
    let p95 = results[2].values().iter().copied().fold(0.0, f64::max);
    assert!((88.0..=94.1).contains(&p95), "{:?}", results[2].values());

    // Descending is the default order.
    let out = cw
        .get_metric_data()
        .metric_data_queries(node_query(
            "m",
            "ip-10-0-3-12",
            "i-0a1b2c3d4e5f60003",
            "Average",
            300,
        ))
        .start_time(start)
        .end_time(end)
        .send()
        .await
        .unwrap();
    let ts = out.metric_data_results()[0].timestamps();
    assert!(ts.windows(2).all(|w| w[0] > w[1]));
}

#[tokio::test]
async fn unknown_metrics_have_no_data_and_bad_queries_are_validation_errors() {
    let sim = common::start().await;
    let cw = sim.cloudwatch(1);
    let (start, end) = last(30);
    let out = cw
        .get_metric_data()
        .metric_data_queries(node_query("m", "ip-10-9-9-9", "i-0", "Average", 60))
        .start_time(start)
        .end_time(end)
        .send()
        .await
        .unwrap();
    assert!(out.metric_data_results()[0].values().is_empty());

    let cases = [
        (
            node_query("m", "ip-10-0-1-45", "i-0a1b2c3d4e5f60001", "Average", 61),
            "InvalidParameterValue",
            "multiple of 60",
        ),
        (
            node_query("m", "ip-10-0-1-45", "i-0a1b2c3d4e5f60001", "TM99", 60),
            "InvalidParameterValue",
            "not supported",
        ),
        (
            node_query(
                "Bad-Id",
                "ip-10-0-1-45",
                "i-0a1b2c3d4e5f60001",
                "Average",
                60,
            ),
            "ValidationError",
            "Id is not valid",
        ),
        (
            MetricDataQuery::builder()
                .id("e")
                .expression("ANOMALY_DETECTION_BAND(m1, 2)")
                .build(),
            "ValidationError",
            "ANOMALY_DETECTION_BAND",
        ),
    ];
    for (q, code, needle) in cases {
        let e = cw
            .get_metric_data()
            .metric_data_queries(q)
            .start_time(start)
            .end_time(end)
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(code), "{e:?}");
        assert!(
            e.message().unwrap_or_default().contains(needle),
            "{:?}",
            e.message()
        );
    }
    let e = cw
        .get_metric_data()
        .metric_data_queries(node_query("m", "a", "b", "Average", 60))
        .start_time(end)
        .end_time(start)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));
}

#[tokio::test]
async fn get_metric_data_pages_with_max_datapoints() {
    let sim = common::start().await;
    let cw = sim.cloudwatch(1);
    let (start, end) = last(60);
    let q = node_query("m", "ip-10-0-3-12", "i-0a1b2c3d4e5f60003", "Average", 60);
    let mut token = None;
    let mut all = Vec::new();
    for _ in 0..10 {
        let out = cw
            .get_metric_data()
            .metric_data_queries(q.clone())
            .start_time(start)
            .end_time(end)
            .max_datapoints(25)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        all.extend_from_slice(out.metric_data_results()[0].values());
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert!((59..=61).contains(&all.len()), "{}", all.len());
}

#[tokio::test]
async fn list_metrics_filters_by_namespace_name_and_dimensions() {
    let sim = common::start().await;
    let cw = sim.cloudwatch(1);
    let out = cw
        .list_metrics()
        .namespace("ContainerInsights")
        .metric_name("node_cpu_utilization")
        .dimensions(
            DimensionFilter::builder()
                .name("NodeName")
                .value("ip-10-0-2-78")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let metrics = out.metrics();
    assert_eq!(metrics.len(), 1);
    let dims: Vec<(&str, &str)> = metrics[0]
        .dimensions()
        .iter()
        .map(|d| (d.name().unwrap(), d.value().unwrap()))
        .collect();
    assert!(
        dims.contains(&("InstanceId", "i-0a1b2c3d4e5f60002")),
        "{dims:?}"
    );
    let all = cw
        .list_metrics()
        .namespace("ContainerInsights")
        .dimensions(DimensionFilter::builder().name("Service").build())
        .send()
        .await
        .unwrap();
    assert!(all.metrics().len() >= 5);
    assert!(
        all.metrics()
            .iter()
            .all(|m| m.dimensions().iter().any(|d| d.name() == Some("Service")))
    );
}

#[tokio::test]
async fn alarms_filter_by_state_and_prefix_with_computed_reasons() {
    let sim = common::start().await;
    let cw = sim.cloudwatch(1);
    let firing = cw
        .describe_alarms()
        .state_value(StateValue::Alarm)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = firing
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .collect();
    assert_eq!(
        names,
        [
            "eks-prod-node-ip-10-0-1-45-cpu-high",
            "payment-alb-5xx-high",
            "payment-service-eks-critical"
        ]
    );
    let critical = firing
        .metric_alarms()
        .iter()
        .find(|a| a.alarm_name() == Some("payment-service-eks-critical"))
        .unwrap();
    let reason = critical.state_reason().unwrap();
    assert!(
        reason.starts_with("Threshold Crossed: 3 out of the last 3 datapoints ["),
        "{reason}"
    );
    assert!(
        reason.contains("were greater than the threshold (90.0)"),
        "{reason}"
    );
    let updated = critical.state_updated_timestamp().unwrap().secs();
    let ago = chrono::Utc::now().timestamp() - updated;
    assert!((20 * 60..=22 * 60).contains(&ago), "{ago}");
    assert_eq!(critical.threshold(), Some(90.0));
    assert_eq!(critical.dimensions().len(), 3);

    let payment = cw
        .describe_alarms()
        .alarm_name_prefix("payment")
        .send()
        .await
        .unwrap();
    assert_eq!(payment.metric_alarms().len(), 2);
    let ok = cw
        .describe_alarms()
        .state_value(StateValue::Ok)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.metric_alarms().len(), 1);
    let e = cw
        .describe_alarms()
        .state_value(StateValue::from("BROKEN"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));
}

#[tokio::test]
async fn alarm_history_and_set_alarm_state() {
    let sim = common::start().await;
    let cw = sim.cloudwatch(1);
    let h = cw
        .describe_alarm_history()
        .alarm_name("payment-service-eks-critical")
        .send()
        .await
        .unwrap();
    let items = h.alarm_history_items();
    assert!(items.len() >= 3, "{items:?}");
    let updates: Vec<_> = items
        .iter()
        .filter(|i| i.history_item_type() == Some(&HistoryItemType::StateUpdate))
        .collect();
    assert_eq!(
        updates[0].history_summary(),
        Some("Alarm updated from OK to ALARM")
    );
    assert!(
        items
            .iter()
            .any(|i| i.history_item_type() == Some(&HistoryItemType::Action))
    );
    assert!(
        items
            .windows(2)
            .all(|w| w[0].timestamp() >= w[1].timestamp()),
        "newest first"
    );

    cw.set_alarm_state()
        .alarm_name("payment-service-eks-critical")
        .state_value(StateValue::Ok)
        .state_reason("mitigated by SOPilot (test)")
        .send()
        .await
        .unwrap();
    assert_eq!(
        sim.state
            .alarm_state("payment-service-eks-critical")
            .as_deref(),
        Some("OK")
    );
    let h = cw
        .describe_alarm_history()
        .alarm_name("payment-service-eks-critical")
        .history_item_type(HistoryItemType::StateUpdate)
        .send()
        .await
        .unwrap();
    assert_eq!(
        h.alarm_history_items()[0].history_summary(),
        Some("Alarm updated from ALARM to OK")
    );
    let e = cw
        .set_alarm_state()
        .alarm_name("nope")
        .state_value(StateValue::Ok)
        .state_reason("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFound"), "{e:?}");
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_then_reported() {
    use sopilot_sim_aws::{Fault, FaultKind, Service};
    let sim = common::start().await;
    sim.state.inject(
        Service::CloudWatch,
        Fault {
            operation: "DescribeAlarms".into(),
            kind: FaultKind::Throttle,
            times: Some(2),
        },
    );
    let out = sim.cloudwatch(3).describe_alarms().send().await.unwrap();
    assert_eq!(out.metric_alarms().len(), 5);
    let seen: Vec<Option<String>> = sim.state.requests().into_iter().map(|r| r.error).collect();
    assert_eq!(
        seen,
        [
            Some("Throttling".to_owned()),
            Some("Throttling".to_owned()),
            None
        ]
    );

    sim.state.inject(
        Service::CloudWatch,
        Fault {
            operation: "*".into(),
            kind: FaultKind::ServerError,
            times: None,
        },
    );
    let e = sim.cloudwatch(2).list_metrics().send().await.unwrap_err();
    assert_eq!(e.code(), Some("InternalServiceError"));
    assert_eq!(
        sim.state.requests().len(),
        5,
        "two attempts of the failing call"
    );
}
