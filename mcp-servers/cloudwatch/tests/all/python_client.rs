//! An independent MCP client, the official Python SDK (`pip install mcp`), drives
//! mcp-cloudwatch over stdio and over streamable HTTP, against the simulated AWS.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use serde_json::{Value, json};
use sopilot_test_support::{Via, python_client};

fn calls() -> Vec<(&'static str, Value)> {
    vec![
        ("describe_alarms", json!({"state": "ALARM"})),
        (
            "container_insights",
            json!({"cluster": "eks-prod", "metric": "cpu", "threshold": 80}),
        ),
        ("filter_log_events", json!({"log_group": "/aws/nope"})),
    ]
}

fn check(v: &Value) {
    assert_eq!(v["server"], "mcp-cloudwatch", "{v}");
    let tools: Vec<&str> = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        tools.contains(&"get_metric_data") && tools.contains(&"logs_insights_query"),
        "{tools:?}"
    );
    let c = v["calls"].as_array().unwrap();
    assert_eq!(c[0]["is_error"], false, "{}", c[0]);
    assert_eq!(c[0]["structured"]["alarms"].as_array().unwrap().len(), 3);
    assert_eq!(c[1]["structured"]["series"][0]["label"], "ip-10-0-1-45");
    assert_eq!(c[2]["is_error"], true, "{}", c[2]);
    assert!(c[2]["text"].as_str().unwrap().contains("does not exist"));
}

async fn check_via(via: Via) {
    let endpoint = common::serve(common::common_state()).await;
    let run = python_client(&common::server(&endpoint), via, &calls()).await;
    check(&run.report);
}

#[tokio::test]
async fn python_sdk_over_stdio() {
    check_via(Via::Stdio).await;
}

#[tokio::test]
async fn python_sdk_over_streamable_http() {
    check_via(Via::StreamableHttp).await;
}
