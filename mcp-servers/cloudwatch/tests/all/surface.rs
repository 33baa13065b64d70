//! What the server offers: the tool list (a snapshot: it is prompt text), read-only
//! annotations on every tool, and the streamable HTTP transport.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};

#[tokio::test]
async fn tools_list_is_snapshotted_and_read_only() {
    let h = Harness::start().await;
    let mut tools: Vec<Value> = h
        .client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| serde_json::to_value(t).unwrap())
        .collect();
    tools.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for required in [
        "get_metric_data",
        "list_metrics",
        "describe_alarms",
        "alarm_history",
        "filter_log_events",
        "logs_insights_query",
        "forecast_metric",
        "anomaly_band",
    ] {
        assert!(names.contains(&required), "missing {required}: {names:?}");
    }
    for t in &tools {
        assert_eq!(
            t["annotations"]["readOnlyHint"], true,
            "{} must be read-only",
            t["name"]
        );
        assert!(t["annotations"]["title"].is_string());
    }
    insta::assert_json_snapshot!("tools-list", tools);
}

#[tokio::test]
async fn serves_streamable_http() {
    let endpoint = common::serve(common::common_state()).await;
    let (_child, url) = common::http_server(&endpoint).await;
    let client = ().serve(StreamableHttpClientTransport::from_uri(url.clone())).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert!(
        tools.iter().any(|t| t.name == "container_insights"),
        "{url}"
    );
    let r = client
        .call_tool(
            rmcp::model::CallToolRequestParams::new("describe_alarms")
                .with_arguments(json!({"state": "ALARM"}).as_object().cloned().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(
        r.structured_content.unwrap()["alarms"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    client.cancel().await.unwrap();
}
