//! The simulated Jira: started only for a scenario with a `jira` section, its URL, login and
//! projects handed to the MCP servers, and it answers those credentials.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common;

fn env_of(sim: &sopilot_sim_env::RunningSim) -> HashMap<String, String> {
    sim.server_env().into_iter().collect()
}

/// `GET /rest/api/3/issue/KEY` with `authorization`; the status code.
async fn get_issue(url: &str, key: &str, authorization: &str) -> String {
    let addr = url.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /rest/api/3/issue/{key} HTTP/1.1\r\nHost: sim\r\nAuthorization: {authorization}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut head))
        .await
        .expect("an answer in time")
        .unwrap();
    String::from_utf8_lossy(&head[9..12]).into_owned()
}

fn basic(email: &str, token: &str) -> String {
    use base64::Engine;
    let raw = format!("{email}:{token}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

#[tokio::test]
async fn a_scenario_without_jira_has_none() {
    let sim = common::start_yaml("description: no jira\n").await;
    assert!(sim.jira().is_none() && sim.jira_url().is_none());
    let env = env_of(&sim);
    assert!(!env.contains_key("JIRA_URL") && !env.contains_key("SOPILOT_JIRA_PROJECTS"));
    assert!(sim.urls().get("jira").is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_jira_section_starts_the_site_and_hands_its_login_to_the_servers() {
    let sim = common::start_yaml(
        "jira:\n  projects: [{key: OPS}, {key: PAY}]\n  issues:\n    - {key: PAY-3, summary: old incident}\n",
    )
    .await;
    let url = sim.jira_url().unwrap();
    assert_eq!(sim.urls()["jira"], url);
    let env = env_of(&sim);
    assert_eq!(env["JIRA_URL"], url);
    assert_eq!(env["SOPILOT_JIRA_PROJECTS"], "OPS,PAY");
    assert_eq!(env["JIRA_EMAIL"], sopilot_sim_jira::DEFAULT_EMAIL);
    assert!(!env.contains_key("JIRA_PAT"), "Cloud credentials only");
    let auth = basic(&env["JIRA_EMAIL"], &env["JIRA_API_TOKEN"]);
    assert_eq!(get_issue(&url, "PAY-3", &auth).await, "200");
    assert_eq!(
        get_issue(&url, "PAY-3", "Basic d3Jvbmc6d3Jvbmc=").await,
        "401"
    );
    assert_eq!(sim.jira().unwrap().requests().len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_empty_jira_section_is_the_default_site_and_a_pat_only_user_logs_in_with_it() {
    let sim = common::start_yaml("jira:\n").await;
    assert_eq!(env_of(&sim)["SOPILOT_JIRA_PROJECTS"], "OPS");
    sim.shutdown().await;
    let sim =
        common::start_yaml("jira:\n  users: [{email: dc@example.com, pat: dc-pat-1}]\n").await;
    let env = env_of(&sim);
    assert_eq!(env["JIRA_PAT"], "dc-pat-1");
    assert!(!env.contains_key("JIRA_API_TOKEN"));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_bad_jira_section_is_named() {
    let scenario =
        sopilot_sim_env::Scenario::from_yaml("jira:\n  projects: [{key: ops}]\n").unwrap();
    let error = sopilot_sim_env::start(scenario, sopilot_sim_env::SimOptions::default())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.starts_with("scenario section `jira`: jira.projects[0].key"),
        "{error}"
    );
}
