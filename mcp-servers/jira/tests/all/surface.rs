//! What the server offers (the tool list is prompt text: snapshotted), and how it refuses to
//! start without its configuration.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

use crate::common::{EMAIL, Harness, PAT, TOKEN};

const READS: [&str; 2] = ["get_issue", "search"];
const WRITES: [&str; 3] = ["add_comment", "create_issue", "transition_issue"];

#[tokio::test]
async fn tools_list_is_snapshotted_and_annotated() {
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
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "add_comment",
            "create_issue",
            "get_issue",
            "search",
            "transition_issue"
        ]
    );
    for t in &tools {
        let name = t["name"].as_str().unwrap();
        let read_only = t["annotations"]["readOnlyHint"] == true;
        assert_eq!(
            read_only,
            READS.contains(&name),
            "{name}: reads are read-only, writes are not"
        );
        assert_eq!(
            t["inputSchema"]["properties"].get("dry_run").is_some(),
            WRITES.contains(&name),
            "{name}: writes take dry_run"
        );
    }
    insta::assert_json_snapshot!("tools-list", tools);
}

/// The environment, the arguments, and what stderr must say.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str);

fn run_binary(env: &[(&str, &str)], args: &[&str]) -> (i32, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-jira"));
    cmd.args(args).stdin(std::process::Stdio::null());
    for v in ["JIRA_URL", "JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_PAT"] {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn startup_errors_name_the_fix_and_never_the_secret() {
    let url = ("JIRA_URL", "http://127.0.0.1:9");
    let cases: [Case; 6] = [
        (
            &[("JIRA_EMAIL", EMAIL), ("JIRA_API_TOKEN", TOKEN)],
            &["--projects", "OPS"],
            "JIRA_URL is not set",
        ),
        (&[url], &["--projects", "OPS"], "no Jira credentials"),
        (
            &[url, ("JIRA_API_TOKEN", TOKEN)],
            &["--projects", "OPS"],
            "needs JIRA_EMAIL",
        ),
        (
            &[
                url,
                ("JIRA_EMAIL", EMAIL),
                ("JIRA_API_TOKEN", TOKEN),
                ("JIRA_PAT", PAT),
            ],
            &["--projects", "OPS"],
            "both JIRA_API_TOKEN and JIRA_PAT",
        ),
        (
            &[url, ("JIRA_PAT", PAT)],
            &["--projects", "OPS-1"],
            "is not a project key",
        ),
        (&[url, ("JIRA_PAT", PAT)], &[], "--projects"),
    ];
    for (env, args, want) in cases {
        let (code, stderr) = run_binary(env, args);
        assert_ne!(code, 0, "{want}");
        assert!(stderr.contains(want), "{want}: {stderr}");
        assert!(!stderr.contains(TOKEN) && !stderr.contains(PAT), "{stderr}");
    }
}
