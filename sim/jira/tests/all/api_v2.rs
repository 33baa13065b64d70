//! Data Center's REST v2 under `/rest/api/2/`: personal access tokens, bodies as strings
//! (wiki markup) both ways, `POST search` paged by `startAt` with a `total`, and the same
//! issues as v3 sees them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use crate::common::{doc, error_text, keys, send, state};

const PAT: &str = "Bearer pat-bot";

#[test]
fn a_pat_reads_an_issue_with_its_description_and_comments_as_text() {
    let s = state();
    let r = send(&s, PAT, "GET", "/rest/api/2/issue/OPS-1", None);
    assert_eq!(r.status, 200, "{:?}", r.body);
    let b = r.body.unwrap();
    assert_eq!(b["fields"]["description"], "p99 4s");
    let comment = &b["fields"]["comment"]["comments"][0];
    assert_eq!(comment["body"], "paged");
    assert_eq!(comment["author"]["name"], "ops@example.com");
    assert!(
        b["self"]
            .as_str()
            .unwrap()
            .starts_with("http://jira.test/rest/api/2/issue/"),
        "{b}"
    );
    let wrong = send(&s, "Bearer nope", "GET", "/rest/api/2/issue/OPS-1", None);
    assert_eq!(wrong.status, 401);
}

#[test]
fn create_and_comment_take_strings_and_refuse_adf() {
    let s = state();
    let fields = json!({"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Incident"},
        "summary": "payment-service 5xx", "description": "h2. Timeline\n* 14:10 rollout", "labels": ["sopilot-payment"]}});
    let r = send(&s, PAT, "POST", "/rest/api/2/issue", Some(fields));
    assert_eq!(r.status, 201, "{:?}", r.body);
    let key = r.body.unwrap()["key"].as_str().unwrap().to_owned();
    let c = send(
        &s,
        PAT,
        "POST",
        &format!("/rest/api/2/issue/{key}/comment"),
        Some(json!({"body": "rolled back to revision 14"})),
    );
    assert_eq!(c.status, 201, "{:?}", c.body);
    assert_eq!(c.body.unwrap()["body"], "rolled back to revision 14");
    // v3 reads the same issue as ADF.
    let v3 = send(&s, PAT, "GET", &format!("/rest/api/3/issue/{key}"), None);
    let v3 = v3.body.unwrap();
    assert_eq!(v3["fields"]["description"]["type"], "doc");
    assert_eq!(s.issue(&key).unwrap().comments.len(), 1);

    let adf = send(
        &s,
        PAT,
        "POST",
        &format!("/rest/api/2/issue/{key}/comment"),
        Some(json!({"body": doc("an ADF body")})),
    );
    assert_eq!(adf.status, 400);
    assert!(error_text(&adf).contains("must be a string"), "{adf:?}");
    // And v3 refuses a string.
    let text = send(
        &s,
        PAT,
        "POST",
        &format!("/rest/api/3/issue/{key}/comment"),
        Some(json!({"body": "plain"})),
    );
    assert_eq!(text.status, 400);
}

#[test]
fn search_pages_by_start_at_with_a_total() {
    let s = state();
    let search = |start: u64| {
        send(
            &s,
            PAT,
            "POST",
            "/rest/api/2/search",
            Some(
                json!({"jql": "project = OPS ORDER BY key ASC", "startAt": start, "maxResults": 2}),
            ),
        )
    };
    let first = search(0);
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(keys(&first), ["OPS-1", "OPS-2"]);
    let b = first.body.as_ref().unwrap();
    assert_eq!(
        (b["total"].as_u64(), b["startAt"].as_u64()),
        (Some(3), Some(0))
    );
    // Without a field list, v2 returns the navigable fields.
    assert_eq!(b["issues"][0]["fields"]["summary"], "payments 5xx");
    assert_eq!(keys(&search(2)), ["OPS-3"]);
    // The v3 path of the enhanced search is not a v2 resource, and the reverse.
    let r = send(
        &s,
        PAT,
        "POST",
        "/rest/api/2/search/jql",
        Some(json!({"jql": "project = OPS"})),
    );
    assert_eq!(r.status, 404);
    let r = send(
        &s,
        PAT,
        "POST",
        "/rest/api/3/search",
        Some(json!({"jql": "project = OPS"})),
    );
    assert_eq!(r.status, 404);
    let r = send(&s, PAT, "GET", "/rest/api/2/search", None);
    assert_eq!(r.status, 405);
}

#[test]
fn transitions_work_the_same_on_v2() {
    let s = state();
    let t = send(&s, PAT, "GET", "/rest/api/2/issue/OPS-2/transitions", None);
    let t = t.body.unwrap();
    let done = t["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Done")
        .unwrap()["id"]
        .clone();
    assert!(
        t["transitions"][0]["to"]["self"]
            .as_str()
            .unwrap()
            .contains("/rest/api/2/status/")
    );
    let r = send(
        &s,
        PAT,
        "POST",
        "/rest/api/2/issue/OPS-2/transitions",
        Some(json!({"transition": {"id": done}})),
    );
    assert_eq!(r.status, 204);
    assert_eq!(s.issue("OPS-2").unwrap().status, "Done");
}
