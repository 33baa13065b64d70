//! An independent MCP client, the official Python SDK (`pip install mcp`), drives
//! mcp-cost over stdio and over streamable HTTP, against the simulated AWS.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use chrono::{Datelike, Months, Utc};
use serde_json::{Value, json};
use sopilot_test_support::{Via, python_client};

fn month(offset: i32) -> String {
    let first = Utc::now().date_naive().with_day(1).unwrap();
    let d = if offset < 0 {
        first - Months::new(offset.unsigned_abs())
    } else {
        first + Months::new(offset.unsigned_abs())
    };
    d.to_string()
}

fn calls() -> Vec<(&'static str, Value)> {
    let (base, later, now) = (month(-2), month(-1), month(0));
    vec![
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
    ]
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
