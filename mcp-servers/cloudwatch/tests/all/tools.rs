//! mcp-cloudwatch over stdio against the simulated AWS, through the real SDK: what each tool
//! answers for the payment incident.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use serde_json::json;

#[tokio::test]
async fn metric_series_are_summarised_with_threshold_crossings() {
    let h = Harness::start().await;
    let r = h
        .ok(
            "get_metric_data",
            json!({"namespace": "ContainerInsights", "metric": "node_cpu_utilization",
                   "dimensions": {"ClusterName": "eks-prod", "InstanceId": "i-0a1b2c3d4e5f60001", "NodeName": "ip-10-0-1-45"},
                   "minutes": 60, "threshold": 90}),
        )
        .await;
    let s = &r.structured["summary"];
    let avg = s["average"].as_f64().unwrap();
    assert!((86.5..88.5).contains(&avg), "{avg}");
    assert_eq!(s["max"], 94.1);
    assert!(s["threshold"]["points_at_or_above"].as_u64().unwrap() >= 1);
    assert!(!s["threshold"]["crossings"].as_array().unwrap().is_empty());
    assert!(r.structured["points"].as_array().unwrap().len() >= 59);
    assert!(r.text.contains("max 94.1"), "{}", r.text);
    assert!(r.text.contains("threshold 90:"), "{}", r.text);
}

#[tokio::test]
async fn container_insights_finds_the_hot_nodes_and_the_service_near_its_limit() {
    let h = Harness::start().await;
    let r = h
        .ok(
            "container_insights",
            json!({"cluster": "eks-prod", "metric": "cpu", "threshold": 80}),
        )
        .await;
    let series = r.structured["series"].as_array().unwrap();
    let labels: Vec<&str> = series
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["ip-10-0-1-45", "ip-10-0-2-78", "ip-10-0-3-12"],
        "{}",
        r.text
    );
    let avg = |i: usize| series[i]["summary"]["average"].as_f64().unwrap();
    assert!((86.0..89.0).contains(&avg(0)) && (81.0..84.0).contains(&avg(1)) && avg(2) < 50.0);
    assert_eq!(r.text.matches("≥ 80").count(), 2, "{}", r.text);

    let r = h.ok("container_insights", json!({"cluster": "eks-prod", "metric": "memory_over_limit", "namespace": "payment", "service": "payment-service", "stat": "Maximum", "minutes": 20})).await;
    assert!(
        r.structured["series"][0]["summary"]["average"]
            .as_f64()
            .unwrap()
            > 90.0,
        "{}",
        r.text
    );
    let r = h.ok("container_insights", json!({"cluster": "eks-prod", "metric": "memory_over_limit", "namespace": "payment", "pod": "payment-service-7d8f9c6b5-x2k9p"})).await;
    assert!(
        r.structured["series"][0]["summary"]["last"]
            .as_f64()
            .unwrap()
            > 98.0,
        "{}",
        r.text
    );
    let r = h
        .ok(
            "container_insights",
            json!({"cluster": "eks-prod", "metric": "cpu", "namespace": "payment"}),
        )
        .await;
    assert_eq!(
        r.structured["series"].as_array().unwrap().len(),
        3,
        "payment-service, postgres, order-service: {}",
        r.text
    );
}

#[tokio::test]
async fn alarms_show_state_reason_and_history() {
    let h = Harness::start().await;
    let r = h.ok("describe_alarms", json!({"state": "ALARM"})).await;
    assert_eq!(r.structured["alarms"].as_array().unwrap().len(), 3);
    assert!(
        r.text.contains(
            "payment-service-eks-critical: Threshold Crossed: 3 out of the last 3 datapoints"
        ),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("Maximum > 90 for 3 of 3 x 60s"),
        "{}",
        r.text
    );
    let r = h
        .ok("describe_alarms", json!({"name_prefix": "cart-"}))
        .await;
    assert_eq!(r.structured["alarms"][0]["state"], "INSUFFICIENT_DATA");
    let r = h
        .ok(
            "alarm_history",
            json!({"alarm_name": "payment-service-eks-critical"}),
        )
        .await;
    let items = r.structured["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|i| i["summary"] == "Alarm updated from OK to ALARM"),
        "{}",
        r.text
    );
    assert!(items.iter().any(|i| i["type"] == "Action"), "{}", r.text);
    assert_eq!(
        items.iter().find(|i| i["type"] == "StateUpdate").unwrap()["data"]["newState"]["stateValue"],
        "ALARM"
    );
}

/// Every result passes the shared redaction on its way out, whatever the tool left in it: an
/// alarm description is passed on as AWS holds it.
#[tokio::test]
async fn results_are_redacted_on_their_way_out() {
    let mut s = common::scenario();
    s["cloudwatch"]["alarms"][0]["description"] =
        json!("pages on-call; the runbook's db is postgres://app:s3cr3t@db:5432/pay");
    let h = Harness::with(common::state_from(&s)).await;
    let r = h.ok("describe_alarms", json!({"state": "ALARM"})).await;
    let everything = r.everything();
    assert!(!everything.contains("s3cr3t"), "{everything}");
    assert!(
        everything.contains("postgres://app:[REDACTED]@db:5432/pay"),
        "{everything}"
    );
}

#[tokio::test]
async fn log_search_counts_the_most_frequent_error() {
    let h = Harness::start().await;
    let r = h
        .ok("filter_log_events", json!({"log_group": "/aws/containerinsights/eks-prod/application", "pattern": "?ERROR ?Exception ?timeout", "minutes": 15, "limit": 50}))
        .await;
    let top = &r.structured["top_messages"][0];
    assert!(
        top["message"]
            .as_str()
            .unwrap()
            .contains("CannotGetJdbcConnectionException"),
        "{}",
        r.text
    );
    let n = top["count"].as_u64().unwrap();
    assert!(
        (3500..=3700).contains(&n),
        "four pods once a second for 15 minutes: {n}"
    );
    assert_eq!(r.structured["events"].as_array().unwrap().len(), 50);
    assert!(
        r.text.contains("payment-service-7d8f9c6b5-"),
        "pods shown: {}",
        r.text
    );
    assert_eq!(r.structured["complete"], true);
}

#[tokio::test]
async fn log_output_is_capped_with_a_marker() {
    let h = Harness::start().await;
    let r = h.ok("filter_log_events", json!({"log_group": "/aws/containerinsights/eks-prod/application", "pattern": "ERROR", "minutes": 60, "limit": 1000})).await;
    assert!(r.text.len() < 20 * 1024, "{}", r.text.len());
    assert!(r.text.contains("[truncated:"), "explicit marker");
    assert_eq!(r.structured["truncated"], true);
}

#[tokio::test]
async fn insights_queries_aggregate_by_pod() {
    let h = Harness::start().await;
    let r = h
        .ok(
            "logs_insights_query",
            json!({"log_groups": ["/aws/containerinsights/eks-prod/application"],
                   "query": "filter @message like /OutOfMemoryError/ | stats count() as ooms by kubernetes.pod_name | sort ooms desc",
                   "minutes": 180, "timeout_seconds": 20}),
        )
        .await;
    let rows = r.structured["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{}", r.text);
    assert_eq!(
        rows[0]["kubernetes.pod_name"],
        "payment-service-7d8f9c6b5-x2k9p"
    );
    assert_eq!(rows[0]["ooms"], "7");
}
