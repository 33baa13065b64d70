//! `sopilot mcp-server jira`: the builtin Jira server from the sopilot binary (the server
//! itself is tested against the simulated Jira in mcp-servers/jira), what `sopilot` demands
//! before starting it, and the incident SOPs' post-incident ticket: a crash-loop run on the
//! simulator opens one ticket in the simulated Jira, and a second trigger of the same
//! incident comments on it instead of opening another.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use sopilot_sim_env::{RunningSim, Scenario, SimOptions};

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

/// The crash-looping pod of the payment scenario, and the label pod-crashloop derives from
/// its trigger (`sopilot-NAMESPACE-POD`).
const POD: &str = "payment-service-7d8f9c6b5-x2k9p";
const LABEL: &str = "sopilot-payment-payment-service-7d8f9c6b5-x2k9p";

/// The simulated model's script: at the report step, search for the incident's ticket; no
/// open ticket → create one, one open → comment on it. Each run uses one search turn (the
/// simulated model keeps its turns across runs).
fn script() -> Value {
    let search =
        json!({"jira.search": {"jql": format!("labels = \"{LABEL}\" AND status != Done")}});
    json!({"turns": [
        {"when": {"contains": "Step 4: Report"}, "calls": [search.clone()]},
        {"when": {"contains": "0 issue(s) for"}, "calls": [{"jira.create_issue": {
            "project": "OPS", "issue_type": "Incident", "labels": [LABEL],
            "summary": "payment-service crash loop: OOMKilled on a node under memory pressure",
            "description": "## Timeline\n- BackOff event\n## Evidence\n- OOMKilled, 12 restarts\n## Actions\n- none executed"}}]},
        {"when": {"contains": "Step 4: Report", "absent": "0 issue(s) for"}, "calls": [search]},
        {"when": {"contains": ["1 issue(s) for", "OPS-1"]}, "calls": [{"jira.add_comment": {
            "issue_key": "OPS-1", "body": "Triggered again: still OOMKilled; no action executed"}}]},
    ]})
}

async fn sim_with_jira() -> RunningSim {
    let mut scenario =
        Scenario::from_file(repo().join("tests/scenarios/payment-incident.yaml")).unwrap();
    scenario.jira = Some(json!({}));
    scenario.model = Some(script());
    sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .unwrap()
}

/// `sopilot run pod-crashloop --trigger BackOff` on the simulator, the simulated model
/// playing; the run's JSON.
async fn crashloop_run(sim: &RunningSim, dir: &Path) -> Value {
    let trigger = dir.join("backoff.json");
    let event = json!({"apiVersion": "v1", "kind": "Event", "reason": "BackOff", "type": "Warning",
        "message": "Back-off restarting failed container", "count": 12,
        "involvedObject": {"kind": "Pod", "namespace": "payment", "name": POD}});
    std::fs::write(&trigger, event.to_string()).unwrap();
    let config = dir.join("sopilot.yaml");
    std::fs::write(&config, format!("store: {}\n", dir.join("db").display())).unwrap();
    let mut cmd = sopilot();
    cmd.envs(sim.server_env())
        .env("OPENAI_BASE_URL", sim.model_url())
        .env("OPENAI_API_KEY", "sim")
        .env("RUST_LOG", "warn")
        .env_remove("JIRA_PAT")
        .args(["run", "pod-crashloop", "--trigger"])
        .arg(&trigger)
        .args([
            "--model",
            "openai:sopilot-sim",
            "--on-escalate",
            "deny",
            "--json",
        ])
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::null());
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("sopilot run timed out")
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn jira_calls(v: &Value) -> Vec<(String, bool, String)> {
    v["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tool"].as_str().is_some_and(|t| t.starts_with("jira.")))
        .map(|c| {
            (
                c["tool"].as_str().unwrap().to_owned(),
                c["executed"] == true && c["ok"] == true,
                c["decision"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The issue as the simulated Jira's REST API answers it.
async fn read_back(sim: &RunningSim, key: &str) -> Value {
    let env: std::collections::HashMap<String, String> = sim.server_env().into_iter().collect();
    reqwest::Client::new()
        .get(format!("{}/rest/api/3/issue/{key}", env["JIRA_URL"]))
        .basic_auth(&env["JIRA_EMAIL"], Some(&env["JIRA_API_TOKEN"]))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_incident_run_keeps_one_ticket_and_a_second_trigger_comments_on_it() {
    let sim = sim_with_jira().await;
    let dir = tempfile::tempdir().unwrap();

    let first = crashloop_run(&sim, dir.path()).await;
    assert_finished(&first);
    assert!(offered(&sim).contains(&"jira__create_issue".to_owned()));
    let calls = jira_calls(&first);
    let tools: Vec<&str> = calls.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(tools, ["jira.search", "jira.create_issue"], "{first:#}");
    assert!(
        calls.iter().all(|(_, ok, d)| *ok && d == "allow"),
        "{calls:?}"
    );
    // The SOP, rendered from the trigger, told the model which label marks this incident.
    let asked = sim.model().requests();
    assert!(
        asked
            .iter()
            .any(|r| r.to_string().contains(&format!("labels = \\\"{LABEL}\\\""))),
        "the report step names the incident's label"
    );

    let second = crashloop_run(&sim, dir.path()).await;
    assert_finished(&second);
    let tools: Vec<String> = jira_calls(&second).into_iter().map(|(t, _, _)| t).collect();
    assert_eq!(tools, ["jira.search", "jira.add_comment"], "{second:#}");

    let jira = sim.jira().unwrap();
    assert_eq!(jira.issues().len(), 1, "one ticket for one incident");
    let issue = read_back(&sim, "OPS-1").await;
    assert_eq!(issue["fields"]["labels"], json!([LABEL]), "{issue:#}");
    assert_eq!(issue["fields"]["issuetype"]["name"], "Incident");
    let description = issue["fields"]["description"].to_string();
    assert!(description.contains("Timeline"), "{description}");
    let comments = issue["fields"]["comment"]["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1, "{issue:#}");
    assert!(comments[0]["body"].to_string().contains("Triggered again"));
    sim.shutdown().await;
}

#[tokio::test]
async fn without_jira_the_ticket_step_is_skipped_not_failed() {
    // The demo's world: no jira section, so no Jira tools are offered, and the report step
    // ends without them.
    let mut scenario =
        Scenario::from_file(repo().join("tests/scenarios/payment-incident.yaml")).unwrap();
    scenario.model = Some(json!({"turns": []}));
    let sim = sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let v = crashloop_run(&sim, dir.path()).await;
    assert_finished(&v);
    assert!(jira_calls(&v).is_empty(), "{v:#}");
    let offered = offered(&sim);
    assert!(
        offered.iter().any(|t| t.starts_with("kubectl__")),
        "{offered:?}"
    );
    assert!(
        !offered.iter().any(|t| t.starts_with("jira__")),
        "{offered:?}"
    );
    sim.shutdown().await;
}

/// The run ended by itself: nothing failed and nothing waits for a human (the script writes
/// no root-cause report, so `inconclusive` is as good as `succeeded` here).
fn assert_finished(v: &Value) {
    let status = v["status"].as_str().unwrap_or_default();
    assert!(["succeeded", "inconclusive"].contains(&status), "{v:#}");
}

/// The tools offered to the model in any request, by the names it calls them.
fn offered(sim: &RunningSim) -> Vec<String> {
    let requests = sim.model().requests();
    assert!(!requests.is_empty(), "the model was asked");
    let mut names: Vec<String> = requests
        .iter()
        .filter_map(|r| r["tools"].as_array())
        .flatten()
        .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The gray-failure load balancer of `scenarios/gray-failure.yaml`, and the label
/// gray-failure-az derives from it (`sopilot-alb-LOAD_BALANCER`, as alb-target-5xx's, so
/// both SOPs keep a load balancer's incident in one ticket).
const LOAD_BALANCER: &str = "app/shop/1";
const ALB_LABEL: &str = "sopilot-alb-app/shop/1";

/// gray-failure-az has the incident SOPs' ticket step: its report step searches for the load
/// balancer's open ticket and, finding none, opens one, allowed by the default policy.
#[tokio::test]
async fn the_gray_failure_report_opens_the_load_balancers_ticket() {
    let search =
        json!({"jira.search": {"jql": format!("labels = \"{ALB_LABEL}\" AND status != Done")}});
    let mut scenario = Scenario::from_file(repo().join("scenarios/gray-failure.yaml")).unwrap();
    scenario.jira = Some(json!({}));
    scenario.model = Some(json!({"turns": [
        {"when": {"contains": "Step 4: Report"}, "calls": [search]},
        {"when": {"contains": "0 issue(s) for"}, "calls": [{"jira.create_issue": {
            "project": "OPS", "issue_type": "Incident", "labels": [ALB_LABEL],
            "summary": "app/shop/1: gray failure in us-east-1b",
            "description": "## Zones\n- us-east-1b: avg 70 ms, max 412 ms, 5XX 3 %"}}]},
    ]}));
    let sim = sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sopilot.yaml");
    std::fs::write(
        &config,
        format!("store: {}\n", dir.path().join("db").display()),
    )
    .unwrap();
    let mut cmd = sopilot();
    cmd.envs(sim.server_env())
        .env("OPENAI_BASE_URL", sim.model_url())
        .env("OPENAI_API_KEY", "sim")
        .env("RUST_LOG", "warn")
        .env_remove("JIRA_PAT")
        .args(["run", "gray-failure-az", "-p"])
        .arg(format!("load_balancer={LOAD_BALANCER}"))
        .args(["--model", "openai:sopilot-sim", "--on-escalate", "deny"])
        .args(["--json", "--config"])
        .arg(&config)
        .stdin(Stdio::null());
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("sopilot run timed out")
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_finished(&v);
    let calls = jira_calls(&v);
    let tools: Vec<&str> = calls.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(tools, ["jira.search", "jira.create_issue"], "{v:#}");
    assert!(
        calls.iter().all(|(_, ok, d)| *ok && d == "allow"),
        "{calls:?}"
    );
    let asked = sim.model().requests();
    assert!(
        asked.iter().any(|r| r
            .to_string()
            .contains(&format!("labels = \\\"{ALB_LABEL}\\\""))),
        "the report step names the load balancer's label"
    );
    let issue = read_back(&sim, "OPS-1").await;
    assert_eq!(issue["fields"]["labels"], json!([ALB_LABEL]), "{issue:#}");
    sim.shutdown().await;
}
