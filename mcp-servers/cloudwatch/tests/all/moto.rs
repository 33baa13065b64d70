//! moto (PyPI `moto[server]`) as an independent second backend for the Logs tools: log groups
//! and events are created through the real SDK, then mcp-cloudwatch searches and queries them.
//! moto does not speak CloudWatch's CBOR protocol, so the metric and alarm tools are not run
//! here. moto's filter patterns are plain substrings, so single terms are used.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use serde_json::{Value, json};
use sopilot_test_support::moto;

async fn seed(url: &str) {
    let conf = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudwatchlogs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudwatchlogs::config::Credentials::new(
            "AKIDTEST",
            "test-secret",
            None,
            None,
            "static",
        ))
        .endpoint_url(url)
        .build();
    let logs = aws_sdk_cloudwatchlogs::Client::from_conf(conf);
    let group = "/aws/containerinsights/eks-prod/application";
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name("payment-service-7d8f9c6b5-b8r2n")
        .send()
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let mut events = Vec::new();
    for i in 0..40 {
        let message = if i % 4 == 0 {
            format!("INFO GET /health 200 {i}ms")
        } else {
            format!(
                "ERROR [http-nio-8080-exec-{i}] o.s.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection"
            )
        };
        events.push(
            InputLogEvent::builder()
                .timestamp(now - (40 - i) * 5_000)
                .message(message)
                .build()
                .unwrap(),
        );
    }
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name("payment-service-7d8f9c6b5-b8r2n")
        .set_log_events(Some(events))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn logs_tools_work_against_moto() {
    let m = moto().await;
    seed(&m.url).await;
    let client = common::server(&m.url).stdio().await;
    let call = |name: &'static str, args: Value| {
        let client = &client;
        async move {
            let r = client.call(name, args).await;
            (r.is_error, r.text, r.structured)
        }
    };
    let (err, text, s) = call("filter_log_events", json!({"log_group": "/aws/containerinsights/eks-prod/application", "pattern": "CannotGetJdbcConnectionException", "minutes": 10})).await;
    assert!(!err, "{text}");
    assert_eq!(s["matched"], 30, "{text}");
    assert_eq!(
        s["top_messages"][0]["count"], 30,
        "numbers are ignored when grouping: {text}"
    );

    let (err, text, _) = call(
        "filter_log_events",
        json!({"log_group": "/aws/containerinsights/eks-prod/app"}),
    )
    .await;
    assert!(
        err && text.contains("log groups: /aws/containerinsights/eks-prod/application"),
        "{text}"
    );

    let (err, text, s) = call("logs_insights_query", json!({"log_groups": ["/aws/containerinsights/eks-prod/application"], "query": "fields @timestamp, @message | sort @timestamp desc | limit 3", "minutes": 10, "timeout_seconds": 20})).await;
    assert!(!err, "{text}");
    let rows = s["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(
        rows[0]["@message"]
            .as_str()
            .unwrap()
            .contains("CannotGetJdbcConnectionException"),
        "{text}"
    );
    client.cancel().await.unwrap();
}
