//! Rate limits and credentials: 429s waited out within a bound and then reported, and the
//! token never in stderr (at debug level) or in any tool result.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::{ALLOWED, Harness, TOKEN, workspace};
use serde_json::json;
use sopilot_sim_slack::RateLimit;

fn throttle_posts(h: &Harness, calls: u32, retry_after_seconds: u64) {
    h.sim.state.set_rate_limit(RateLimit {
        calls,
        retry_after_seconds,
        method: Some("chat.postMessage".into()),
    });
}

fn post_statuses(h: &Harness) -> Vec<u16> {
    h.sim
        .state
        .requests_for("chat.postMessage")
        .iter()
        .map(|r| r.status)
        .collect()
}

#[tokio::test]
async fn a_429_is_waited_out_then_the_post_succeeds() {
    let h = Harness::start(workspace(), &["--allow-post", "--channels", ALLOWED]).await;
    // Resolve the channel first, so only the post is timed.
    h.ok("list_channels", json!({})).await;
    throttle_posts(&h, 1, 1);
    let started = Instant::now();
    let r = h
        .ok(
            "post_message",
            json!({"channel": "#incidents", "text": "investigating"}),
        )
        .await;
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1),
        "Retry-After was honoured: {waited:?}"
    );
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    assert_eq!(post_statuses(&h), [429, 200]);
    assert_eq!(
        h.sim.state.messages("incidents").last().unwrap().ts,
        r.structured["ts"].as_str().unwrap()
    );
    assert!(
        h.log().contains("Slack answered 429; waiting as asked"),
        "{}",
        h.log()
    );
}

#[tokio::test]
async fn persistent_429s_become_a_clear_tool_error() {
    let h = Harness::start(workspace(), &["--allow-post", "--channels", ALLOWED]).await;
    h.ok("list_channels", json!({})).await;
    throttle_posts(&h, 100, 0);
    let msg = h
        .fails(
            "post_message",
            json!({"channel": "#incidents", "text": "x"}),
        )
        .await;
    assert_eq!(
        msg,
        "Slack is rate-limiting chat.postMessage: still refused after 4 attempts (it asks to wait 0 s). Wait a minute before posting again, and post fewer, larger updates (one report, then thread replies)."
    );
    assert_eq!(post_statuses(&h), [429, 429, 429, 429]);
    // A wait longer than the bound is not sat through.
    h.sim.state.clear_requests();
    throttle_posts(&h, 1, 120);
    let started = Instant::now();
    let msg = h
        .fails(
            "post_message",
            json!({"channel": "#incidents", "text": "x"}),
        )
        .await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        msg.contains("still refused after 1 attempts (it asks to wait 120 s)"),
        "{msg}"
    );
    assert_eq!(post_statuses(&h), [429]);
    assert_eq!(
        h.sim.state.messages("incidents").len(),
        3,
        "nothing was posted"
    );
    // Reads are retried the same way.
    h.sim.state.set_rate_limit(RateLimit {
        calls: 2,
        retry_after_seconds: 0,
        method: Some("conversations.history".into()),
    });
    h.ok("channel_history", json!({"channel": "#incidents"}))
        .await;
}

#[tokio::test]
async fn the_token_never_appears_in_logs_or_results() {
    let h = Harness::start(workspace(), &["--allow-post", "--channels", ALLOWED]).await;
    h.ok(
        "post_message",
        json!({"channel": "#incidents", "text": "hello"}),
    )
    .await;
    h.ok("channel_history", json!({"channel": "#incidents"}))
        .await;
    h.fails("post_message", json!({"channel": "#war-room", "text": "x"}))
        .await;
    h.fails("post_message", json!({"channel": "#random", "text": "x"}))
        .await;
    // A message that quotes a token is masked on the way back.
    h.sim
        .state
        .post_as(
            "incidents",
            "U0ALICE",
            &format!("is this it? {TOKEN}"),
            None,
        )
        .unwrap();
    let r = h
        .ok(
            "channel_history",
            json!({"channel": "#incidents", "limit": 1}),
        )
        .await;
    assert!(r.text.contains("is this it? [REDACTED]"), "{}", r.text);
    throttle_posts(&h, 100, 0);
    h.fails(
        "post_message",
        json!({"channel": "#incidents", "text": "x"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = h.log();
    assert!(log.contains("DEBUG"), "the server logged at debug: {log}");
    assert!(
        !log.contains(TOKEN) && !log.contains("4242424242"),
        "token in stderr:\n{log}"
    );
    for seen in h.seen.lock().unwrap().iter() {
        assert!(!seen.contains(TOKEN), "token in a result: {seen}");
    }
    assert!(
        h.sim
            .state
            .requests()
            .iter()
            .all(|r| r.auth == sopilot_sim_slack::AuthOutcome::Valid)
    );
}

#[tokio::test]
async fn a_rejected_token_is_an_operator_problem_and_stays_secret() {
    let wrong = "xoxb-9999999999-not-the-right-one";
    let h = Harness::start_with_token(workspace(), &["--channels", ALLOWED], wrong).await;
    let msg = h
        .fails("channel_history", json!({"channel": "C0OPS"}))
        .await;
    assert_eq!(
        msg,
        "Slack rejected the bot token (invalid_auth): SLACK_BOT_TOKEN must hold a valid bot token (xoxb-...). An operator must fix this; retrying will not help."
    );
    let msg = h
        .fails("channel_history", json!({"channel": "#incidents"}))
        .await;
    assert!(
        msg.contains("the channel list could not be read") && msg.contains("invalid_auth"),
        "{msg}"
    );
    assert!(!msg.contains(wrong));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!h.log().contains("9999999999"), "{}", h.log());
}
