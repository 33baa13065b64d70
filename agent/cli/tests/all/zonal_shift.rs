//! The gray-failure SOP proposes an ARC zonal shift in `sopilot rehearse` (issue 14), on
//! `scenarios/gray-failure.yaml` with its scripted model: the shift of the shop ALB away from
//! us-east-1b is escalated by the default policy's `zonal-shift` rule with its impact (the
//! model only goes on once the impact's capacity, 5 of 8 healthy targets left, is in the
//! conversation); approved, it runs against the simulated ARC and `arc.list_zonal_shifts`
//! shows it active; denied (the rehearsal's default), nothing is shifted. And
//! `sopilot mcp-server arc` serves the builtin server's tools.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `sopilot rehearse gray-failure-az` on the gray-failure scenario, with `extra` flags.
fn rehearse(extra: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sopilot"))
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .args([
            "rehearse",
            "gray-failure-az",
            "--scenario",
            "scenarios/gray-failure.yaml",
        ])
        .args(["-p", "load_balancer=app/shop/1", "--json"])
        .args(extra)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn calls<'a>(v: &'a Value, tool: &str) -> Vec<&'a Value> {
    v["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tool"] == tool)
        .collect()
}

fn the_shift(v: &Value) -> &Value {
    let shift = calls(v, "arc.start_zonal_shift");
    assert_eq!(shift.len(), 1, "{v:#}");
    assert_eq!(shift[0]["decision"], "escalate", "{v:#}");
    assert_eq!(shift[0]["rules"], json!(["zonal-shift"]), "{v:#}");
    assert_eq!(shift[0]["args"]["away_from"], "us-east-1b");
    for tool in ["kubectl.cordon", "kubectl.drain"] {
        assert!(
            calls(v, tool).is_empty(),
            "ARC manages the ALB: no {tool}: {v:#}"
        );
    }
    let listed = calls(v, "arc.list_zonal_shifts");
    assert_eq!(listed.len(), 1, "{v:#}");
    assert_eq!(listed[0]["decision"], "allow");
    assert_eq!(listed[0]["ok"], true);
    shift[0]
}

#[test]
fn an_approved_zonal_shift_runs_on_arc_with_its_impact_and_is_listed_active() {
    let v = rehearse(&["--approve", "arc.start_zonal_shift"]);
    let shift = the_shift(&v);
    assert_eq!(shift["approval"]["state"], "approved", "{v:#}");
    assert_eq!(shift["executed"], true, "{v:#}");
    assert_eq!(shift["ok"], true, "{v:#}");
    // The script reports the shift active only when the call's answer carried the impact's
    // capacity and arc.list_zonal_shifts answered ACTIVE.
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.contains("it is active for 2h")
            && summary.contains("5 of 8 healthy targets (62.5 %)"),
        "{v:#}"
    );
}

#[test]
fn a_denied_zonal_shift_shifts_nothing() {
    let v = rehearse(&[]);
    let shift = the_shift(&v);
    assert_eq!(shift["approval"]["state"], "denied", "{v:#}");
    assert_eq!(shift["executed"], false, "{v:#}");
    // The script says nothing was shifted only when arc.list_zonal_shifts found none active.
    let summary = v["summary"].as_str().unwrap();
    assert!(summary.contains("Nothing was shifted"), "{v:#}");
    assert!(!summary.contains("is active"), "{v:#}");
}

#[tokio::test]
async fn the_builtin_arc_server_lists_its_tools_readers_marked_read_only() {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
    cmd.args(["mcp-server", "arc"])
        // Listing tools calls no AWS API: nothing needs to listen there.
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .stderr(std::process::Stdio::null());
    let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    let mut read_only: Vec<(String, bool)> = tools
        .iter()
        .map(|t| {
            let ro = t.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true);
            (t.name.to_string(), ro)
        })
        .collect();
    read_only.sort();
    let expected = [
        ("cancel_zonal_shift", false),
        ("get_managed_resource", true),
        ("list_managed_resources", true),
        ("list_zonal_shifts", true),
        ("start_zonal_shift", false),
    ]
    .map(|(n, ro)| (n.to_owned(), ro));
    assert_eq!(read_only, expected);
    client.cancel().await.unwrap();
}
