//! `sopilot mcp-server jira`: the builtin Jira server from the sopilot binary (the server
//! itself is tested against the simulated Jira in mcp-servers/jira), and what `sopilot`
//! demands before starting it.

use std::process::Stdio;

use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;

use crate::support::repo;

fn sopilot() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
    cmd.current_dir(repo());
    cmd
}

#[tokio::test]
async fn the_builtin_jira_server_lists_its_tools_reads_marked_read_only() {
    let mut cmd = sopilot();
    cmd.args(["mcp-server", "jira", "--projects", "OPS"])
        // Listing tools does not call Jira: nothing needs to listen there.
        .env("JIRA_URL", "http://127.0.0.1:9")
        .env("JIRA_EMAIL", "sopilot@example.com")
        .env("JIRA_API_TOKEN", "test-token")
        .env_remove("JIRA_PAT")
        .stderr(Stdio::null());
    let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    let read_only = |name: &str| {
        tools
            .iter()
            .find(|t| t.name == name)
            .and_then(|t| t.annotations.as_ref())
            .and_then(|a| a.read_only_hint)
            == Some(true)
    };
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
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
    assert!(read_only("get_issue") && read_only("search"));
    assert!(!read_only("create_issue") && !read_only("transition_issue"));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn jira_without_its_projects_is_refused_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sopilot.yaml");
    std::fs::write(&config, format!("store: {}/s.db\n", dir.path().display())).unwrap();
    let out = sopilot()
        .args(["doctor", "--json", "--config", config.to_str().unwrap()])
        .env("JIRA_URL", "http://127.0.0.1:9")
        .env_remove("SOPILOT_JIRA_PROJECTS")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("SOPILOT_JIRA_PROJECTS=OPS,PAY"), "{stdout}");
}
