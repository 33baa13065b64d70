//! Each tool against the simulated Jira: what it sends, what it returns, dry runs, Jira's
//! errors as sentences, and Data Center credentials.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use sopilot_sim_jira::adf;
use sopilot_test_support::Server;

use crate::common::{Harness, PAT, Sim, TOKEN, server, site};

#[tokio::test]
async fn get_issue_reads_description_and_comments_as_text() {
    let h = Harness::start().await;
    let r = h.ok("get_issue", json!({"issue_key": "ops-1"})).await;
    assert!(
        r.text
            .starts_with("OPS-1 [Incident] payment-service 5xx\nstatus: In Progress"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("p99 **4s** since 10:02") && r.text.contains("rolled back to v41"),
        "{}",
        r.text
    );
    assert_eq!(r.structured["labels"], json!(["sev1", "payment-service"]));
    assert!(
        r.structured["url"]
            .as_str()
            .unwrap()
            .ends_with("/browse/OPS-1")
    );
    let missing = h.fails("get_issue", json!({"issue_key": "OPS-99"})).await;
    assert!(
        missing.contains("HTTP 404") && missing.contains("check the key with search"),
        "{missing}"
    );
    h.assert_no_leak();
}

#[tokio::test]
async fn search_is_wrapped_in_the_allowed_projects() {
    let h = Harness::start().await;
    let r = h
        .ok("search", json!({"jql": "labels = payment-service"}))
        .await;
    let keys: Vec<&str> = r.structured["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    // SEC-1 has the label too, and is the newest: the wrapping keeps it out.
    assert_eq!(keys, ["PAY-1", "OPS-1"]);
    let sent = h.sim.state.requests().last().unwrap().body.clone();
    assert_eq!(
        sent["jql"],
        r#"project in ("OPS", "PAY") AND (labels = payment-service) ORDER BY created DESC"#
    );
    assert_eq!(
        sent["fields"].as_array().unwrap().len(),
        6,
        "fields are asked for: the enhanced search returns ids only otherwise"
    );
    // A key of another project matches nothing rather than leaking it.
    let r = h.ok("search", json!({"jql": "key = SEC-1"})).await;
    assert_eq!(r.structured["issues"], json!([]));
    // Paging is said, not silent.
    let r = h.ok("search", json!({"jql": "", "max_results": 1})).await;
    assert!(r.text.contains("more issues match"), "{}", r.text);
    // The simulator's (and Jira's) 400 for bad JQL comes back as a sentence.
    let e = h.fails("search", json!({"jql": "summary = boom"})).await;
    assert!(
        e.contains("HTTP 400") && e.contains("Field 'summary' does not exist"),
        "{e}"
    );
}

#[tokio::test]
async fn a_jql_carrying_a_credential_is_not_sent() {
    let h = Harness::start().await;
    for jql in [
        r#"text ~ "password=hunter2""#,
        r#"labels = x OR summary ~ "postgres://app:hunter2@db/pay""#,
    ] {
        let e = h.fails("search", json!({ "jql": jql })).await;
        assert!(
            e.contains("looks like a credential") && !e.contains("hunter2"),
            "{jql}: {e}"
        );
    }
    assert!(h.sim.calls().is_empty(), "{:?}", h.sim.calls());
    h.assert_no_leak();
}

#[tokio::test]
async fn create_issue_sends_adf_with_credentials_masked() {
    let h = Harness::start().await;
    let description =
        "# Impact\nCheckout down.\n\n- DSN postgres://app:hunter2@db:5432/pay\n- rolled back `v42`";
    let args = json!({"project": "ops", "summary": "checkout down", "issue_type": "Incident", "labels": ["sopilot", "sev1"], "description": description});
    let mut dry = args.clone();
    dry["dry_run"] = json!(true);
    let r = h.ok("create_issue", dry).await;
    assert_eq!(r.structured["executed"], false);
    assert_eq!(
        r.structured["impact"]["target"],
        json!({"kind": "JiraProject", "name": "OPS"})
    );
    assert_eq!(r.structured["impact"]["action"], "create_issue");
    assert!(h.sim.calls().is_empty(), "a dry run sends nothing");
    let r = h.ok("create_issue", args).await;
    assert_eq!(r.structured["key"], "OPS-3");
    let issue = h.sim.state.issue("OPS-3").unwrap();
    assert_eq!(
        (issue.issue_type.as_str(), issue.labels.clone()),
        ("Incident", vec!["sopilot".to_owned(), "sev1".to_owned()])
    );
    let d = issue.description.unwrap();
    assert!(adf::is_document(&d));
    assert_eq!(d["content"][0]["type"], "heading");
    let text = adf::to_text(&d);
    assert!(
        !text.contains("hunter2") && text.contains("[REDACTED]"),
        "{text}"
    );
    let e = h
        .fails(
            "create_issue",
            json!({"project": "OPS", "summary": "x", "issue_type": "Epic"}),
        )
        .await;
    assert!(
        e.contains("HTTP 400") && e.contains("issuetype: Specify a valid issue type"),
        "{e}"
    );
    let e = h
        .fails(
            "create_issue",
            json!({"project": "OPS", "summary": "x", "labels": ["two words"]}),
        )
        .await;
    assert!(e.contains("label \"two words\""), "{e}");
    // A label or type is an identifier: one carrying a credential is refused, not masked
    // into a nonsense label, and the credential is not echoed.
    for args in [
        json!({"project": "OPS", "summary": "x", "labels": ["sev1", "postgres://app:hunter2@db/pay"]}),
        json!({"project": "OPS", "summary": "x", "issue_type": "password=hunter2"}),
    ] {
        let e = h.fails("create_issue", args.clone()).await;
        assert!(
            e.contains("looks like a credential") && !e.contains("hunter2"),
            "{args}: {e}"
        );
    }
    let masked = |i: &sopilot_sim_jira::Issue| i.labels.iter().any(|l| l.contains("REDACTED"));
    assert!(
        !h.sim.state.issues().iter().any(masked),
        "no issue got a masked label"
    );
    h.assert_no_leak();
}

#[tokio::test]
async fn add_comment_and_dry_run() {
    let h = Harness::start().await;
    let r = h
        .ok(
            "add_comment",
            json!({"issue_key": "OPS-1", "body": "x", "dry_run": true}),
        )
        .await;
    assert_eq!(
        r.structured["impact"]["target"],
        json!({"kind": "JiraIssue", "name": "OPS-1"})
    );
    assert!(
        h.sim.calls().iter().all(|c| c.starts_with("GET ")),
        "a dry run only reads"
    );
    h.ok(
        "add_comment",
        json!({"issue_key": "OPS-1", "body": "error rate back to **0.1%**"}),
    )
    .await;
    let c = h.sim.state.issue("OPS-1").unwrap().comments;
    assert_eq!(c.len(), 2);
    assert_eq!(
        c[1].body["content"][0]["content"][1]["marks"][0]["type"],
        "strong"
    );
    assert!(
        h.fails("add_comment", json!({"issue_key": "OPS-1", "body": "  "}))
            .await
            .contains("empty")
    );
}

#[tokio::test]
async fn transition_by_name_with_dry_run_and_a_list_when_wrong() {
    let h = Harness::start().await;
    let r = h
        .ok(
            "transition_issue",
            json!({"issue_key": "OPS-1", "transition": "done", "dry_run": true}),
        )
        .await;
    assert_eq!(r.structured["impact"]["from"], "In Progress");
    assert_eq!(r.structured["impact"]["to"], "Done");
    assert!(
        h.sim.calls().iter().all(|c| c.starts_with("GET ")),
        "a dry run only reads"
    );
    assert_eq!(h.sim.state.issue("OPS-1").unwrap().status, "In Progress");
    let e = h
        .fails(
            "transition_issue",
            json!({"issue_key": "OPS-1", "transition": "Resolve"}),
        )
        .await;
    assert!(
        e.contains("no transition \"Resolve\"")
            && e.contains("\"To Do\" (to To Do)")
            && e.contains("\"Done\" (to Done)"),
        "{e}"
    );
    let r = h
        .ok(
            "transition_issue",
            json!({"issue_key": "OPS-1", "transition": "Done"}),
        )
        .await;
    assert!(r.text.contains("from In Progress to Done"), "{}", r.text);
    assert_eq!(h.sim.state.issue("OPS-1").unwrap().status, "Done");
    let posted = h
        .sim
        .state
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect::<Vec<_>>();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].body, json!({"transition": {"id": "31"}}));
}

#[tokio::test]
async fn data_center_pat_and_bad_credentials() {
    let sim = Sim::start(site()).await;
    let dc = Server::new(env!("CARGO_BIN_EXE_mcp-jira"))
        .args(["--projects", "OPS"])
        .env("JIRA_URL", &sim.url)
        .env("JIRA_PAT", PAT)
        .env_remove("JIRA_EMAIL")
        .env_remove("JIRA_API_TOKEN")
        .stdio()
        .await;
    let r = dc.ok("get_issue", json!({"issue_key": "OPS-2"})).await;
    assert!(r.text.contains("rotate certs"));
    assert_eq!(sim.state.requests()[0].account.as_deref(), Some("acct-bot"));
    let wrong = server(&sim.url)
        .env("JIRA_API_TOKEN", "not-the-token")
        .stdio()
        .await;
    let e = wrong
        .fails("get_issue", json!({"issue_key": "OPS-2"}))
        .await;
    assert!(
        e.contains("HTTP 401") && e.contains("JIRA_API_TOKEN"),
        "{e}"
    );
    assert!(!e.contains(TOKEN));
}

#[tokio::test]
async fn an_unreachable_site_is_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let c = server(&url).stdio().await;
    let e = c.fails("get_issue", json!({"issue_key": "OPS-2"})).await;
    assert!(
        e.contains("cannot reach Jira") && e.contains("JIRA_URL"),
        "{e}"
    );
}
