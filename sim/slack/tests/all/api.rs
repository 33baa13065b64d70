//! The Web API methods: Slack's shapes, errors, threads, pagination and recording.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{WORKSPACE, err, get, ok, post_form, post_json, state};
use serde_json::{Value, json};
use sopilot_sim_slack::{AuthOutcome, RateLimit, RawRequest, SlackState};

#[test]
fn auth_is_required_and_checked() {
    let s = state(WORKSPACE);
    let call = |auth: Option<&str>| {
        s.handle(&RawRequest {
            http_method: "POST",
            method: "auth.test",
            authorization: auth,
            ..RawRequest::default()
        })
    };
    assert_eq!(err(call(None)), "not_authed");
    assert_eq!(
        err(call(Some("Bearer xoxb-wrong-token-0000"))),
        "invalid_auth"
    );
    assert_eq!(
        err(call(Some(&s.token()))),
        "invalid_auth",
        "the scheme is required"
    );
    let token = format!("bearer {}", s.token());
    let body = ok(call(Some(&token)));
    assert_eq!(
        body,
        json!({"ok": true, "url": "https://sopilot.slack.com/", "team": "sopilot", "user": "sopilot",
               "team_id": "T0SOPILOT", "user_id": "U0SOPILOT", "bot_id": "B0SOPILOT",
               "is_enterprise_install": false})
    );
    let auths: Vec<AuthOutcome> = s.requests().iter().map(|r| r.auth).collect();
    assert_eq!(
        auths,
        [
            AuthOutcome::Missing,
            AuthOutcome::Invalid,
            AuthOutcome::Invalid,
            AuthOutcome::Valid
        ]
    );
    assert!(
        !format!("{:?}", s.requests()).contains(&s.token()),
        "tokens are not recorded"
    );
}

#[test]
fn post_message_has_slacks_shape_and_unique_ordered_ts() {
    let s = state(WORKSPACE);
    let first = ok(post_json(
        &s,
        "chat.postMessage",
        json!({"channel": "C0INCIDENTS", "text": "investigating"}),
    ));
    assert_eq!(first["channel"], "C0INCIDENTS");
    let m = &first["message"];
    assert_eq!(
        (&m["type"], &m["user"], &m["bot_id"], &m["text"], &m["team"]),
        (
            &json!("message"),
            &json!("U0SOPILOT"),
            &json!("B0SOPILOT"),
            &json!("investigating"),
            &json!("T0SOPILOT")
        )
    );
    assert_eq!(m["ts"], first["ts"]);
    // By name too, with or without '#', as chat.postMessage allows.
    let mut stamps = vec![first["ts"].as_str().unwrap().to_owned()];
    for channel in ["incidents", "#incidents", "C0INCIDENTS"] {
        let r = ok(post_json(
            &s,
            "chat.postMessage",
            json!({"channel": channel, "text": "again"}),
        ));
        assert_eq!(r["channel"], "C0INCIDENTS");
        stamps.push(r["ts"].as_str().unwrap().to_owned());
    }
    let parsed: Vec<(u64, u64)> = stamps
        .iter()
        .map(|t| {
            let (a, b) = t.split_once('.').unwrap();
            assert_eq!(b.len(), 6, "{t}");
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect();
    assert!(
        parsed.windows(2).all(|w| w[0] < w[1]),
        "ts strictly increase: {stamps:?}"
    );
    let texts: Vec<String> = s
        .messages("#incidents")
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(
        texts,
        [
            "payment-service is paging",
            "looking",
            "p99 latency 4s",
            "investigating",
            "again",
            "again",
            "again"
        ]
    );
}

#[test]
fn form_bodies_and_json_strings_for_blocks() {
    let s = state(WORKSPACE);
    let blocks = r#"[{"type":"section","text":{"type":"mrkdwn","text":"*SEV2*"}}]"#;
    let r = ok(post_form(
        &s,
        "chat.postMessage",
        &[
            ("channel", "C0INCIDENTS"),
            ("text", "fallback"),
            ("blocks", blocks),
        ],
    ));
    assert_eq!(r["message"]["blocks"][0]["text"]["text"], "*SEV2*");
    let last = s.requests().pop().unwrap();
    assert_eq!(last.http_method, "POST");
    assert_eq!(
        last.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(last.params["blocks"], blocks);
    assert!(last.body.contains("channel=C0INCIDENTS"), "{}", last.body);
    assert!(last.ok && last.error.is_none() && last.status == 200);
}

#[test]
fn errors_are_ok_false_with_http_200() {
    let s = state(WORKSPACE);
    let cases = [
        (
            json!({"channel": "C0NOPE", "text": "x"}),
            "channel_not_found",
        ),
        (
            json!({"channel": "G0SECRET", "text": "x"}),
            "channel_not_found",
        ),
        (
            json!({"channel": "C0RANDOM", "text": "x"}),
            "not_in_channel",
        ),
        (json!({"channel": "C0OLD", "text": "x"}), "is_archived"),
        (json!({"channel": "C0INCIDENTS"}), "no_text"),
        (json!({"channel": "C0INCIDENTS", "text": ""}), "no_text"),
        (
            json!({"channel": "C0INCIDENTS", "text": "x", "thread_ts": "1.000001"}),
            "thread_not_found",
        ),
        (
            json!({"channel": "C0INCIDENTS", "text": "x".repeat(40_001)}),
            "msg_too_long",
        ),
        (json!({"text": "x"}), "invalid_arguments"),
    ];
    for (body, code) in cases {
        assert_eq!(
            err(post_json(&s, "chat.postMessage", body.clone())),
            code,
            "{body}"
        );
    }
    let bad_blocks = post_json(
        &s,
        "chat.postMessage",
        json!({"channel": "C0INCIDENTS", "text": "x", "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]}),
    );
    assert_eq!(
        bad_blocks.body["response_metadata"]["messages"][0],
        "[ERROR] `mrkdwn` is not one of [plain_text] [json-pointer:/blocks/0/text/type]"
    );
    assert_eq!(err(bad_blocks), "invalid_blocks");
    let not_json = post_form(
        &s,
        "chat.postMessage",
        &[("channel", "C0INCIDENTS"), ("blocks", "[{")],
    );
    assert_eq!(err(not_json), "invalid_blocks");
    let missing = post_json(&s, "chat.postMessage", json!({"text": "x"}));
    assert_eq!(
        missing.body["response_metadata"]["messages"][0],
        "[ERROR] missing required field: channel"
    );
    assert!(
        s.messages("C0INCIDENTS").len() == 3,
        "no failed post was stored"
    );
    let r = s.handle(&RawRequest {
        http_method: "POST",
        method: "chat.deleteEverything",
        authorization: Some(&common::bearer(&s)),
        ..RawRequest::default()
    });
    assert_eq!(
        (r.status, r.body),
        (404, json!({"ok": false, "error": "unknown_method"}))
    );
    let auth = common::bearer(&s);
    let broken = |ct: &'static str, body: &'static [u8]| {
        s.handle(&RawRequest {
            http_method: "POST",
            method: "chat.postMessage",
            content_type: Some(ct),
            authorization: Some(&auth),
            body,
            ..RawRequest::default()
        })
    };
    assert_eq!(
        err(broken("application/json", b"{not json")),
        "invalid_json"
    );
    assert_eq!(err(broken("application/json", b"[1,2]")), "invalid_json");
    assert_eq!(err(broken("text/plain", b"channel=x")), "invalid_form_data");
}

#[test]
fn read_methods_ignore_json_bodies_as_slack_does() {
    let s = state(WORKSPACE);
    let r = post_json(
        &s,
        "conversations.history",
        json!({"channel": "C0INCIDENTS"}),
    );
    assert_eq!(
        r.body["response_metadata"]["messages"][0],
        "[ERROR] missing required field: channel"
    );
    assert_eq!(err(r), "invalid_arguments");
    let r = post_form(&s, "conversations.history", &[("channel", "C0INCIDENTS")]);
    assert_eq!(ok(r)["messages"].as_array().unwrap().len(), 2);
}

#[test]
fn update_edits_only_the_bots_messages() {
    let s = state(WORKSPACE);
    let posted = ok(post_json(
        &s,
        "chat.postMessage",
        json!({"channel": "C0INCIDENTS", "text": "status: investigating",
               "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "investigating"}}]}),
    ));
    let ts = posted["ts"].as_str().unwrap();
    let r = ok(post_json(
        &s,
        "chat.update",
        json!({"channel": "C0INCIDENTS", "ts": ts, "text": "status: resolved"}),
    ));
    assert_eq!(
        (&r["ts"], &r["text"]),
        (&json!(ts), &json!("status: resolved"))
    );
    assert_eq!(r["message"]["edited"]["user"], "U0SOPILOT");
    let m = s.messages("C0INCIDENTS").pop().unwrap();
    assert!(m.edited);
    assert!(m.blocks.is_some(), "blocks left out are kept");
    ok(post_json(
        &s,
        "chat.update",
        json!({"channel": "C0INCIDENTS", "ts": ts, "blocks": []}),
    ));
    let m = s.messages("C0INCIDENTS").pop().unwrap();
    assert_eq!((m.text.as_str(), m.blocks), ("status: resolved", None));
    let alice = &s.messages("C0INCIDENTS")[0].ts;
    let cases = [
        (
            json!({"channel": "C0INCIDENTS", "ts": "1.000001", "text": "x"}),
            "message_not_found",
        ),
        (
            json!({"channel": "C0INCIDENTS", "ts": "garbage", "text": "x"}),
            "message_not_found",
        ),
        (
            json!({"channel": "C0INCIDENTS", "ts": alice, "text": "x"}),
            "cant_update_message",
        ),
        (json!({"channel": "C0INCIDENTS", "ts": ts}), "no_text"),
        (
            json!({"channel": "incidents", "ts": ts, "text": "x"}),
            "channel_not_found",
        ),
        (
            json!({"channel": "C0RANDOM", "ts": ts, "text": "x"}),
            "not_in_channel",
        ),
    ];
    for (body, code) in cases {
        assert_eq!(
            err(post_json(&s, "chat.update", body.clone())),
            code,
            "{body}"
        );
    }
}

#[test]
fn threads_summarise_on_the_parent_and_stay_out_of_history() {
    let s = state(WORKSPACE);
    let parent = s.messages("C0INCIDENTS")[0].ts.clone();
    let reply = ok(post_json(
        &s,
        "chat.postMessage",
        json!({"channel": "C0INCIDENTS", "text": "restarting", "thread_ts": parent}),
    ));
    assert_eq!(reply["message"]["thread_ts"], json!(parent));
    assert_eq!(reply["message"]["parent_user_id"], "U0ALICE");
    // A reply to a reply joins the parent's thread.
    let nested = ok(post_json(
        &s,
        "chat.postMessage",
        json!({"channel": "C0INCIDENTS", "text": "done", "thread_ts": reply["ts"]}),
    ));
    assert_eq!(nested["message"]["thread_ts"], json!(parent));
    let history = ok(get(
        &s,
        "conversations.history",
        &[("channel", "C0INCIDENTS")],
    ));
    let msgs = history["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "replies are not in history: {history}");
    assert_eq!(history["has_more"], false);
    assert!(history.get("response_metadata").is_none());
    let top = &msgs[1];
    assert_eq!(top["text"], "payment-service is paging");
    assert_eq!(top["reply_count"], 3);
    assert_eq!(top["reply_users"], json!(["U0BOB", "U0SOPILOT"]));
    assert_eq!(top["reply_users_count"], 2);
    assert_eq!(top["latest_reply"], nested["ts"]);
    assert_eq!(
        top["reactions"],
        json!([{"name": "eyes", "users": ["U0BOB"], "count": 1}])
    );
    let thread = ok(get(
        &s,
        "conversations.replies",
        &[
            ("channel", "C0INCIDENTS"),
            ("ts", reply["ts"].as_str().unwrap()),
        ],
    ));
    let texts: Vec<&str> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["payment-service is paging", "looking", "restarting", "done"]
    );
    let broadcast = ok(post_json(
        &s,
        "chat.postMessage",
        json!({"channel": "C0INCIDENTS", "text": "resolved", "thread_ts": parent, "reply_broadcast": true}),
    ));
    let history = ok(get(
        &s,
        "conversations.history",
        &[("channel", "C0INCIDENTS")],
    ));
    assert_eq!(history["messages"][0]["ts"], broadcast["ts"]);
    assert_eq!(history["messages"][0]["subtype"], "thread_broadcast");
    assert_eq!(
        err(get(
            &s,
            "conversations.replies",
            &[("channel", "C0INCIDENTS"), ("ts", "1.000001")]
        )),
        "thread_not_found"
    );
}

/// Pages through a method until the cursor runs out, returning every item's key.
fn all_pages(
    s: &SlackState,
    method: &str,
    args: &[(&str, &str)],
    list: &str,
    key: &str,
) -> (Vec<String>, usize) {
    let mut cursor = String::new();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let mut a: Vec<(&str, &str)> = args.to_vec();
        if !cursor.is_empty() {
            a.push(("cursor", &cursor));
        }
        let body = ok(get(s, method, &a));
        pages += 1;
        for item in body[list].as_array().unwrap() {
            seen.push(item[key].as_str().unwrap().to_owned());
        }
        let next = body["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        if method == "conversations.history" {
            assert_eq!(body["has_more"], !next.is_empty());
        }
        if next.is_empty() {
            return (seen, pages);
        }
        assert!(pages < 50, "pagination does not end");
        cursor = next;
    }
}

#[test]
fn cursor_pagination_covers_everything_once() {
    let s = state(WORKSPACE);
    let parent = s.messages("C0INCIDENTS")[0].ts.clone();
    for i in 0..7 {
        ok(post_json(
            &s,
            "chat.postMessage",
            json!({"channel": "C0INCIDENTS", "text": format!("m{i}")}),
        ));
        ok(post_json(
            &s,
            "chat.postMessage",
            json!({"channel": "C0INCIDENTS", "text": format!("r{i}"), "thread_ts": parent}),
        ));
    }
    let (history, pages) = all_pages(
        &s,
        "conversations.history",
        &[("channel", "C0INCIDENTS"), ("limit", "2")],
        "messages",
        "text",
    );
    assert_eq!(pages, 5);
    let mut want: Vec<String> = (0..7).rev().map(|i| format!("m{i}")).collect();
    want.extend([
        "p99 latency 4s".to_owned(),
        "payment-service is paging".to_owned(),
    ]);
    assert_eq!(history, want, "newest first, each once");
    let (thread, pages) = all_pages(
        &s,
        "conversations.replies",
        &[("channel", "C0INCIDENTS"), ("ts", &parent), ("limit", "3")],
        "messages",
        "text",
    );
    assert_eq!(pages, 3);
    assert_eq!(thread.len(), 9);
    assert_eq!(thread[0], "payment-service is paging");
    assert_eq!(thread[8], "r6");
    // Slack may answer with fewer than `limit`; clients must follow the cursor.
    s.set_max_page_size(Some(4));
    let (capped, pages) = all_pages(
        &s,
        "conversations.history",
        &[("channel", "C0INCIDENTS"), ("limit", "100")],
        "messages",
        "text",
    );
    assert_eq!((capped, pages), (want.clone(), 3));
    s.set_max_page_size(None);
    let (channels, _) = all_pages(
        &s,
        "conversations.list",
        &[("limit", "1"), ("types", "public_channel,private_channel")],
        "channels",
        "name",
    );
    assert_eq!(
        channels,
        ["incidents", "random", "old-incidents"],
        "private channels the bot is not in stay hidden"
    );
    let (channels, _) = all_pages(
        &s,
        "conversations.list",
        &[("exclude_archived", "true")],
        "channels",
        "name",
    );
    assert_eq!(channels, ["incidents", "random"]);
    assert_eq!(
        err(get(
            &s,
            "conversations.history",
            &[("channel", "C0INCIDENTS"), ("cursor", "bm9wZQ==")]
        )),
        "invalid_cursor"
    );
    assert_eq!(
        err(get(
            &s,
            "conversations.history",
            &[("channel", "C0INCIDENTS"), ("limit", "ten")]
        )),
        "invalid_limit"
    );
    // oldest/latest windows.
    let msgs = s.messages("C0INCIDENTS");
    let r = ok(get(
        &s,
        "conversations.history",
        &[("channel", "C0INCIDENTS"), ("oldest", &msgs[0].ts)],
    ));
    assert_eq!(
        r["messages"].as_array().unwrap().len(),
        8,
        "oldest is exclusive"
    );
    let r = ok(get(
        &s,
        "conversations.history",
        &[
            ("channel", "C0INCIDENTS"),
            ("oldest", &msgs[0].ts),
            ("inclusive", "true"),
        ],
    ));
    assert_eq!(r["messages"].as_array().unwrap().len(), 9);
}

#[test]
fn throttling_answers_429_with_retry_after() {
    let s = state(WORKSPACE);
    s.throttle(2, 3);
    for _ in 0..2 {
        let r = post_json(
            &s,
            "chat.postMessage",
            json!({"channel": "C0INCIDENTS", "text": "x"}),
        );
        assert_eq!((r.status, r.retry_after), (429, Some(3)));
        assert_eq!(r.body, json!({"ok": false, "error": "ratelimited"}));
    }
    ok(post_json(
        &s,
        "chat.postMessage",
        json!({"channel": "C0INCIDENTS", "text": "x"}),
    ));
    assert_eq!(
        s.messages("C0INCIDENTS").len(),
        4,
        "throttled posts store nothing"
    );
    let statuses: Vec<u16> = s.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 200]);
    s.set_rate_limit(RateLimit {
        calls: 1,
        retry_after_seconds: 0,
        method: Some("chat.postMessage".into()),
    });
    ok(get(&s, "auth.test", &[]));
    assert_eq!(
        post_json(
            &s,
            "chat.postMessage",
            json!({"channel": "C0INCIDENTS", "text": "x"})
        )
        .status,
        429
    );
    ok(post_json(
        &s,
        "chat.postMessage",
        json!({"channel": "C0INCIDENTS", "text": "x"}),
    ));
    // Unauthenticated calls are refused before the limit counts them.
    s.throttle(1, 1);
    let r = s.handle(&RawRequest {
        http_method: "GET",
        method: "auth.test",
        ..RawRequest::default()
    });
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (200, Some("not_authed"))
    );
    assert_eq!(get(&s, "auth.test", &[]).status, 429);
}

#[test]
fn reactions_users_ephemeral_and_info() {
    let s = state(WORKSPACE);
    let ts = s.messages("C0INCIDENTS")[2].ts.clone();
    ok(post_json(
        &s,
        "reactions.add",
        json!({"channel": "C0INCIDENTS", "timestamp": ts, "name": "white_check_mark"}),
    ));
    assert_eq!(
        err(post_json(
            &s,
            "reactions.add",
            json!({"channel": "C0INCIDENTS", "timestamp": ts, "name": "white_check_mark"})
        )),
        "already_reacted"
    );
    assert_eq!(
        err(post_json(
            &s,
            "reactions.add",
            json!({"channel": "C0INCIDENTS", "timestamp": ts, "name": ":eyes:"})
        )),
        "invalid_name"
    );
    assert_eq!(
        err(post_json(
            &s,
            "reactions.add",
            json!({"channel": "C0INCIDENTS", "timestamp": "2.000000", "name": "eyes"})
        )),
        "message_not_found"
    );
    let m = &s.messages("C0INCIDENTS")[2];
    assert_eq!(
        m.reactions,
        [("white_check_mark".to_owned(), vec!["U0SOPILOT".to_owned()])]
    );
    let u = ok(get(&s, "users.info", &[("user", "U0ALICE")]));
    assert_eq!(
        (
            &u["user"]["name"],
            &u["user"]["real_name"],
            &u["user"]["is_bot"]
        ),
        (&json!("alice"), &json!("Alice Ng"), &json!(false))
    );
    assert_eq!(
        err(get(&s, "users.info", &[("user", "U0NOBODY")])),
        "user_not_found"
    );
    let e = ok(post_json(
        &s,
        "chat.postEphemeral",
        json!({"channel": "C0INCIDENTS", "user": "U0ALICE", "text": "approve?"}),
    ));
    assert!(e["message_ts"].is_string());
    assert_eq!(s.ephemeral()[0].user, "U0ALICE");
    assert_eq!(
        s.messages("C0INCIDENTS").len(),
        3,
        "ephemeral messages are not in the channel"
    );
    assert_eq!(
        err(post_json(
            &s,
            "chat.postEphemeral",
            json!({"channel": "C0INCIDENTS", "user": "U0NOBODY", "text": "x"})
        )),
        "user_not_found"
    );
    let info = ok(get(&s, "conversations.info", &[("channel", "C0RANDOM")]));
    assert_eq!(
        (&info["channel"]["name"], &info["channel"]["is_member"]),
        (&json!("random"), &json!(false))
    );
    assert_eq!(
        err(get(&s, "conversations.info", &[("channel", "G0SECRET")])),
        "channel_not_found"
    );
    assert_eq!(
        err(get(&s, "conversations.history", &[("channel", "C0RANDOM")])),
        "not_in_channel"
    );
}

#[test]
fn people_can_answer_in_threads() {
    let s = state(WORKSPACE);
    let posted = ok(post_json(
        &s,
        "chat.postMessage",
        json!({"channel": "C0INCIDENTS", "text": "approve rollback?"}),
    ));
    let ts = posted["ts"].as_str().unwrap();
    let reply = s
        .post_as("#incidents", "U0ALICE", "approved", Some(ts))
        .unwrap();
    let thread = ok(get(
        &s,
        "conversations.replies",
        &[("channel", "C0INCIDENTS"), ("ts", ts)],
    ));
    assert_eq!(thread["messages"][1]["ts"], json!(reply));
    assert_eq!(thread["messages"][1]["user"], "U0ALICE");
    assert!(s.post_as("#incidents", "U0NOBODY", "x", None).is_none());
    assert!(s.post_as("#nope", "U0ALICE", "x", None).is_none());
    let recorded: Vec<Value> = s.requests().iter().map(|r| json!(r.method)).collect();
    assert_eq!(
        recorded,
        [json!("chat.postMessage"), json!("conversations.replies")]
    );
}

#[test]
fn usergroups_list_their_members() {
    let s = state(
        "users:\n  - {id: U0ALICE, name: alice}\n  - {id: U0BOB, name: bob}\nusergroups:\n  - {id: S0ONCALL, users: [U0ALICE]}\n  - {id: S0EMPTY}\n",
    );
    let r = ok(get(
        &s,
        "usergroups.users.list",
        &[("usergroup", "S0ONCALL")],
    ));
    assert_eq!(r["users"], json!(["U0ALICE"]));
    let r = ok(get(
        &s,
        "usergroups.users.list",
        &[("usergroup", "S0EMPTY")],
    ));
    assert_eq!(r["users"], json!([]));
    assert_eq!(
        err(get(&s, "usergroups.users.list", &[("usergroup", "S0NOPE")])),
        "no_such_subteam"
    );
    assert_eq!(
        err(get(&s, "usergroups.users.list", &[])),
        "invalid_arguments"
    );
    assert_eq!(
        common::seed_error("usergroups:\n  - {id: S0X, users: [U0NOBODY]}\n"),
        "slack.usergroups[0].users[0]: unknown user \"U0NOBODY\"; declare it under slack.users (known: U0SOPILOT)"
    );
}
