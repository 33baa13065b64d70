//! Seeding from a scenario's `jira` section: defaults, and errors that name the field.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use sopilot_sim_jira::JiraState;

#[test]
fn defaults_serve_one_user_and_the_ops_project() {
    let s = JiraState::from_section(None).unwrap();
    let create = serde_json::json!({"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Incident"}, "summary": "x"}});
    let r = send(
        &s,
        &default_user(),
        "POST",
        "/rest/api/3/issue",
        Some(create),
    );
    assert_eq!(r.status, 201);
    let pat = format!("Bearer {}", sopilot_sim_jira::DEFAULT_PAT);
    assert_eq!(
        send(&s, &pat, "GET", "/rest/api/3/issue/OPS-1", None).status,
        200
    );
}

#[test]
fn errors_name_the_field() {
    let cases = [
        ("colour: blue", "jira: unknown field `colour`"),
        (
            "users: [{email: a@b.c}]",
            "jira.users[0]: give the user an api_token",
        ),
        ("projects: [{key: ops}]", "jira.projects[0].key"),
        ("issues: [{key: NOPE-1, summary: x}]", "jira.issues[0].key"),
        (
            "issues: [{key: OPS-1, summary: x, status: Closed}]",
            "jira.issues[0].status",
        ),
        (
            "issues: [{key: OPS-1, summary: x, type: Epic}]",
            "jira.issues[0].type",
        ),
        (
            "issues: [{key: OPS-1, summary: x, created: yesterday}]",
            "jira.issues[0].created",
        ),
        (
            "projects: [{key: A, workflow: {statuses: [{name: Open, category: new}], transitions: [{id: '1', name: x, to: Gone}]}}]",
            "jira.projects[0].workflow.transitions[0]",
        ),
    ];
    for (yaml, want) in cases {
        let e = seed_error(yaml);
        assert!(e.starts_with(want), "{yaml}: {e}");
    }
}
