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
    for required in ["cost_and_usage", "compare_periods", "cost_forecast"] {
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
    assert!(tools.iter().any(|t| t.name == "compare_periods"), "{url}");
    let r = client
        .call_tool(
            rmcp::model::CallToolRequestParams::new("cost_and_usage").with_arguments(
                json!({"start": "2026-02-30", "end": "2026-03-01"})
                    .as_object()
                    .cloned()
                    .unwrap(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        r.is_error,
        Some(true),
        "a bad date is a tool error over HTTP too"
    );
    client.cancel().await.unwrap();
}
