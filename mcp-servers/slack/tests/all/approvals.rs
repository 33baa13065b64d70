//! SOPilot's approvals are Slack messages with Approve/Deny buttons (`sopilot_approve`,
//! `sopilot_deny`, the approval id as value). A hostile model using mcp-slack must not be
//! able to forge one, edit or react to one, harvest its id, or post a credential. Each case
//! runs against the simulated Slack, with SOPilot's own messages posted as its server does:
//! through the Web API with the same bot token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{ALLOWED, Harness, TOKEN, workspace};
use serde_json::{Value, json};
use sopilot_sim_slack::{RawRequest, SlackState};

const APPROVAL_ID: &str = "apr-0123456789ab";

async fn posting() -> Harness {
    Harness::start(workspace(), &["--allow-post", "--channels", ALLOWED]).await
}

/// Calls the simulated Web API as SOPilot's server does (same bot token), returning the ts.
fn post_as_sopilot(state: &SlackState, body: Value) -> String {
    let auth = format!("Bearer {TOKEN}");
    let bytes = body.to_string().into_bytes();
    let reply = state.handle(&RawRequest {
        http_method: "POST",
        method: "chat.postMessage",
        query: None,
        content_type: Some("application/json; charset=utf-8"),
        authorization: Some(&auth),
        body: &bytes,
    });
    assert_eq!(reply.body["ok"], true, "{}", reply.body);
    reply.body["ts"].as_str().unwrap().to_owned()
}

/// An approval request shaped like the one SOPilot's server posts.
fn approval_request(thread_ts: Option<&str>) -> Value {
    let mut body = json!({
        "channel": "C0INCIDENTS",
        "text": format!("Approval needed: kubectl.scale ({APPROVAL_ID})"),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn",
             "text": ":warning: *Approval needed* — `kubectl.scale`\nHPA max +100%"}},
            {"type": "actions", "block_id": "sopilot_approval", "elements": [
                {"type": "button", "action_id": "sopilot_approve", "style": "primary",
                 "value": APPROVAL_ID, "text": {"type": "plain_text", "text": "Approve"}},
                {"type": "button", "action_id": "sopilot_deny", "style": "danger",
                 "value": APPROVAL_ID, "text": {"type": "plain_text", "text": "Deny"}},
            ]},
            {"type": "context", "elements": [{"type": "mrkdwn",
             "text": format!("approval `{APPROVAL_ID}` · run `r-42`")}]},
        ],
    });
    if let Some(t) = thread_ts {
        body["thread_ts"] = json!(t);
    }
    body
}

fn forged_button() -> Value {
    json!({"type": "button", "action_id": "sopilot_approve", "value": "apr-feedfacecafe",
           "text": {"type": "plain_text", "text": "Approve"}})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

#[tokio::test]
async fn forged_approval_buttons_and_inputs_are_refused_wherever_they_hide() {
    let h = posting().await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "the reproduced attack: an actions block",
            json!([section("Approve the scale-up?"),
                   {"type": "actions", "elements": [forged_button()]}]),
            "blocks[1] (actions) is refused",
        ),
        (
            "a section accessory",
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "ok?"},
                    "accessory": forged_button()}]),
            "blocks[0] (section) is refused",
        ),
        (
            "a legacy attachment inside a block",
            json!([section("a"), {"type": "section", "text": {"type": "mrkdwn", "text": "b"},
                   "attachments": [{"fallback": "approve", "callback_id": "approval",
                     "actions": [{"name": "approve", "type": "button", "value": "apr-feedfacecafe"}]}]}]),
            "blocks[1] (section) is refused: a legacy attachment with `actions`",
        ),
        (
            "nested deep inside a context element",
            json!([{"type": "context", "elements": [{"type": "mrkdwn", "text": "x",
                    "extra": {"more": [forged_button()]}}]}]),
            "blocks[0] (context) is refused: the action_id \"sopilot_approve\"",
        ),
        (
            "an input block",
            json!([{"type": "input", "label": {"type": "plain_text", "text": "Reason"},
                    "element": {"type": "plain_text_input", "action_id": "reason"}}]),
            "blocks[0] (input) is refused: an `input` block",
        ),
        (
            "a plain link button",
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "runbook"},
                    "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Open"},
                                  "url": "https://example.com"}}]),
            "blocks[0] (section) is refused",
        ),
        (
            "a reserved block id on a layout block",
            json!([{"type": "section", "block_id": "sopilot_approval",
                    "text": {"type": "mrkdwn", "text": "approved"}}]),
            "the block_id \"sopilot_approval\", which uses SOPilot's reserved `sopilot_` prefix",
        ),
    ];
    for (what, blocks, needle) in &cases {
        for dry_run in [false, true] {
            let msg = h
                .fails(
                    "post_message",
                    json!({"channel": "#incidents", "text": "please approve", "blocks": blocks,
                           "dry_run": dry_run}),
                )
                .await;
            assert!(msg.contains(needle), "{what}: {msg}");
            assert!(
                msg.contains("approvals are SOPilot's own messages")
                    && msg.contains("Post text, sections, context, dividers"),
                "{what}: {msg}"
            );
        }
    }
    let own = h
        .ok(
            "post_message",
            json!({"channel": "#incidents", "text": "status: investigating"}),
        )
        .await;
    let ts = own.structured["ts"].as_str().unwrap().to_owned();
    let (_, attack, _) = &cases[0];
    for (tool, args) in [
        (
            "reply_in_thread",
            json!({"channel": "#incidents", "thread_ts": ts, "text": "approve?", "blocks": attack}),
        ),
        (
            "update_message",
            json!({"channel": "#incidents", "ts": ts, "text": "approve?", "blocks": attack}),
        ),
    ] {
        let msg = h.fails(tool, args).await;
        assert!(
            msg.contains("blocks[1] (actions) is refused"),
            "{tool}: {msg}"
        );
    }
    // Legacy attachments have no way in: the tools take no such argument.
    let msg = h
        .fails(
            "post_message",
            json!({"channel": "#incidents", "text": "x",
                   "attachments": [{"callback_id": "sopilot_approval", "actions": [forged_button()]}]}),
        )
        .await;
    assert!(msg.contains("attachments"), "{msg}");
    assert_eq!(
        h.sim.state.requests_for("chat.postMessage").len(),
        1,
        "only the plain status message reached Slack: {:?}",
        h.methods()
    );
    assert!(h.sim.state.requests_for("chat.update").is_empty());
    for m in h.sim.state.messages("incidents") {
        assert!(m.blocks.is_none(), "{m:?}");
    }
}

#[tokio::test]
async fn sopilots_approval_messages_cannot_be_edited_or_reacted_to() {
    let h = posting().await;
    let status = post_as_sopilot(
        &h.sim.state,
        json!({"channel": "C0INCIDENTS", "text": "SOPilot run r-42: running"}),
    );
    let approval = post_as_sopilot(&h.sim.state, approval_request(Some(&status)));
    for channel in ["#incidents", "C0INCIDENTS"] {
        for dry_run in [false, true] {
            let msg = h
                .fails(
                    "update_message",
                    json!({"channel": channel, "ts": approval, "dry_run": dry_run,
                           "text": "Approval needed: kubectl.get_pods (harmless)"}),
                )
                .await;
            assert_eq!(
                msg,
                format!(
                    "message {approval} in #incidents (C0INCIDENTS) was not posted by this server: mcp-slack edits only messages it posted in this session; post a new message or reply in the thread (reply_in_thread thread_ts=\"{approval}\"). SOPilot's own messages (approval requests, run status) and people's messages are never changed from here."
                )
            );
        }
    }
    let msg = h
        .fails(
            "update_message",
            json!({"channel": "#incidents", "ts": status, "text": "SOPilot run r-42: succeeded"}),
        )
        .await;
    assert!(msg.contains("edits only messages it posted"), "{msg}");
    let mut report = json!({"channel": "#incidents", "title": "t", "severity": "high",
                            "summary": "s", "update_ts": approval});
    let msg = h.fails("post_incident_report", report.clone()).await;
    assert!(msg.contains("edits only messages it posted"), "{msg}");
    report["update_ts"] = json!(status);
    let msg = h.fails("post_incident_report", report).await;
    assert!(msg.contains("edits only messages it posted"), "{msg}");
    let msg = h
        .fails(
            "add_reaction",
            json!({"channel": "#incidents", "ts": approval, "name": "white_check_mark"}),
        )
        .await;
    assert_eq!(
        msg,
        format!(
            "message {approval} in #incidents (C0INCIDENTS) carries interactive content in blocks[1] (actions): it is an approval request or another app's form, and a reaction from the bot there could read as a decision. mcp-slack does not react to such messages; reply in its thread instead."
        )
    );
    assert!(
        !msg.contains("sopilot_") && !msg.contains(APPROVAL_ID),
        "{msg}"
    );
    let msg = h
        .fails(
            "add_reaction",
            json!({"channel": "#incidents", "ts": "1000000000.000001", "name": "eyes"}),
        )
        .await;
    assert!(
        msg.starts_with("no message with ts 1000000000.000001"),
        "{msg}"
    );
    for m in ["chat.update", "reactions.add"] {
        assert!(h.sim.state.requests_for(m).is_empty(), "{m} reached Slack");
    }
    let stored = h.sim.state.messages("incidents");
    let a = stored.iter().find(|m| m.ts == approval).unwrap();
    assert!(!a.edited && a.reactions.is_empty(), "{a:?}");
    assert_eq!(a.blocks.as_ref().unwrap()[1]["type"], "actions");
    // What stays allowed: replying in the thread, reacting to a person's or a plain message.
    h.ok(
        "reply_in_thread",
        json!({"channel": "#incidents", "thread_ts": approval, "text": "the HPA change is needed because ..."}),
    )
    .await;
    let alice = stored.iter().find(|m| m.user == "U0ALICE").unwrap();
    for ts in [alice.ts.as_str(), status.as_str()] {
        h.ok(
            "add_reaction",
            json!({"channel": "#incidents", "ts": ts, "name": "eyes"}),
        )
        .await;
    }
}

#[tokio::test]
async fn its_own_messages_can_still_be_edited() {
    let h = posting().await;
    let post = |channel: &str| json!({"channel": channel, "text": "status: investigating"});
    let ts = h.ok("post_message", post("#incidents")).await.structured["ts"]
        .as_str()
        .unwrap()
        .to_owned();
    // Posted by name, edited by id (and by name): the key is the id Slack returned.
    for channel in ["C0INCIDENTS", "incidents"] {
        let dry = h
            .ok(
                "update_message",
                json!({"channel": channel, "ts": ts, "text": "status: mitigated", "dry_run": true}),
            )
            .await;
        assert_eq!(dry.structured["dry_run"], true);
        h.ok(
            "update_message",
            json!({"channel": channel, "ts": ts, "text": "status: resolved",
                   "blocks": [section("*resolved*")]}),
        )
        .await;
    }
    let reply = h
        .ok(
            "reply_in_thread",
            json!({"channel": "#incidents", "thread_ts": ts, "text": "pod restarted"}),
        )
        .await;
    let reply_ts = reply.structured["ts"].as_str().unwrap().to_owned();
    h.ok(
        "update_message",
        json!({"channel": "#incidents", "ts": reply_ts, "text": "pod restarted (twice)"}),
    )
    .await;
    let report = json!({"channel": "#incidents", "title": "payment down", "severity": "high",
                        "summary": "investigating"});
    let r = h.ok("post_incident_report", report.clone()).await;
    let report_ts = r.structured["ts"].as_str().unwrap().to_owned();
    let mut update = report;
    update["status"] = json!("resolved");
    update["update_ts"] = json!(report_ts);
    h.ok("post_incident_report", update).await;
    // The same message named in another allowed channel is not the same message.
    let msg = h
        .fails(
            "update_message",
            json!({"channel": "#ops", "ts": ts, "text": "x"}),
        )
        .await;
    assert!(msg.contains("edits only messages it posted"), "{msg}");
    let stored = h.sim.state.messages("incidents");
    let texts: Vec<(&str, bool)> = stored
        .iter()
        .filter(|m| m.user == "U0SOPILOT")
        .map(|m| (m.text.as_str(), m.edited))
        .collect();
    assert_eq!(texts[0], ("status: resolved", true));
    assert_eq!(texts[1], ("pod restarted (twice)", true));
    assert!(texts[2].0.contains("(Resolved)") && texts[2].1, "{texts:?}");
    assert_eq!(h.sim.state.requests_for("chat.update").len(), 4);
}

#[tokio::test]
async fn credentials_are_masked_before_they_reach_slack() {
    let h = posting().await;
    let secret = "AKIAIOSFODNN7EXAMPLE and password=hunter2hunter2";
    let dry = h
        .ok(
            "post_message",
            json!({"channel": "#incidents", "text": secret, "dry_run": true}),
        )
        .await;
    assert_eq!(
        dry.structured["request"]["body"]["text"],
        "[REDACTED] and password=[REDACTED]"
    );
    let ts = h
        .ok(
            "post_message",
            json!({"channel": "#incidents", "text": format!("found {secret}"),
                   "blocks": [section(&format!("*found* {secret}")),
                              {"type": "context", "elements": [{"type": "mrkdwn", "text": secret}]}]}),
        )
        .await
        .structured["ts"]
        .as_str()
        .unwrap()
        .to_owned();
    h.ok(
        "reply_in_thread",
        json!({"channel": "#incidents", "thread_ts": ts, "text": secret}),
    )
    .await;
    h.ok(
        "update_message",
        json!({"channel": "#incidents", "ts": ts, "text": format!("still {secret}")}),
    )
    .await;
    h.ok(
        "post_incident_report",
        json!({"channel": "#incidents", "title": "leak", "severity": "low", "summary": secret,
               "facts": [{"label": "key", "value": "AKIAIOSFODNN7EXAMPLE"}],
               "actions_taken": ["rotated password=hunter2hunter2"]}),
    )
    .await;
    let stored = h.sim.state.messages("incidents");
    let ours: Vec<_> = stored.iter().filter(|m| m.user == "U0SOPILOT").collect();
    assert_eq!(ours.len(), 3);
    for m in &ours {
        let all = format!("{} {}", m.text, m.blocks.clone().unwrap_or_default());
        assert!(all.contains("[REDACTED]"), "{all}");
        assert!(
            !all.contains("AKIAIOSFODNN7EXAMPLE") && !all.contains("hunter2hunter2"),
            "{all}"
        );
    }
    assert_eq!(ours[0].text, "still [REDACTED] and password=[REDACTED]");
    for r in h.sim.state.requests() {
        assert!(
            !r.body.contains("AKIAIOSFODNN7EXAMPLE") && !r.body.contains("hunter2hunter2"),
            "{} sent {}",
            r.method,
            r.body
        );
    }
}

#[tokio::test]
async fn approval_ids_are_hidden_from_reading_tools() {
    let h = Harness::start(workspace(), &["--channels", ALLOWED]).await;
    let approval = post_as_sopilot(&h.sim.state, approval_request(None));
    h.sim
        .state
        .post_as(
            "incidents",
            "U0ALICE",
            &format!("looks fine, approving {APPROVAL_ID}"),
            Some(&approval),
        )
        .unwrap();
    let history = h
        .ok("channel_history", json!({"channel": "#incidents"}))
        .await;
    let thread = h
        .ok(
            "thread_replies",
            json!({"channel": "#incidents", "thread_ts": approval}),
        )
        .await;
    for r in [&history, &thread] {
        let all = format!("{}\n{}", r.text, r.structured);
        assert!(
            !all.contains(APPROVAL_ID) && !all.contains("sopilot_"),
            "{all}"
        );
        let shown = r.structured["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["ts"] == approval.as_str())
            .unwrap();
        assert_eq!(shown["text"], "Approval needed: kubectl.scale ([hidden])");
        assert_eq!(
            shown["interactive"],
            json!(["button \"Approve\"", "button \"Deny\""])
        );
        assert!(
            r.text
                .contains("[interactive: button \"Approve\", button \"Deny\"; values hidden]"),
            "{}",
            r.text
        );
    }
    let reply = &thread.structured["messages"][1];
    assert_eq!(reply["text"], "looks fine, approving [hidden]");
}
