//! Log queries cannot take a secret out of the redactor's sight, against the simulated AWS:
//! no query or pattern that cuts a line apart or tests it for a secret's text is sent, and
//! selected fields come back with their whole line, redacted in it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use serde_json::{Value, json};
use sopilot_sim_aws::{AwsState, Service};

const GROUP: &str = "/aws/app/payments";
const MARKER: &str = "attackmarker";
const REFUSAL: &str =
    "SOPilot does not run queries that can cut a log line apart or test it for a secret's text";

/// A log group whose lines hold a password, once as `KEY=value` and once as a JSON
/// name/value pair (the kind of line a ConfigMap dump or a startup banner leaves).
fn state() -> AwsState {
    let logs = json!({"groups": [{"name": GROUP, "streams": [{"name": "api-1", "events": [
        {"at": "-10m", "message": "connecting to db with password=hunter2-attackmarker-7731"},
        {"at": "-9m", "message": "{\"cfg\":{\"name\":\"DB_PASSWORD\",\"value\":\"hunter2-attackmarker-7731\"},\"pod\":\"api-1\"}"},
        {"at": "-8m", "message": "ERROR upstream timed out"},
    ]}]}]});
    AwsState::from_sections(None, Some(&logs), None).unwrap()
}

fn sent(h: &Harness, operation: &str) -> Vec<Value> {
    h.state
        .requests()
        .into_iter()
        .filter(|r| r.service == Service::Logs && r.operation == operation)
        .map(|r| r.body)
        .collect()
}

async fn query(h: &Harness, q: &str) -> common::Reply {
    h.call(
        "logs_insights_query",
        json!({"log_groups": [GROUP], "query": q, "minutes": 60, "timeout_seconds": 10}),
    )
    .await
}

#[tokio::test]
async fn queries_that_cut_a_line_apart_are_refused_before_they_are_sent() {
    let h = Harness::with(state()).await;
    for (q, what) in [
        (r#"parse @message "password=*" as p | display p"#, "`parse`"),
        ("display substr(@message, 35, 12)", "`substr`"),
        ("fields strlen(@message) as n | filter n > 40", "`strlen`"),
        (
            "fields jsonParse(@message) as j | display j.cfg.value",
            "`jsonparse`",
        ),
        ("pattern @message", "`pattern`"),
    ] {
        let r = query(&h, q).await;
        assert!(r.is_error, "{q}: {}", r.text);
        assert!(
            r.text.contains(what) && r.text.contains(REFUSAL),
            "{q}: {}",
            r.text
        );
        assert!(!r.text.contains(MARKER), "{q}: {}", r.text);
    }
    assert!(sent(&h, "StartQuery").is_empty(), "nothing reached Logs");
}

#[tokio::test]
async fn a_secret_cannot_be_tested_one_character_at_a_time() {
    let h = Harness::with(state()).await;
    for q in [
        "filter @message like /password=hunter2-a/ | stats count() as n",
        "filter @message like /password=hunter2-b/ | stats count() as n",
        "filter @message like /(?i)P[A]SSW(O|0)RD=hunter2-a/ | stats count() as n",
        "filter @message like /p.ssw.rd=hunter2-a/ | stats count() as n",
        "filter cfg.name = \"DB_PASSWORD\" and cfg.value like /^h/ | stats count() as n",
    ] {
        let r = query(&h, q).await;
        assert!(r.is_error, "{q} answered: {}", r.text);
        assert!(r.text.contains(REFUSAL), "{q}: {}", r.text);
    }
    for pattern in [
        "%password=hunter2-att%",
        "\"password=hunter2-att\"",
        "%p[a]ssword=h%",
    ] {
        let r = h
            .call(
                "filter_log_events",
                json!({"log_group": GROUP, "pattern": pattern, "minutes": 60}),
            )
            .await;
        assert!(r.is_error, "{pattern} answered: {}", r.text);
        assert!(
            r.text.contains("credential") && r.text.contains(REFUSAL),
            "{pattern}: {}",
            r.text
        );
    }
    assert!(sent(&h, "StartQuery").is_empty());
    assert!(sent(&h, "FilterLogEvents").is_empty());
}

#[tokio::test]
async fn selected_fields_come_back_with_their_line_and_redacted_in_it() {
    let h = Harness::with(state()).await;
    let r = query(
        &h,
        "fields @timestamp, cfg.value, pod | sort @timestamp asc",
    )
    .await;
    assert!(!r.is_error, "{}", r.text);
    let all = format!("{}\n{}", r.text, r.structured);
    assert!(!all.contains(MARKER), "a secret cut from its line: {all}");
    assert_eq!(r.structured["message_added"], true);
    let rows = r.structured["rows"].as_array().unwrap();
    let cut = rows.iter().find(|row| row["pod"] == "api-1").unwrap();
    assert_eq!(cut["cfg.value"], "[REDACTED]", "{cut}");
    assert!(
        cut["@message"].as_str().unwrap().contains("DB_PASSWORD"),
        "{cut}"
    );
    let start = sent(&h, "StartQuery").pop().unwrap();
    assert_eq!(
        start["queryString"],
        "fields @timestamp, cfg.value, pod, @message | sort @timestamp asc"
    );
    assert_eq!(start["queryLanguage"], "CWLI");
}

#[tokio::test]
async fn searches_for_errors_still_run() {
    let h = Harness::with(state()).await;
    let r = query(
        &h,
        "filter @message like /timed out|Exception/ | stats count() as n by @logStream",
    )
    .await;
    assert!(!r.is_error, "{}", r.text);
    assert_eq!(r.structured["rows"][0]["n"], "1", "{}", r.text);
    let r = h
        .call(
            "filter_log_events",
            json!({"log_group": GROUP, "pattern": "?ERROR ?Exception", "minutes": 60}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    assert_eq!(r.structured["matched"], 1);
}
