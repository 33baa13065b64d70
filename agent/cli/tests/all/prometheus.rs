//! `sopilot mcp-server prometheus`: the builtin Prometheus server from the sopilot binary (the
//! server itself is tested against a real Prometheus in mcp-servers/prometheus).

use std::process::Stdio;

use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;

fn sopilot() -> tokio::process::Command {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"))
}

#[tokio::test]
async fn the_builtin_prometheus_server_lists_its_read_only_tools() {
    let mut cmd = sopilot();
    cmd.args(["mcp-server", "prometheus"])
        // Listing tools does not call Prometheus: nothing needs to listen there.
        .env("PROMETHEUS_URL", "http://127.0.0.1:9")
        .env_remove("PROMETHEUS_AUTH")
        .stderr(Stdio::null());
    let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "alerts",
            "correlate",
            "label_values",
            "query",
            "query_range",
            "rules",
            "series",
            "targets"
        ]
    );
    assert!(
        tools
            .iter()
            .all(|t| t.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true))
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn without_a_url_it_says_which_is_missing() {
    let out = sopilot()
        .args(["mcp-server", "prometheus"])
        .env_remove("PROMETHEUS_URL")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--url <URL>"), "{stderr}");
}
