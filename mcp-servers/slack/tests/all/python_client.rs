//! An independent MCP client, the official Python SDK (`pip install mcp`), drives mcp-slack
//! over stdio and over streamable HTTP against the simulated Web API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{ALLOWED, Sim, TOKEN, workspace};
use serde_json::{Value, json};
use sopilot_test_support::{Via, python_client};

fn calls() -> Vec<(&'static str, Value)> {
    vec![
        (
            "channel_history",
            json!({"channel": "#incidents", "limit": 5}),
        ),
        (
            "post_incident_report",
            json!({"channel": "#incidents", "title": "payment-service OOMKilled", "severity": "high",
                   "summary": "Pods restart every 2 minutes.", "actions_taken": ["deleted one pod"],
                   "pending_approvals": ["raise the memory limit"]}),
        ),
        ("post_message", json!({"channel": "#random", "text": "hi"})),
    ]
}

fn check(v: &Value, sim: &Sim) {
    assert_eq!(v["server"], "mcp-slack", "{v}");
    let tools: Vec<&str> = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        tools.contains(&"post_incident_report") && tools.contains(&"channel_history"),
        "{tools:?}"
    );
    let c = v["calls"].as_array().unwrap();
    assert_eq!(c[0]["is_error"], false, "{}", c[0]);
    assert!(
        c[0]["text"]
            .as_str()
            .unwrap()
            .contains("payment-service is paging")
    );
    assert_eq!(c[0]["structured"]["messages"][1]["user_name"], "alice");
    assert_eq!(c[1]["is_error"], false, "{}", c[1]);
    let ts = c[1]["structured"]["ts"].as_str().unwrap();
    let posted = sim.state.messages("incidents").pop().unwrap();
    assert_eq!(posted.ts, ts);
    assert!(
        posted
            .text
            .starts_with("[SEV2 HIGH] payment-service OOMKilled"),
        "{}",
        posted.text
    );
    assert_eq!(c[2]["is_error"], true, "outside the allow-list: {}", c[2]);
    assert!(
        c[2]["text"]
            .as_str()
            .unwrap()
            .contains("allowed: #incidents (C0INCIDENTS)")
    );
    assert!(!v.to_string().contains(TOKEN));
}

async fn check_via(via: Via) {
    let sim = Sim::start(workspace()).await;
    // Over HTTP the server logs at info, to say where it listens.
    let server = common::server(&sim, &["--allow-post", "--channels", ALLOWED], TOKEN)
        .env("RUST_LOG", "warn");
    let run = python_client(&server, via, &calls()).await;
    assert!(!run.stderr.contains(TOKEN), "token in the client's stderr");
    check(&run.report, &sim);
}

#[tokio::test]
async fn python_sdk_over_stdio() {
    check_via(Via::Stdio).await;
}

#[tokio::test]
async fn python_sdk_over_streamable_http() {
    check_via(Via::StreamableHttp).await;
}
