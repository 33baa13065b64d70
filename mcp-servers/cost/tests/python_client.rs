//! An independent MCP client, the official Python SDK (`pip install mcp`), drives
//! mcp-cost over stdio and over streamable HTTP, against the simulated AWS.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use chrono::{Datelike, Months, Utc};
use serde_json::{Value, json};

fn month(offset: i32) -> String {
    let first = Utc::now().date_naive().with_day(1).unwrap();
    let d = if offset < 0 {
        first - Months::new(offset.unsigned_abs())
    } else {
        first + Months::new(offset.unsigned_abs())
    };
    d.to_string()
}

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
    let (base, later, now) = (month(-2), month(-1), month(0));
    for (name, args) in [
        (
            "compare_periods",
            json!({"base_start": base, "base_end": later, "compare_start": later, "compare_end": now}),
        ),
        (
            "cost_and_usage",
            json!({"start": later, "end": now, "group_by": "SERVICE"}),
        ),
        (
            "cost_forecast",
            json!({"start": "2026-13-01", "end": "2027-01-01"}),
        ),
    ] {
        v.extend(["--call".to_owned(), name.to_owned(), args.to_string()]);
    }
    v
}

fn check(v: &Value) {
    assert_eq!(v["server"], "mcp-cost", "{v}");
    let tools: Vec<&str> = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        ["compare_periods", "cost_and_usage", "cost_forecast"]
    );
    let c = v["calls"].as_array().unwrap();
    assert_eq!(c[0]["is_error"], false, "{}", c[0]);
    assert_eq!(c[0]["structured"]["comparison"]["change_percent"], 45.0);
    assert_eq!(c[1]["structured"]["total"], 12450.0);
    assert_eq!(c[2]["is_error"], true, "{}", c[2]);
    assert!(c[2]["text"].as_str().unwrap().contains("use YYYY-MM-DD"));
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
    args.push(env!("CARGO_BIN_EXE_mcp-cost").into());
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
