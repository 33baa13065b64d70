//! The REST v3 resources: shapes, validation, permissions and Jira's error bodies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use serde_json::json;

#[test]
fn credentials_basic_and_bearer_and_nothing_else() {
    let s = state();
    assert_eq!(get(&s, "/rest/api/3/issue/OPS-1").status, 200);
    let pat = send(&s, "Bearer pat-bot", "GET", "/rest/api/3/issue/OPS-1", None);
    assert_eq!(pat.status, 200);
    for bad in [
        basic("bot@example.com", "wrong"),
        basic("ro@example.com", "tok-bot"),
        "Bearer tok-bot".to_owned(),
        "Bearer wrong".to_owned(),
        "tok-bot".to_owned(),
        String::new(),
    ] {
        let r = send(&s, &bad, "GET", "/rest/api/3/issue/OPS-1", None);
        assert_eq!(r.status, 401, "{bad}");
        assert!(error_text(&r).contains("authenticated"));
    }
    // 401 comes before 404: an unauthenticated caller learns nothing about issues.
    let r = send(&s, "Bearer wrong", "GET", "/rest/api/3/issue/NOPE-9", None);
    assert_eq!(r.status, 401);
    let recorded = s.requests();
    assert_eq!(recorded[0].account.as_deref(), Some("acct-bot"));
    assert_eq!(recorded.last().unwrap().account, None);
}

#[test]
fn get_issue_has_the_issue_bean_shape() {
    let s = state();
    let r = get(&s, "/rest/api/3/issue/OPS-1");
    let b = r.body.unwrap();
    assert_eq!(b["key"], "OPS-1");
    assert!(
        b["id"].is_string()
            && b["self"]
                .as_str()
                .unwrap()
                .starts_with("http://jira.test/rest/api/3/issue/")
    );
    let f = &b["fields"];
    assert_eq!(f["summary"], "payments 5xx");
    assert_eq!(f["status"]["name"], "In Progress");
    assert_eq!(f["status"]["statusCategory"]["key"], "indeterminate");
    assert_eq!(f["issuetype"]["name"], "Incident");
    assert_eq!(f["project"]["key"], "OPS");
    assert_eq!(f["labels"], json!(["sev1", "payments"]));
    assert_eq!(f["description"]["type"], "doc");
    assert_eq!(f["comment"]["total"], 1);
    assert_eq!(
        f["comment"]["comments"][0]["author"]["displayName"],
        "Ops only"
    );
    // Jira's timestamp format: milliseconds and a +0000 offset.
    let created = f["created"].as_str().unwrap();
    assert!(
        created.ends_with("+0000") && created.contains('.'),
        "{created}"
    );
    // ?fields= narrows the fields (comma percent-encoded as clients send it).
    let narrow = get(&s, "/rest/api/3/issue/OPS-1?fields=summary%2Cstatus")
        .body
        .unwrap();
    let names: Vec<&String> = narrow["fields"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["summary", "status"]);
}

#[test]
fn unknown_and_hidden_issues_are_the_same_404() {
    let s = state();
    let missing = get(&s, "/rest/api/3/issue/OPS-99");
    let ops_only = basic("ops@example.com", "tok-ops");
    let hidden = send(&s, &ops_only, "GET", "/rest/api/3/issue/SEC-1", None);
    assert_eq!((missing.status, hidden.status), (404, 404));
    assert_eq!(missing.body, hidden.body);
    assert!(error_text(&missing).contains("does not exist or you do not have permission"));
}

#[test]
fn create_issue_returns_201_with_id_key_self() {
    let s = state();
    let r = post(
        &s,
        "/rest/api/3/issue",
        json!({"fields": {
        "project": {"key": "OPS"}, "issuetype": {"name": "Incident"}, "summary": "db failover",
        "description": doc("primary lost"), "labels": ["sev2"]}}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let b = r.body.unwrap();
    assert_eq!(b["key"], "OPS-4");
    assert!(
        b["self"]
            .as_str()
            .unwrap()
            .ends_with(b["id"].as_str().unwrap())
    );
    let issue = s.issue("OPS-4").unwrap();
    assert_eq!(issue.status, "To Do");
    assert_eq!(issue.labels, ["sev2"]);
    assert_eq!(issue.reporter.as_deref(), Some("acct-bot"));
    assert_eq!(
        sopilot_sim_jira::adf::to_text(issue.description.as_ref().unwrap()),
        "primary lost"
    );
}

#[test]
fn create_issue_validation_errors_name_the_field() {
    let s = state();
    let base = json!({"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "x"});
    let cases = [
        ("project", json!({"key": "NOPE"}), "Specify a valid project"),
        ("issuetype", json!({"name": "Epic"}), "valid issue type"),
        ("summary", json!(""), "You must specify a summary"),
        (
            "description",
            json!("plain text is v2, not v3"),
            "Atlassian Document",
        ),
        ("labels", json!(["two words"]), "contains spaces"),
    ];
    for (field, value, said) in cases {
        let mut fields = base.clone();
        fields[field] = value;
        let r = post(&s, "/rest/api/3/issue", json!({"fields": fields}));
        assert_eq!(r.status, 400, "{field}");
        let b = r.body.unwrap();
        assert!(
            b["errors"][field].as_str().unwrap().contains(said),
            "{field}: {b}"
        );
    }
    let r = post(&s, "/rest/api/3/issue", json!({"summary": "no fields"}));
    assert_eq!(r.status, 400);
    let r = send(&s, &bot(), "POST", "/rest/api/3/issue", None);
    assert_eq!(r.status, 400);
    assert!(error_text(&r).contains("request body"));
    // Nothing was created by any of these.
    assert_eq!(s.issues().len(), 4);
}

#[test]
fn read_only_users_get_403_and_change_nothing() {
    let s = state();
    let ro = basic("ro@example.com", "tok-ro");
    assert_eq!(
        send(&s, &ro, "GET", "/rest/api/3/issue/OPS-1", None).status,
        200
    );
    let writes = [
        (
            "/rest/api/3/issue",
            json!({"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "x"}}),
        ),
        (
            "/rest/api/3/issue/OPS-1/comment",
            json!({"body": doc("hi")}),
        ),
        (
            "/rest/api/3/issue/OPS-2/transitions",
            json!({"transition": {"id": "21"}}),
        ),
    ];
    let before = s.issues();
    for (path, body) in writes {
        let r = send(&s, &ro, "POST", path, Some(body));
        assert_eq!(r.status, 403, "{path}");
        assert!(error_text(&r).contains("permission"));
    }
    assert_eq!(s.issues(), before);
}

#[test]
fn comments_are_adf_and_returned_as_jira_does() {
    let s = state();
    let r = post(
        &s,
        "/rest/api/3/issue/OPS-1/comment",
        json!({"body": doc("rolled back")}),
    );
    assert_eq!(r.status, 201);
    let b = r.body.unwrap();
    assert_eq!(b["author"]["accountId"], "acct-bot");
    assert_eq!(b["body"], doc("rolled back"));
    assert_eq!(s.issue("OPS-1").unwrap().comments.len(), 2);
    let r = post(
        &s,
        "/rest/api/3/issue/OPS-1/comment",
        json!({"body": "plain"}),
    );
    assert_eq!(r.status, 400);
    assert!(error_text(&r).contains("Atlassian Document"));
    let r = post(
        &s,
        "/rest/api/3/issue/OPS-99/comment",
        json!({"body": doc("x")}),
    );
    assert_eq!(r.status, 404);
}

#[test]
fn transitions_follow_the_workflow() {
    let s = state();
    let r = get(&s, "/rest/api/3/issue/SEC-1/transitions").body.unwrap();
    let names: Vec<&str> = r["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Triage"], "only the transitions from Open");
    assert_eq!(r["transitions"][0]["to"]["name"], "Triage");
    // Close (9) is not available from Open.
    let r = post(
        &s,
        "/rest/api/3/issue/SEC-1/transitions",
        json!({"transition": {"id": "9"}}),
    );
    assert_eq!(r.status, 400);
    assert!(error_text(&r).contains("Transition id '9' is not valid"));
    let r = post(
        &s,
        "/rest/api/3/issue/SEC-1/transitions",
        json!({"transition": {"id": "5"}}),
    );
    assert_eq!((r.status, r.body), (204, None));
    assert_eq!(s.issue("SEC-1").unwrap().status, "Triage");
    let r = post(&s, "/rest/api/3/issue/SEC-1/transitions", json!({}));
    assert!(error_text(&r).contains("Missing 'transition'"));
    // The default workflow: global transitions to every other status.
    let r = get(&s, "/rest/api/3/issue/OPS-2/transitions").body.unwrap();
    let names: Vec<&str> = r["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["In Progress", "Done"]);
}

#[test]
fn search_filters_orders_and_pages() {
    let s = state();
    let r = search(
        &s,
        &bot(),
        "project = OPS AND labels = payments ORDER BY created DESC",
    );
    assert_eq!(keys(&r), ["OPS-3", "OPS-1"]);
    let r = search(&s, &bot(), r#"project = OPS AND status = "In Progress""#);
    assert_eq!(keys(&r), ["OPS-1"]);
    assert_eq!(
        r.body.unwrap()["issues"][0]["fields"]["status"]["name"],
        "In Progress"
    );
    let r = search(
        &s,
        &bot(),
        "project in (OPS, SEC) AND status != Done ORDER BY created ASC",
    );
    assert_eq!(keys(&r), ["OPS-2", "SEC-1", "OPS-1"]);
    // Paging by nextPageToken.
    let page = |token: Option<&str>| {
        let mut body = json!({"jql": "project = OPS ORDER BY created DESC", "maxResults": 2, "fields": ["summary"]});
        if let Some(t) = token {
            body["nextPageToken"] = json!(t);
        }
        post(&s, "/rest/api/3/search/jql", body)
    };
    let first = page(None);
    let b = first.body.clone().unwrap();
    assert_eq!(
        (keys(&first), b["isLast"].clone()),
        (vec!["OPS-3".to_owned(), "OPS-1".to_owned()], json!(false))
    );
    let second = page(b["nextPageToken"].as_str());
    assert_eq!(keys(&second), ["OPS-2"]);
    assert_eq!(second.body.unwrap()["isLast"], true);
    assert_eq!(page(Some("forged")).status, 400);
    // Without fields, the enhanced search returns ids only.
    let r = post(&s, "/rest/api/3/search/jql", json!({"jql": "key = OPS-1"}))
        .body
        .unwrap();
    assert_eq!(
        r["issues"][0]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["id"]
    );
}

#[test]
fn search_respects_what_the_user_may_see() {
    let s = state();
    let ops_only = basic("ops@example.com", "tok-ops");
    let r = search(&s, &ops_only, "status != Nothing");
    assert!(keys(&r).iter().all(|k| k.starts_with("OPS-")));
    let r = search(&s, &ops_only, "project = SEC");
    assert_eq!(r.status, 400);
    assert!(error_text(&r).contains("The value 'SEC' does not exist for the field 'project'"));
}

#[test]
fn jql_outside_the_subset_is_jiras_400() {
    let s = state();
    for jql in [
        "",
        "ORDER BY created DESC",
        "project = OPS OR project = SEC",
        "text ~ boom",
        "project = OPS AND (status = Done",
    ] {
        let r = search(&s, &bot(), jql);
        assert_eq!(r.status, 400, "{jql}");
        let said = error_text(&r);
        assert!(
            said.contains("JQL") || said.contains("Field 'text'"),
            "{jql}: {said}"
        );
    }
}

#[test]
fn unknown_paths_and_methods() {
    let s = state();
    assert_eq!(get(&s, "/rest/api/latest/issue/OPS-1").status, 404);
    assert_eq!(get(&s, "/rest/api/3/myself").status, 404);
    assert_eq!(
        send(&s, &bot(), "DELETE", "/rest/api/3/issue/OPS-1", None).status,
        405
    );
    assert_eq!(
        send(&s, &default_user(), "GET", "/rest/api/3/issue/OPS-1", None).status,
        401
    );
}

#[test]
fn a_moved_issue_keeps_its_old_key_resolving() {
    let s = state_of(
        r#"
users: [{account_id: acct-bot, name: SOPilot, email: bot@example.com, api_token: tok-bot}]
projects: [{key: OPS, name: Operations}, {key: SEC, name: Security}]
issues:
  - {key: SEC-7, summary: moved from ops, moved_from: [OPS-5]}
"#,
    );
    let r = get(&s, "/rest/api/3/issue/ops-5?fields=project");
    assert_eq!(r.status, 200);
    let b = r.body.unwrap();
    assert_eq!(b["key"], "SEC-7");
    assert_eq!(b["fields"]["project"]["key"], "SEC");
    // A comment through the old key lands on the moved issue, as in Jira.
    let c = send(
        &s,
        &bot(),
        "POST",
        "/rest/api/3/issue/OPS-5/comment",
        Some(json!({"body": {"type": "doc", "version": 1, "content": []}})),
    );
    assert_eq!(c.status, 201);
    assert_eq!(s.issue("SEC-7").unwrap().comments.len(), 1);
    // The old number is not handed out again.
    let created = send(
        &s,
        &bot(),
        "POST",
        "/rest/api/3/issue",
        Some(
            json!({"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "new"}}),
        ),
    );
    assert_eq!(created.body.unwrap()["key"], "OPS-6");
}
