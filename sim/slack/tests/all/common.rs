//! Calling the simulated Web API the way clients do, without a socket.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use sopilot_sim_slack::{RawRequest, Reply, SlackState};

/// A workspace from a YAML `slack` section.
pub fn state(yaml: &str) -> SlackState {
    let section = sopilot_yaml::parse(yaml).unwrap().to_json();
    SlackState::from_section(Some(&section)).unwrap()
}

/// The seeding error of a YAML `slack` section.
pub fn seed_error(yaml: &str) -> String {
    let section = sopilot_yaml::parse(yaml).unwrap().to_json();
    SlackState::from_section(Some(&section))
        .unwrap_err()
        .to_string()
}

pub fn bearer(s: &SlackState) -> String {
    format!("Bearer {}", s.token())
}

/// A write call with a JSON body, as SDKs make them.
pub fn post_json(s: &SlackState, method: &str, body: Value) -> Reply {
    let auth = bearer(s);
    let body = body.to_string();
    s.handle(&RawRequest {
        http_method: "POST",
        method,
        query: None,
        content_type: Some("application/json; charset=utf-8"),
        authorization: Some(&auth),
        body: body.as_bytes(),
    })
}

/// A call with a form body.
pub fn post_form(s: &SlackState, method: &str, pairs: &[(&str, &str)]) -> Reply {
    let auth = bearer(s);
    let body: String = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    s.handle(&RawRequest {
        http_method: "POST",
        method,
        query: None,
        content_type: Some("application/x-www-form-urlencoded"),
        authorization: Some(&auth),
        body: body.as_bytes(),
    })
}

/// A read call with query arguments.
pub fn get(s: &SlackState, method: &str, pairs: &[(&str, &str)]) -> Reply {
    let auth = bearer(s);
    let query: String = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    s.handle(&RawRequest {
        http_method: "GET",
        method,
        query: Some(&query),
        content_type: None,
        authorization: Some(&auth),
        body: b"",
    })
}

/// Percent-encodes everything but unreserved characters.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The body of a 200 `ok: true` reply.
pub fn ok(r: Reply) -> Value {
    assert_eq!(r.status, 200, "{:?}", r);
    assert_eq!(r.body["ok"], true, "{}", r.body);
    r.body
}

/// The error code of a 200 `ok: false` reply.
pub fn err(r: Reply) -> String {
    assert_eq!(r.status, 200, "{:?}", r);
    assert_eq!(r.body["ok"], false, "{}", r.body);
    r.body["error"].as_str().unwrap().to_owned()
}

pub const WORKSPACE: &str = r#"
users:
  - {id: U0ALICE, name: alice, real_name: Alice Ng}
  - {id: U0BOB, name: bob}
channels:
  - id: C0INCIDENTS
    name: incidents
    members: [U0SOPILOT, U0ALICE, U0BOB]
    messages:
      - {user: U0ALICE, text: "payment-service is paging", at: -10m,
         replies: [{user: U0BOB, text: "looking", at: -9m}],
         reactions: {eyes: [U0BOB]}}
      - {user: U0BOB, text: "p99 latency 4s", at: -5m}
  - {id: C0RANDOM, name: random, members: [U0ALICE]}
  - {id: G0SECRET, name: secret, private: true, members: [U0ALICE]}
  - {id: C0OLD, name: old-incidents, archived: true}
"#;
