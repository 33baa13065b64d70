//! An independent MCP client, the official Python SDK (`pip install mcp`), drives mcp-slack
//! over stdio and over streamable HTTP against the simulated Web API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{ALLOWED, Sim, TOKEN, workspace};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

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
        "python MCP client failed (is `pip install mcp` done? .ci/run does it):\n{stderr}"
    );
    assert!(!stderr.contains(TOKEN), "token in the client's stderr");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn calls() -> Vec<String> {
    let call =
        |name: &str, args: Value| vec!["--call".to_owned(), name.to_owned(), args.to_string()];
    [
        call("channel_history", json!({"channel": "#incidents", "limit": 5})),
        call(
            "post_incident_report",
            json!({"channel": "#incidents", "title": "payment-service OOMKilled", "severity": "high",
                   "summary": "Pods restart every 2 minutes.", "actions_taken": ["deleted one pod"],
                   "pending_approvals": ["raise the memory limit"]}),
        ),
        call("post_message", json!({"channel": "#random", "text": "hi"})),
    ]
    .concat()
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

#[tokio::test]
async fn python_sdk_over_stdio() {
    let sim = Sim::start(workspace()).await;
    // The SDK starts servers with a minimal environment, so pass ours through env(1).
    let mut args: Vec<String> = vec![
        "--stdio".into(),
        "env".into(),
        format!("SLACK_BOT_TOKEN={TOKEN}"),
        format!("SLACK_API_URL={}", sim.url),
        "RUST_LOG=warn".into(),
        env!("CARGO_BIN_EXE_mcp-slack").into(),
        "--allow-post".into(),
        "--channels".into(),
        ALLOWED.into(),
    ];
    args.extend(calls());
    let v = python(&args).await;
    check(&v, &sim);
}

#[tokio::test]
async fn python_sdk_over_streamable_http() {
    let sim = Sim::start(workspace()).await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-slack"))
        .args([
            "--http",
            "127.0.0.1:0",
            "--allow-post",
            "--channels",
            ALLOWED,
        ])
        .env("SLACK_BOT_TOKEN", TOKEN)
        .env("SLACK_API_URL", &sim.url)
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(i) = line.find("http://")
                && line.contains("/mcp")
            {
                return line[i..].trim().to_owned();
            }
        }
        panic!("no listening line")
    })
    .await
    .unwrap();
    // Keep draining the server's stderr so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let mut args = vec!["--http".to_owned(), url];
    args.extend(calls());
    check(&python(&args).await, &sim);
}
