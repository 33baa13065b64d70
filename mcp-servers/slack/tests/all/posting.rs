//! Posting against the simulated Web API: what reaches Slack, the allow-list, Slack's
//! errors as advice, incident reports, and broadcast mentions.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{ALLOWED, Harness, workspace};
use serde_json::{Value, json};

async fn posting() -> Harness {
    Harness::start(workspace(), &["--allow-post", "--channels", ALLOWED]).await
}

#[tokio::test]
async fn posts_replies_updates_and_reactions_reach_slack() {
    let h = posting().await;
    let r = h
        .ok(
            "post_message",
            json!({"channel": "#incidents", "text": "*payment-service*: investigating"}),
        )
        .await;
    let ts = r.structured["ts"].as_str().unwrap().to_owned();
    assert_eq!(r.structured["channel"]["id"], "C0INCIDENTS");
    assert!(
        r.text
            .contains(&format!("reply_in_thread thread_ts=\"{ts}\"")),
        "{}",
        r.text
    );
    let post = h.sim.state.requests_for("chat.postMessage").pop().unwrap();
    assert_eq!(post.http_method, "POST");
    assert_eq!(
        post.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(post.auth, sopilot_sim_slack::AuthOutcome::Valid);
    assert_eq!(post.params["channel"], "C0INCIDENTS", "names become ids");

    let reply = h
        .ok(
            "reply_in_thread",
            json!({"channel": "C0INCIDENTS", "thread_ts": ts, "text": "pod restarted"}),
        )
        .await;
    h.ok(
        "update_message",
        json!({"channel": "incidents", "ts": ts, "text": "*payment-service*: resolved"}),
    )
    .await;
    for _ in 0..2 {
        let r = h
            .ok(
                "add_reaction",
                json!({"channel": "#incidents", "ts": ts, "name": ":white_check_mark:"}),
            )
            .await;
        assert!(r.text.contains(":white_check_mark:"), "{}", r.text);
    }
    let msgs = h.sim.state.messages("incidents");
    let top = msgs.iter().find(|m| m.ts == ts).unwrap();
    assert_eq!(top.text, "*payment-service*: resolved");
    assert!(top.edited);
    assert_eq!(
        top.reactions,
        [("white_check_mark".to_owned(), vec!["U0SOPILOT".to_owned()])]
    );
    let threaded = msgs
        .iter()
        .find(|m| m.ts == reply.structured["ts"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        (threaded.text.as_str(), threaded.thread_ts.as_deref()),
        ("pod restarted", Some(ts.as_str()))
    );
}

#[tokio::test]
async fn channels_outside_the_allow_list_are_refused_before_posting() {
    let h = posting().await;
    for channel in ["#random", "C0RANDOM", "random"] {
        let msg = h
            .fails("post_message", json!({"channel": channel, "text": "hi"}))
            .await;
        assert_eq!(
            msg,
            "channel #random (C0RANDOM) is not in this server's allow-list (--channels); allowed: #incidents (C0INCIDENTS), #ops (C0OPS), #war-room (C0WARROOM). Use one of them.",
            "{channel}"
        );
    }
    let msg = h
        .fails("channel_history", json!({"channel": "#random"}))
        .await;
    assert!(msg.contains("not in this server's allow-list"), "{msg}");
    let msg = h
        .fails("post_message", json!({"channel": "#nope", "text": "hi"}))
        .await;
    assert!(
        msg.starts_with("no channel named #nope that the bot can see"),
        "{msg}"
    );
    let msg = h
        .fails(
            "post_message",
            json!({"channel": "C0UNKNOWN", "text": "hi"}),
        )
        .await;
    assert!(
        msg.starts_with("channel C0UNKNOWN is not in this server's allow-list"),
        "{msg}"
    );
    assert!(
        h.sim.state.requests_for("chat.postMessage").is_empty(),
        "nothing was posted: {:?}",
        h.methods()
    );
    assert!(
        h.sim.state.requests_for("conversations.history").is_empty(),
        "nothing was read"
    );
}

#[tokio::test]
async fn slack_errors_say_what_to_do() {
    let h = posting().await;
    let msg = h
        .fails(
            "post_message",
            json!({"channel": "#war-room", "text": "hi"}),
        )
        .await;
    assert_eq!(
        msg,
        "the bot is not a member of #war-room (C0WARROOM): invite the bot to #war-room (C0WARROOM) (type /invite @<bot name> in the channel), then retry"
    );
    let alice = h.sim.state.messages("incidents")[0].ts.clone();
    let msg = h
        .fails(
            "update_message",
            json!({"channel": "#incidents", "ts": alice, "text": "edited"}),
        )
        .await;
    assert!(
        msg.contains("mcp-slack edits only messages it posted in this session")
            && msg.contains(&alice),
        "{msg}"
    );
    assert!(
        h.sim.state.requests_for("chat.update").is_empty(),
        "refused before Slack"
    );
    let msg = h
        .fails(
            "reply_in_thread",
            json!({"channel": "#incidents", "thread_ts": "1000000000.000001", "text": "x"}),
        )
        .await;
    assert!(
        msg.starts_with("no thread at ts 1000000000.000001 in #incidents (C0INCIDENTS)"),
        "{msg}"
    );
    let msg = h
        .fails(
            "post_message",
            json!({"channel": "#incidents", "text": "x",
                   "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "*bold*"}}]}),
        )
        .await;
    assert!(
        msg.starts_with("Slack rejected the blocks: [ERROR] `mrkdwn` is not one of [plain_text] [json-pointer:/blocks/0/text/type]"),
        "{msg}"
    );
    let cases = [
        (
            "post_message",
            json!({"channel": "#incidents", "text": "  "}),
            "text is empty",
        ),
        (
            "post_message",
            json!({"channel": "#incidents", "text": "x", "blocks": [{"text": "no type"}]}),
            "blocks[0] needs a \"type\"",
        ),
        (
            "post_message",
            json!({"channel": "#incidents", "text": "x", "blocks": vec![json!({"type": "divider"}); 51]}),
            "Slack allows at most 50",
        ),
        (
            "post_message",
            json!({"channel": "", "text": "x"}),
            "channel is empty",
        ),
        (
            "reply_in_thread",
            json!({"channel": "#incidents", "thread_ts": "yesterday", "text": "x"}),
            "thread_ts \"yesterday\" is not a Slack ts",
        ),
        (
            "add_reaction",
            json!({"channel": "#incidents", "ts": alice, "name": "Thumbs Up"}),
            "is not an emoji name",
        ),
        (
            "post_incident_report",
            json!({"channel": "#incidents", "title": "t", "severity": "high", "summary": "s", "thread_ts": alice, "update_ts": alice}),
            "not both",
        ),
    ];
    for (tool, args, needle) in cases {
        let msg = h.fails(tool, args.clone()).await;
        assert!(msg.contains(needle), "{tool} {args}: {msg}");
    }
    assert_eq!(
        h.sim.state.requests_for("chat.postMessage").len(),
        3,
        "only the calls that passed local checks reached Slack: {:?}",
        h.methods()
    );
}

#[tokio::test]
async fn broadcast_mentions_do_not_ping() {
    let h = posting().await;
    h.ok(
        "post_message",
        json!({"channel": "#incidents", "text": "<!channel> db down <!here|here>",
               "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "<!everyone> look"}}]}),
    )
    .await;
    let m = h.sim.state.messages("incidents").pop().unwrap();
    assert_eq!(m.text, "@channel db down @here");
    assert_eq!(m.blocks.unwrap()[0]["text"]["text"], "@everyone look");
}

fn report() -> Value {
    json!({
        "channel": "#incidents",
        "title": "payment-service crash-looping (OOMKilled)",
        "severity": "high",
        "summary": "payment-service pods restart every ~2 min; the last exit is OOMKilled at the 512Mi limit.",
        "facts": [{"label": "Restarts", "value": "7 in 10 min"}, {"label": "Last exit", "value": "OOMKilled (137)"}],
        "actions_taken": ["deleted pod payment-service-7d8f9c6b5-x2k9p"],
        "pending_approvals": ["raise the memory limit to 768Mi"],
        "context": "SOPilot run r-42",
    })
}

#[tokio::test]
async fn incident_reports_are_block_kit_with_a_fallback() {
    let h = posting().await;
    let dry = h
        .ok("post_incident_report", {
            let mut r = report();
            r["dry_run"] = json!(true);
            r
        })
        .await;
    assert_eq!(dry.structured["dry_run"], true);
    assert_eq!(
        dry.structured["impact"]["target"],
        json!({"kind": "SlackChannel", "name": "#incidents"})
    );
    assert_eq!(dry.structured["impact"]["bot_is_member"], true);
    assert_eq!(dry.structured["request"]["method"], "chat.postMessage");
    assert!(
        h.sim.state.requests_for("chat.postMessage").is_empty(),
        "a dry run posts nothing"
    );

    let r = h.ok("post_incident_report", report()).await;
    let ts = r.structured["ts"].as_str().unwrap().to_owned();
    assert!(
        r.text.contains(&format!("update_ts=\"{ts}\"")),
        "{}",
        r.text
    );
    let m = h.sim.state.messages("incidents").pop().unwrap();
    assert_eq!(m.ts, ts);
    assert!(
        m.text.starts_with("[SEV2 HIGH] payment-service crash-looping (OOMKilled) (Investigating)\npayment-service pods restart"),
        "{}",
        m.text
    );
    assert!(
        m.text
            .contains("Waiting for approval: raise the memory limit to 768Mi")
    );
    let blocks = m.blocks.unwrap();
    let types: Vec<&str> = blocks
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "header", "context", "section", "section", "divider", "section", "section", "context"
        ]
    );
    assert_eq!(
        blocks[3]["fields"][1]["text"],
        "*Last exit*\nOOMKilled (137)"
    );
    assert!(
        blocks[6]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("• raise the memory limit to 768Mi")
    );

    let mut resolved = report();
    resolved["status"] = json!("resolved");
    resolved["pending_approvals"] = json!([]);
    resolved["update_ts"] = json!(ts);
    h.ok("post_incident_report", resolved).await;
    let m = h.sim.state.messages("incidents").pop().unwrap();
    assert_eq!(m.ts, ts, "updated in place");
    assert!(m.edited);
    assert!(m.text.contains("(Resolved)"), "{}", m.text);
    assert!(!m.text.contains("Waiting for approval"));

    let mut threaded = report();
    threaded["thread_ts"] = json!(ts);
    threaded["severity"] = json!("critical");
    h.ok("post_incident_report", threaded).await;
    let m = h.sim.state.messages("incidents").pop().unwrap();
    assert_eq!(m.thread_ts.as_deref(), Some(ts.as_str()));
    assert!(m.text.starts_with("[SEV1 CRITICAL]"), "{}", m.text);
}

#[tokio::test]
async fn dry_runs_check_the_channel_and_post_nothing() {
    let h = posting().await;
    let r = h
        .ok(
            "post_message",
            json!({"channel": "#war-room", "text": "hello", "dry_run": true}),
        )
        .await;
    assert!(
        r.text.contains("the bot is not in this channel yet"),
        "{}",
        r.text
    );
    assert_eq!(r.structured["impact"]["bot_is_member"], false);
    assert_eq!(r.structured["request"]["body"]["text"], "hello");
    let msg = h
        .fails(
            "post_message",
            json!({"channel": "#random", "text": "hello", "dry_run": true}),
        )
        .await;
    assert!(msg.contains("allow-list"), "{msg}");
    let ts = h.sim.state.messages("incidents")[0].ts.clone();
    for (tool, args) in [
        (
            "reply_in_thread",
            json!({"channel": "#incidents", "thread_ts": ts, "text": "x", "dry_run": true}),
        ),
        (
            "add_reaction",
            json!({"channel": "#incidents", "ts": ts, "name": "eyes", "dry_run": true}),
        ),
    ] {
        let r = h.ok(tool, args).await;
        assert_eq!(r.structured["dry_run"], true, "{tool}");
        assert_eq!(r.structured["impact"]["action"], tool);
    }
    // Someone else's message cannot be updated, not even in a dry run.
    let msg = h
        .fails(
            "update_message",
            json!({"channel": "#incidents", "ts": ts, "text": "x", "dry_run": true}),
        )
        .await;
    assert!(msg.contains("edits only messages it posted"), "{msg}");
    let writes: Vec<String> = h
        .methods()
        .into_iter()
        .filter(|m| m.starts_with("chat.") || m.starts_with("reactions."))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}
