//! Seeding from the scenario's `slack` section: defaults, relative times, and errors that
//! name the field.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use chrono::{DateTime, Utc};
use common::{WORKSPACE, seed_error, state};
use serde_json::json;
use sopilot_sim_slack::{DEFAULT_TOKEN, SlackState};

#[test]
fn no_section_means_an_incidents_channel_with_the_bot() {
    let s = SlackState::from_section(None).unwrap();
    assert_eq!(s.token(), DEFAULT_TOKEN);
    assert_eq!(s.bot_user_id(), "U0SOPILOT");
    assert_eq!(s.channel_id("#incidents").as_deref(), Some("C0INCIDENTS"));
    let empty = SlackState::from_section(Some(&json!({"channels": []}))).unwrap();
    assert_eq!(empty.channel_id("incidents"), None);
}

#[test]
fn relative_times_count_from_the_start() {
    let now: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
    let section = sopilot_yaml::parse(WORKSPACE).unwrap().to_json();
    let s = SlackState::from_section_at(Some(&section), now).unwrap();
    let stamps: Vec<String> = s.messages("incidents").into_iter().map(|m| m.ts).collect();
    let start = now.timestamp();
    assert_eq!(
        stamps,
        [
            format!("{}.000000", start - 600),
            format!("{}.000000", start - 540),
            format!("{}.000000", start - 300)
        ]
    );
    let same = state(
        "channels: [{id: C1, name: a, messages: [{text: one, at: -1m}, {text: two, at: -1m}, {text: three, ts: '1700000000.5'}]}]",
    );
    let m = same.messages("a");
    assert_eq!(m[0].ts, "1700000000.500000");
    let (a, b) = (&m[1].ts, &m[2].ts);
    assert!(
        a < b,
        "same time keeps file order and stays unique: {a} {b}"
    );
    assert_eq!(
        (
            m[1].text.as_str(),
            m[1].user.as_str(),
            m[1].bot_id.as_deref()
        ),
        ("one", "U0SOPILOT", Some("B0SOPILOT"))
    );
}

#[test]
fn custom_team_bot_tokens_and_rate_limit() {
    let s = state(
        "team: {id: T1, name: acme}\nbot: {user_id: U1BOT, name: pilot}\ntokens: [xoxb-a-token-1111, xoxb-b-token-2222]\nrate_limit: {next: 1, retry_after: 7}\nmax_page_size: 1\nchannels: [{id: C1, name: ops}, {id: C2, name: dev}]",
    );
    assert_eq!(s.token(), "xoxb-a-token-1111");
    let r = common::get(&s, "auth.test", &[]);
    assert_eq!((r.status, r.retry_after), (429, Some(7)));
    let auth = "Bearer xoxb-b-token-2222";
    let r = s.handle(&sopilot_sim_slack::RawRequest {
        http_method: "GET",
        method: "auth.test",
        authorization: Some(auth),
        ..Default::default()
    });
    assert_eq!(
        (&r.body["team"], &r.body["user_id"], &r.body["url"]),
        (
            &json!("acme"),
            &json!("U1BOT"),
            &json!("https://acme.slack.com/")
        )
    );
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (
            "channels: [{id: C1}]",
            "slack.channels[0]: missing field `name`",
        ),
        (
            "channels: [{id: C1, name: a, colour: red}]",
            "slack.channels[0].colour: unknown field `colour`, expected one of `id`, `name`",
        ),
        (
            "channels: [{id: C1, name: a, members: [3]}]",
            "slack.channels[0].members[0]: invalid type: integer `3`, expected a string",
        ),
        (
            "channels: [{id: c-1, name: a}]",
            "slack.channels[0].id: \"c-1\" is not a Slack id",
        ),
        (
            "channels: [{id: C1, name: Incidents}]",
            "slack.channels[0].name: \"Incidents\" is not a Slack channel name",
        ),
        (
            "channels: [{id: C1, name: a}, {id: C2, name: a}]",
            "slack.channels[1]: channel C2 (#a) repeats",
        ),
        (
            "channels: [{id: C1, name: a, members: [U0NOBODY]}]",
            "slack.channels[0].members[0]: unknown user \"U0NOBODY\"; declare it under slack.users (known: U0SOPILOT)",
        ),
        (
            "channels: [{id: C1, name: a, messages: [{text: x, at: -5x}]}]",
            "slack.channels[0].messages[0].at: \"-5x\" is not a time",
        ),
        (
            "channels: [{id: C1, name: a, messages: [{text: x, ts: yesterday}]}]",
            "slack.channels[0].messages[0].ts: \"yesterday\" is not a Slack ts",
        ),
        (
            "channels: [{id: C1, name: a, messages: [{text: ''}]}]",
            "slack.channels[0].messages[0].text: a message needs text or blocks",
        ),
        (
            "channels: [{id: C1, name: a, messages: [{text: x, blocks: [{type: nope}]}]}]",
            "slack.channels[0].messages[0].blocks: [ERROR] unknown block type `nope`",
        ),
        (
            "channels: [{id: C1, name: a, messages: [{text: x, at: -1m, replies: [{text: y, at: -2m}]}]}]",
            "slack.channels[0].messages[0].replies[0]: a reply must come after its parent",
        ),
        (
            "channels: [{id: C1, name: a, messages: [{text: x, replies: [{text: y, at: +1s, replies: [{text: z}]}]}]}]",
            "slack.channels[0].messages[0].replies[0].replies: a reply cannot have replies",
        ),
        (
            "channels: [{id: C1, name: a, messages: [{text: x, reactions: {eyes: [U9]}}]}]",
            "slack.channels[0].messages[0].reactions.eyes[0]: unknown user",
        ),
        ("tokens: []", "slack.tokens: give at least one token"),
        ("tokens: ['a b']", "slack.tokens[0]: a token is one word"),
        (
            "users: [{id: U0SOPILOT, name: me}]",
            "slack.users[0].id: user U0SOPILOT is listed twice",
        ),
        (
            "rate_limit: {next: 1, method: chat.delete}",
            "slack.rate_limit.method: unknown method \"chat.delete\"; one of: auth.test, chat.postMessage",
        ),
        (
            "rate_limit: {next: -1}",
            "slack.rate_limit.next: invalid value: integer `-1`",
        ),
        (
            "channel: []",
            "slack.channel: unknown field `channel`, expected one of `team`, `bot`",
        ),
        ("[1, 2]", "slack: must be a mapping with channels"),
        ("channels: [[C1, a]]", "slack.channels[0]: invalid length"),
    ];
    let mut wrong = Vec::new();
    for (yaml, want) in cases {
        let got = seed_error(yaml);
        if !got.starts_with(want) {
            wrong.push(format!("{yaml}\n  got:  {got}\n  want: {want}..."));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_documented_example_seeds() {
    let doc_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/scenarios-slack.md");
    let doc = std::fs::read_to_string(doc_path).unwrap();
    let start = doc.find("```yaml\n").expect("a yaml example") + "```yaml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let scenario = sopilot_yaml::parse(&doc[start..end]).unwrap().to_json();
    let s = SlackState::from_section(scenario.get("slack")).unwrap();
    assert_eq!(s.channel_id("#war-room").as_deref(), Some("C0WARROOM"));
    assert_eq!(s.messages("incidents").len(), 3);
    let r = common::get(&s, "auth.test", &[]);
    assert_eq!(r.status, 200, "the rate limit counts chat.postMessage only");
    let r = common::post_json(
        &s,
        "chat.postMessage",
        json!({"channel": "incidents", "text": "x"}),
    );
    assert_eq!((r.status, r.retry_after), (429, Some(1)));
}
