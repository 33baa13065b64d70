//! What the server offers: the tool list (a snapshot: it is prompt text), read-only
//! annotations on the readers, `dry_run` on the two tools that change anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

use crate::common::Harness;

#[tokio::test]
async fn tools_list_is_snapshotted_readers_are_read_only_and_writers_dry_run() {
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
    for t in &tools {
        let name = t["name"].as_str().unwrap();
        let writes = name == "start_zonal_shift" || name == "cancel_zonal_shift";
        assert_eq!(t["annotations"]["readOnlyHint"], !writes, "{name}");
        assert_eq!(
            t["inputSchema"]["properties"]["dry_run"].is_object(),
            writes,
            "{name}: dry_run exactly on the tools that change anything"
        );
    }
    insta::assert_json_snapshot!("tools-list", tools);
}
