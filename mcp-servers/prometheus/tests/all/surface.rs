//! What the server offers: the tool list (a snapshot: it is prompt text) and read-only
//! annotations on every tool. Listing tools does not call Prometheus.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

use crate::support::{free_port, mcp};

#[tokio::test]
async fn tools_list_is_snapshotted_and_read_only() {
    let c = mcp(&format!("http://127.0.0.1:{}", free_port()))
        .stdio()
        .await;
    let mut tools: Vec<Value> = c
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| serde_json::to_value(t).unwrap())
        .collect();
    tools.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "alerts",
            "correlate",
            "label_values",
            "query",
            "query_range",
            "rules",
            "series",
            "targets"
        ]
    );
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
