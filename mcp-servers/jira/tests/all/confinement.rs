//! The project allow-list: every tool refuses another project before any request, naming the
//! allowed projects, and a search's JQL cannot break out of its wrapping.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use crate::common::Harness;

#[tokio::test]
async fn other_projects_are_refused_before_any_request() {
    let h = Harness::start().await;
    let cases = [
        ("get_issue", json!({"issue_key": "SEC-1"})),
        ("add_comment", json!({"issue_key": "sec-1", "body": "hi"})),
        (
            "transition_issue",
            json!({"issue_key": "SEC-1", "transition": "Done"}),
        ),
        ("create_issue", json!({"project": "SEC", "summary": "x"})),
        ("search", json!({"jql": "project = SEC"})),
        (
            "search",
            json!({"jql": "status = Done AND project in (OPS, 'SEC')"}),
        ),
    ];
    for (tool, args) in cases {
        let e = h.fails(tool, args.clone()).await;
        assert!(
            e.contains("outside this server's projects (OPS, PAY)"),
            "{tool} {args}: {e}"
        );
    }
    assert!(
        h.sim.calls().is_empty(),
        "nothing reached Jira: {:?}",
        h.sim.calls()
    );
    assert_eq!(h.sim.state.issue("SEC-1").unwrap().comments.len(), 0);
}

#[tokio::test]
async fn jql_cannot_close_the_wrapping() {
    let h = Harness::start().await;
    for escape in [
        "labels = x) OR (project = SEC",
        ") OR key = SEC-1 OR (",
        "labels = \"x) OR key = SEC-1",
        "(labels = x",
    ] {
        let e = h.fails("search", json!({"jql": escape})).await;
        assert!(e.contains("nothing was sent to Jira"), "{escape}: {e}");
    }
    assert!(h.sim.calls().is_empty());
}

#[tokio::test]
async fn malformed_keys_are_refused() {
    let h = Harness::start().await;
    for key in ["OPS", "OPS-", "OPS-1/comment", "../SEC-1", "OPS-1?x=1"] {
        let e = h.fails("get_issue", json!({"issue_key": key})).await;
        assert!(
            e.contains("is not an issue key") || e.contains("outside"),
            "{key}: {e}"
        );
    }
    assert!(h.sim.calls().is_empty());
}

#[tokio::test]
async fn the_old_key_of_an_issue_moved_out_is_refused() {
    let mut section = crate::common::site();
    section["issues"].as_array_mut().unwrap().push(
        json!({"key": "SEC-2", "summary": "audit finding", "created": "-5m", "moved_from": ["OPS-5"]}),
    );
    let h = Harness::on(section).await;
    // OPS-5 was moved to SEC (now SEC-2): its prefix is allowed, the issue is not.
    let cases = [
        ("get_issue", json!({"issue_key": "OPS-5"})),
        ("add_comment", json!({"issue_key": "OPS-5", "body": "hi"})),
        (
            "add_comment",
            json!({"issue_key": "ops-5", "body": "hi", "dry_run": true}),
        ),
        (
            "transition_issue",
            json!({"issue_key": "OPS-5", "transition": "Done", "dry_run": true}),
        ),
        (
            "transition_issue",
            json!({"issue_key": "OPS-5", "transition": "Done"}),
        ),
    ];
    for (tool, args) in cases {
        let e = h.fails(tool, args.clone()).await;
        assert!(
            e.contains("issue OPS-5 (now SEC-2 in project SEC: it was moved) is outside"),
            "{tool} {args}: {e}"
        );
    }
    assert!(
        h.sim.calls().iter().all(|c| c.starts_with("GET ")),
        "only the lookups reached Jira: {:?}",
        h.sim.calls()
    );
    let moved = h.sim.state.issue("SEC-2").unwrap();
    assert_eq!((moved.comments.len(), moved.status.as_str()), (0, "To Do"));
}

#[tokio::test]
async fn writes_address_the_issue_that_was_checked() {
    let h = Harness::start().await;
    let r = h
        .ok(
            "add_comment",
            json!({"issue_key": "ops-1", "body": "x", "dry_run": true}),
        )
        .await;
    let id = h.sim.state.issue("OPS-1").unwrap().id;
    assert_eq!(r.structured["impact"]["issue_id"], id.as_str());
    assert_eq!(r.structured["impact"]["project"], "OPS");
    h.ok("add_comment", json!({"issue_key": "OPS-1", "body": "x"}))
        .await;
    assert!(
        h.sim
            .calls()
            .contains(&format!("POST /rest/api/3/issue/{id}/comment")),
        "{:?}",
        h.sim.calls()
    );
}
