//! An independent MCP client, the official Python SDK (`pip install mcp`), drives
//! mcp-cloudwatch over stdio and over streamable HTTP, against the simulated AWS.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use serde_json::{Value, json};

async fn python(args: &[String]) -> Value {
    let script = common::repo().join("tests/python/mcp_client_check.py");
    let out = tokio::time::timeout(
        Duration::from_secs(90),
        tokio::process::Command::new("python3")
            .arg(script)
            .args(args)
            .output(),
    )
    .await
    .expect("python client timed out")
    .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python MCP client failed (is `pip install mcp` done? scripts/test does it):\n{stderr}"
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn calls() -> Vec<String> {
    let mut v = Vec::new();
    for (name, args) in [
        ("describe_alarms", json!({"state": "ALARM"})),
        (
            "container_insights",
            json!({"cluster": "eks-prod", "metric": "cpu", "threshold": 80}),
        ),
        ("filter_log_events", json!({"log_group": "/aws/nope"})),
    ] {
        v.extend(["--call".to_owned(), name.to_owned(), args.to_string()]);
    }
    v
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

#[tokio::test]
async fn python_sdk_over_stdio() {
    let endpoint = common::serve(common::common_state()).await;
    // The SDK passes only a few variables to the server, so they go through env(1).
    let mut args: Vec<String> = vec!["--stdio".into(), "env".into()];
    args.extend(
        common::aws_env(&endpoint)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}")),
    );
    args.push(env!("CARGO_BIN_EXE_mcp-cloudwatch").into());
    args.extend(calls());
    check(&python(&args).await);
}

#[tokio::test]
async fn python_sdk_over_streamable_http() {
    let endpoint = common::serve(common::common_state()).await;
    let (_child, url) = common::http_server(&endpoint).await;
    let mut args = vec!["--http".to_owned(), url];
    args.extend(calls());
    check(&python(&args).await);
}
