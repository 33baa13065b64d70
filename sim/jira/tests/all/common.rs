//! Calling the simulated REST API the way clients do, without a socket.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use serde_json::{Value, json};
use sopilot_sim_jira::{DEFAULT_API_TOKEN, DEFAULT_EMAIL, JiraState, RawRequest, Reply};

pub const SECTION: &str = r#"
users:
  - {account_id: acct-bot, name: SOPilot, email: bot@example.com, api_token: tok-bot, pat: pat-bot}
  - {account_id: acct-ro, name: Reader, email: ro@example.com, api_token: tok-ro, write: false}
  - {account_id: acct-ops, name: Ops only, email: ops@example.com, api_token: tok-ops, projects: [OPS]}
projects:
  - {key: OPS, name: Operations}
  - key: SEC
    name: Security
    issue_types: [Incident]
    workflow:
      statuses: [{name: Open, category: new}, {name: Triage, category: indeterminate}, {name: Closed, category: done}]
      transitions:
        - {id: "5", name: Triage, to: Triage, from: [Open]}
        - {id: "9", name: Close, to: Closed, from: [Triage]}
issues:
  - {key: OPS-1, type: Incident, summary: payments 5xx, description: "p99 4s", status: In Progress, labels: [sev1, payments], created: -2h,
     comments: [{author: acct-ops, body: paged, at: -1h}]}
  - {key: OPS-2, summary: rotate certs, labels: [chore], created: -1d}
  - {key: OPS-3, type: Bug, summary: checkout flaky, status: Done, labels: [payments], created: -30m}
  - {key: SEC-1, type: Incident, summary: leaked key, created: -3h}
"#;

pub fn state() -> JiraState {
    state_of(SECTION)
}

pub fn state_of(yaml: &str) -> JiraState {
    let section = sopilot_yaml::parse(yaml).unwrap().to_json();
    JiraState::from_section(Some(&section)).unwrap()
}

pub fn seed_error(yaml: &str) -> String {
    let section = sopilot_yaml::parse(yaml).unwrap().to_json();
    JiraState::from_section(Some(&section))
        .unwrap_err()
        .to_string()
}

pub fn basic(email: &str, token: &str) -> String {
    let raw = format!("{email}:{token}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

pub fn bot() -> String {
    basic("bot@example.com", "tok-bot")
}

pub fn default_user() -> String {
    basic(DEFAULT_EMAIL, DEFAULT_API_TOKEN)
}

pub fn send(s: &JiraState, auth: &str, method: &str, path: &str, body: Option<Value>) -> Reply {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    s.handle(&RawRequest {
        method,
        path,
        query,
        authorization: Some(auth),
        body: body.as_bytes(),
        base: "http://jira.test",
    })
}

pub fn get(s: &JiraState, path: &str) -> Reply {
    send(s, &bot(), "GET", path, None)
}

pub fn post(s: &JiraState, path: &str, body: Value) -> Reply {
    send(s, &bot(), "POST", path, Some(body))
}

pub fn doc(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]})
}

pub fn search(s: &JiraState, auth: &str, jql: &str) -> Reply {
    send(
        s,
        auth,
        "POST",
        "/rest/api/3/search/jql",
        Some(json!({"jql": jql, "fields": ["summary", "status"]})),
    )
}

pub fn keys(r: &Reply) -> Vec<String> {
    r.body.as_ref().unwrap()["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect()
}

/// The body's `errorMessages` and `errors` as one string.
pub fn error_text(r: &Reply) -> String {
    let b = r.body.as_ref().unwrap();
    assert!(
        b["errorMessages"].is_array() && b["errors"].is_object(),
        "not Jira's error shape: {b}"
    );
    format!("{} {}", b["errorMessages"], b["errors"])
}
