//! An independent MCP client, the official Python SDK (`pip install mcp`), drives
//! mcp-kubectl over stdio and over streamable HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

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
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn calls() -> Vec<String> {
    vec![
        "--call".into(),
        "list_pods".into(),
        json!({"namespace": "payment", "status": "CrashLoopBackOff"}).to_string(),
        "--call".into(),
        "delete_pod".into(),
        json!({"namespace": "payment", "name": "payment-service-7d8f9c6b5-x2k9p", "dry_run": true})
            .to_string(),
        "--call".into(),
        "get_resource".into(),
        json!({"kind": "Secret", "namespace": "payment"}).to_string(),
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
    let mut args: Vec<String> = vec![
        "--stdio".into(),
        env!("CARGO_BIN_EXE_mcp-kubectl").into(),
        "--allow-write".into(),
        "--kubeconfig".into(),
        sim.kubeconfig().display().to_string(),
    ];
    args.extend(calls());
    let v = python(&args).await;
    check(&v);
    assert!(
        sim.get("Pod", Some("payment"), "payment-service-7d8f9c6b5-x2k9p")
            .is_some(),
        "the dry run deleted nothing"
    );
}

#[tokio::test]
async fn python_sdk_over_streamable_http() {
    let sim = common::sim().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-kubectl"))
        .args(["--http", "127.0.0.1:0", "--allow-write", "--kubeconfig"])
        .arg(sim.kubeconfig())
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(i) = line.find("http://") {
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
    check(&python(&args).await);
}
