//! Bad arguments and AWS failures are tool errors that say what to fix; throttling is retried
//! with backoff and then reported; a missing region stops the server at startup.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::Harness;
use serde_json::json;
use sopilot_sim_aws::{Fault, FaultKind, Service};

#[tokio::test]
async fn bad_arguments_say_what_to_fix() {
    let h = Harness::start().await;
    let cases = [
        (
            "get_metric_data",
            json!({"namespace": "ContainerInsights", "metric": "node_cpu_utilisation"}),
            "its metrics: ",
        ),
        (
            "get_metric_data",
            json!({"namespace": "ContainerInsights", "metric": "node_cpu_utilization", "dimensions": {"NodeName": "ip-10-0-1-45"}}),
            "Existing sets: {ClusterName=eks-prod, InstanceId=i-0a1b2c3d4e5f60001, NodeName=ip-10-0-1-45}",
        ),
        (
            "get_metric_data",
            json!({"namespace": "ContainerInsights", "metric": "node_cpu_utilization", "period_seconds": 90}),
            "multiple of 60",
        ),
        (
            "get_metric_data",
            json!({"namespace": "ContainerInsights", "metric": "node_cpu_utilization", "stat": "Median"}),
            "p95",
        ),
        (
            "get_metric_data",
            json!({"namespace": "ContainerInsights", "metric": "node_cpu_utilization", "minutes": 0}),
            "minutes must be between 1 and",
        ),
        (
            "container_insights",
            json!({"cluster": "eks-dev", "metric": "cpu"}),
            "clusters with Container Insights: eks-prod",
        ),
        (
            "container_insights",
            json!({"cluster": "eks-prod", "metric": "cpu", "namespace": "payment", "service": "paymnt"}),
            "services: [order-service, payment-service, postgres]",
        ),
        (
            "container_insights",
            json!({"cluster": "eks-prod", "metric": "restarts"}),
            "pod metrics",
        ),
        (
            "describe_alarms",
            json!({"state": "FIRING"}),
            "use ALARM, OK or INSUFFICIENT_DATA",
        ),
        (
            "alarm_history",
            json!({"alarm_name": "payment-service-critical"}),
            "alarms with a similar name: payment-alb-5xx-high, payment-service-eks-critical",
        ),
        (
            "filter_log_events",
            json!({"log_group": "/aws/containerinsights/eks-prod/app"}),
            "log groups: /aws/containerinsights/eks-prod/application",
        ),
        (
            "filter_log_events",
            json!({"log_group": "/aws/containerinsights/eks-prod/application", "pattern": "{ $.level = 1 }"}),
            "check the pattern",
        ),
        (
            "logs_insights_query",
            json!({"log_groups": ["/aws/containerinsights/eks-prod/application"], "query": "fields @message | frobnicate @message"}),
            "the query is malformed",
        ),
        (
            "logs_insights_query",
            json!({"log_groups": ["/nope"], "query": "fields @message"}),
            "log group \"/nope\" does not exist",
        ),
    ];
    for (tool, args, needle) in cases {
        let r = h.call(tool, args.clone()).await;
        assert!(r.is_error, "{tool} {args} should fail: {}", r.text);
        assert!(
            r.text.contains(needle),
            "{tool} {args}: expected {needle:?} in {:?}",
            r.text
        );
    }
}

#[tokio::test]
async fn throttling_is_retried_then_succeeds_or_is_reported() {
    let h = Harness::start().await;
    h.state.inject(
        Service::CloudWatch,
        Fault {
            operation: "DescribeAlarms".into(),
            kind: FaultKind::Throttle,
            times: Some(2),
        },
    );
    let r = h.ok("describe_alarms", json!({"state": "ALARM"})).await;
    assert_eq!(r.structured["alarms"].as_array().unwrap().len(), 3);
    let throttled = h
        .state
        .requests()
        .iter()
        .filter(|r| r.error.as_deref() == Some("Throttling"))
        .count();
    assert_eq!(throttled, 2);

    h.state.inject(
        Service::Logs,
        Fault {
            operation: "FilterLogEvents".into(),
            kind: FaultKind::Throttle,
            times: None,
        },
    );
    let r = h
        .call(
            "filter_log_events",
            json!({"log_group": "/aws/containerinsights/eks-prod/application"}),
        )
        .await;
    assert!(r.is_error);
    assert!(r.text.contains("CloudWatch Logs is throttling requests (ThrottlingException: Rate exceeded) and still was after 3 attempts"), "{}", r.text);

    h.state.inject(
        Service::CloudWatch,
        Fault {
            operation: "ListMetrics".into(),
            kind: FaultKind::ServerError,
            times: None,
        },
    );
    let r = h.call("list_metrics", json!({})).await;
    assert!(
        r.is_error && r.text.contains("failed on its side (InternalServiceError"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn insights_queries_that_never_finish_time_out() {
    let mut s = common::scenario();
    s["logs"]["query_polls"] = json!(1_000_000);
    let h = Harness::with(common::state_from(&s)).await;
    let started = Instant::now();
    let r = h.call("logs_insights_query", json!({"log_groups": ["/aws/containerinsights/eks-prod/application"], "query": "fields @message | limit 5", "timeout_seconds": 2})).await;
    assert!(r.is_error);
    assert!(r.text.contains("still running after 2 s"), "{}", r.text);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_missing_region_is_a_clear_error_at_startup() {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-cloudwatch"));
    for (k, v) in common::aws_env("http://127.0.0.1:9") {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(
        Duration::from_secs(30),
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
    assert!(out.stdout.is_empty(), "stdout belongs to the protocol");
}
