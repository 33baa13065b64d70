//! What the server offers and refuses: the tool lists (snapshots: they are prompt text),
//! posting gated by --allow-post, startup errors, and the streamable HTTP transport.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{ALLOWED, Harness, TOKEN, workspace};
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};

const READ_TOOLS: [&str; 3] = ["channel_history", "list_channels", "thread_replies"];
const POST_TOOLS: [&str; 5] = [
    "add_reaction",
    "post_incident_report",
    "post_message",
    "reply_in_thread",
    "update_message",
];

async fn tool_list(h: &Harness) -> Vec<Value> {
    let tools = h.client.list_all_tools().await.unwrap();
    let mut v: Vec<Value> = tools
        .into_iter()
        .map(|t| serde_json::to_value(t).unwrap())
        .collect();
    v.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    v
}

fn names(tools: &[Value]) -> Vec<&str> {
    tools.iter().map(|t| t["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn tools_list_with_posting_is_snapshotted_and_annotated() {
    let h = Harness::start(workspace(), &["--allow-post", "--channels", ALLOWED]).await;
    let tools = tool_list(&h).await;
    let mut want: Vec<&str> = READ_TOOLS.into_iter().chain(POST_TOOLS).collect();
    want.sort_unstable();
    assert_eq!(names(&tools), want);
    for t in &tools {
        let a = &t["annotations"];
        assert!(a["title"].is_string(), "{} has no title", t["name"]);
        assert!(
            a["readOnlyHint"].is_boolean(),
            "{} has no readOnlyHint",
            t["name"]
        );
        assert!(
            a["openWorldHint"].is_boolean(),
            "{} has no openWorldHint",
            t["name"]
        );
        let posting = a["readOnlyHint"] == false;
        assert_eq!(
            posting,
            POST_TOOLS.contains(&t["name"].as_str().unwrap()),
            "{}",
            t["name"]
        );
        assert_eq!(
            posting,
            t["inputSchema"]["properties"].get("dry_run").is_some(),
            "{}: every posting tool takes dry_run",
            t["name"]
        );
        if posting {
            assert!(a["destructiveHint"].is_boolean() && a["idempotentHint"].is_boolean());
        }
    }
    insta::assert_json_snapshot!("tools-list-posting", tools);
}

#[tokio::test]
async fn read_only_without_allow_post() {
    let h = Harness::start(workspace(), &["--channels", ALLOWED]).await;
    let tools = tool_list(&h).await;
    assert_eq!(names(&tools), READ_TOOLS);
    insta::assert_json_snapshot!("tools-list-read-only", tools);
    let params = rmcp::model::CallToolRequestParams::new("post_message").with_arguments(
        json!({"channel": "#incidents", "text": "hello"})
            .as_object()
            .cloned()
            .unwrap(),
    );
    assert!(
        h.client.call_tool(params).await.is_err(),
        "an unlisted tool must not run"
    );
    assert!(
        h.sim.state.requests_for("chat.postMessage").is_empty(),
        "nothing was posted"
    );
    // Reading is allowed.
    let r = h
        .ok("channel_history", json!({"channel": "incidents"}))
        .await;
    assert!(r.text.contains("p99 latency is 4s"), "{}", r.text);
}

/// Runs the binary to completion with this environment and arguments.
fn run_binary(env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-slack"));
    cmd.args(args)
        .env_remove("SLACK_BOT_TOKEN")
        .env_remove("SLACK_API_URL")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn startup_errors_are_clear_and_never_show_the_token() {
    let (code, stdout, stderr) = run_binary(&[], &["--channels", "#incidents"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stdout.is_empty(),
        "stdout belongs to the protocol: {stdout}"
    );
    assert!(stderr.contains("SLACK_BOT_TOKEN is not set"), "{stderr}");
    let (code, _, stderr) = run_binary(&[("SLACK_BOT_TOKEN", "")], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("SLACK_BOT_TOKEN is empty"), "{stderr}");
    let (code, _, stderr) = run_binary(&[("SLACK_BOT_TOKEN", TOKEN)], &["--allow-post"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("--allow-post needs --channels"), "{stderr}");
    let (code, _, stderr) = run_binary(
        &[
            ("SLACK_BOT_TOKEN", TOKEN),
            ("SLACK_API_URL", "ftp://x/api/"),
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("SLACK_API_URL \"ftp://x/api/\" is not usable"),
        "{stderr}"
    );
    let (code, _, stderr) = run_binary(&[("SLACK_BOT_TOKEN", "xoxb-has a space-0000000")], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("holds spaces"), "{stderr}");
    assert!(
        !stderr.contains("has a space"),
        "the bad token is not echoed: {stderr}"
    );
    let (code, _, stderr) = run_binary(&[], &["--token", TOKEN]);
    assert_eq!(code, 2, "there is no token flag: {stderr}");
    assert!(stderr.contains("unexpected argument '--token'"), "{stderr}");
    let (code, help, _) = run_binary(&[], &["--help"]);
    assert_eq!(code, 0);
    for needle in [
        "--allow-post",
        "--channels",
        "--http",
        "SLACK_BOT_TOKEN",
        "SLACK_API_URL",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

#[tokio::test]
async fn serves_streamable_http() {
    let sim = common::Sim::start(workspace()).await;
    let http = common::server(&sim, &["--allow-post", "--channels", ALLOWED], TOKEN)
        .http()
        .await;
    for line in &http.startup_log {
        assert!(!line.contains(TOKEN), "token in log: {line}");
    }
    let url = http.url.clone();
    let client = ().serve(StreamableHttpClientTransport::from_uri(url.clone())).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 8, "{url}");
    let r = client
        .call_tool(
            rmcp::model::CallToolRequestParams::new("post_message").with_arguments(
                json!({"channel": "#ops", "text": "deploy paused"})
                    .as_object()
                    .cloned()
                    .unwrap(),
            ),
        )
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{r:?}");
    let ts = r.structured_content.unwrap()["ts"]
        .as_str()
        .unwrap()
        .to_owned();
    let posted = sim.state.messages("#ops");
    assert_eq!(
        (posted[0].text.as_str(), posted[0].ts.as_str()),
        ("deploy paused", ts.as_str())
    );
    client.cancel().await.unwrap();
}
