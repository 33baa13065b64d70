//! An independent MCP client, the official Python SDK (`pip install mcp`), drives
//! mcp-kubectl over stdio and over streamable HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use serde_json::{Value, json};
use sopilot_test_support::{Via, python_client};

fn calls() -> Vec<(&'static str, Value)> {
    vec![
        (
            "list_pods",
            json!({"namespace": "payment", "status": "CrashLoopBackOff"}),
        ),
        (
            "delete_pod",
            json!({"namespace": "payment", "name": "payment-service-7d8f9c6b5-x2k9p", "dry_run": true}),
        ),
        (
            "get_resource",
            json!({"kind": "Secret", "namespace": "payment"}),
        ),
    ]
}

fn check(v: &Value) {
    assert_eq!(v["server"], "mcp-kubectl", "{v}");
    let tools: Vec<&str> = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        tools.contains(&"drain") && tools.contains(&"list_pods"),
        "{tools:?}"
    );
    let c = v["calls"].as_array().unwrap();
    assert_eq!(c[0]["is_error"], false);
    assert!(
        c[0]["text"]
            .as_str()
            .unwrap()
            .contains("payment-service-7d8f9c6b5-x2k9p")
    );
    assert_eq!(c[0]["structured"]["pods"][0]["restarts"], 7);
    assert_eq!(
        c[1]["structured"]["impact"]["pod"]["waiting_reason"],
        "CrashLoopBackOff"
    );
    assert_eq!(c[1]["structured"]["dry_run"], true);
    assert_eq!(c[2]["is_error"], true, "Secrets are refused: {}", c[2]);
}

#[tokio::test]
async fn python_sdk_over_stdio() {
    let sim = common::sim().await;
    let run = python_client(&common::server(&sim, true), Via::Stdio, &calls()).await;
    check(&run.report);
    assert!(
        sim.get("Pod", Some("payment"), "payment-service-7d8f9c6b5-x2k9p")
            .is_some(),
        "the dry run deleted nothing"
    );
}

#[tokio::test]
async fn python_sdk_over_streamable_http() {
    let sim = common::sim().await;
    let run = python_client(&common::server(&sim, true), Via::StreamableHttp, &calls()).await;
    check(&run.report);
}
