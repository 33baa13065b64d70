//! Jira Data Center: a personal access token speaks REST v2 by default (bodies in wiki
//! markup, `POST search` paged by `startAt`), and `JIRA_API_VERSION` overrides the choice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use sopilot_test_support::Server;

use crate::common::{PAT, Sim, site};

fn data_center(url: &str) -> Server {
    Server::new(env!("CARGO_BIN_EXE_mcp-jira"))
        .args(["--projects", "OPS,PAY"])
        .env("JIRA_URL", url)
        .env("JIRA_PAT", PAT)
        .env_remove("JIRA_EMAIL")
        .env_remove("JIRA_API_TOKEN")
        .env_remove("JIRA_API_VERSION")
}

#[tokio::test]
async fn a_pat_speaks_v2_with_wiki_markup_both_ways() {
    let sim = Sim::start(site()).await;
    let c = data_center(&sim.url).stdio().await;
    let r = c.ok("get_issue", json!({"issue_key": "OPS-1"})).await;
    assert!(r.text.contains("p99 **4s** since 10:02"), "{}", r.text);
    assert!(r.text.contains("rolled back to v41"), "{}", r.text);

    let description =
        "## Timeline\n- 14:10 rollout of `v42`\n- DSN postgres://app:hunter2@db:5432/pay";
    let r = c
        .ok(
            "create_issue",
            json!({"project": "OPS", "summary": "checkout down", "issue_type": "Incident", "labels": ["sopilot-checkout"], "description": description}),
        )
        .await;
    let key = r.structured["key"].as_str().unwrap().to_owned();
    let sent = sim
        .state
        .requests()
        .into_iter()
        .find(|q| q.method == "POST" && q.path == "/rest/api/2/issue")
        .expect("created through v2");
    let text = sent.body["fields"]["description"].as_str().unwrap();
    assert!(
        text.starts_with("h2. Timeline\n* 14:10 rollout of {{v42}}"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "credentials are masked: {text}");

    c.ok(
        "add_comment",
        json!({"issue_key": key, "body": "**rolled back** to v41"}),
    )
    .await;
    let comment = sim.state.requests().pop().unwrap();
    // Addressed by the id Jira answered for the key: the issue that was checked.
    let id = sim.state.issue(&key).unwrap().id;
    assert_eq!(comment.path, format!("/rest/api/2/issue/{id}/comment"));
    assert_eq!(comment.body, json!({"body": "*rolled back* to v41"}));

    let r = c
        .ok(
            "search",
            json!({"jql": "labels = sopilot-checkout", "max_results": 1}),
        )
        .await;
    assert_eq!(r.structured["issues"][0]["key"], key.as_str());
    assert_eq!(r.structured["more"], false);
    let r = c
        .ok(
            "search",
            json!({"jql": "labels = payment-service", "max_results": 1}),
        )
        .await;
    assert_eq!(r.structured["more"], true, "v2's total says more match");
    assert!(
        sim.state
            .requests()
            .iter()
            .all(|q| q.path.starts_with("/rest/api/2/")),
        "every request spoke v2"
    );
}

#[tokio::test]
async fn transitions_go_through_v2_too() {
    let sim = Sim::start(site()).await;
    let c = data_center(&sim.url).stdio().await;
    let r = c
        .ok(
            "transition_issue",
            json!({"issue_key": "OPS-1", "transition": "Done"}),
        )
        .await;
    assert!(r.text.contains("from In Progress to Done"), "{}", r.text);
    assert_eq!(sim.state.issue("OPS-1").unwrap().status, "Done");
    let paths: Vec<String> = sim
        .state
        .requests()
        .into_iter()
        .map(|q| format!("{} {}", q.method, q.path))
        .collect();
    assert!(
        paths.contains(&format!(
            "POST /rest/api/2/issue/{}/transitions",
            sim.state.issue("OPS-1").unwrap().id
        )),
        "{paths:?}"
    );
}

#[tokio::test]
async fn jira_api_version_overrides_the_choice() {
    let sim = Sim::start(site()).await;
    let c = data_center(&sim.url)
        .env("JIRA_API_VERSION", "3")
        .stdio()
        .await;
    let r = c.ok("get_issue", json!({"issue_key": "OPS-2"})).await;
    assert!(r.text.contains("rotate certs"));
    let paths: Vec<String> = sim.state.requests().into_iter().map(|q| q.path).collect();
    assert_eq!(paths, ["/rest/api/3/issue/OPS-2"]);
}
