//! Helpers of the Slack tests: the simulated Kubernetes API and Slack, the `sopilot serve`
//! process with its Slack bot, requests signed as Slack signs them, and waiting for what Slack
//! or the API shows. Test crates using it also declare `mod support;` (the shared serve
//! helpers it builds on).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use sopilot_sim_env::{RunningSim, Scenario, SimOptions};
use sopilot_sim_slack::{Message, SlackState};

pub use crate::support::{AM_TOKEN, Server, TOKEN, http, repo};

pub const SECRET: &str = "slack-signing-secret-for-tests";
pub const POD: &str = "payment-service-7d8f9c6b5-x2k9p";

pub struct Env {
    pub sim: RunningSim,
    pub slack: SlackState,
    pub slack_url: String,
}

pub async fn env() -> Env {
    let scenario =
        Scenario::from_file(repo().join("tests/scenarios/payment-incident.yaml")).unwrap();
    let sim = sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .unwrap();
    let slack = SlackState::from_section(Some(&json!({
        "users": [{"id": "U0ALICE", "name": "alice"}, {"id": "U0BOB", "name": "bob"},
                  {"id": "U0CAROL", "name": "carol"}],
        "usergroups": [{"id": "S0ONCALL", "users": ["U0CAROL"]}],
        "channels": [{"id": "C0INCIDENTS", "name": "incidents",
                      "members": ["U0SOPILOT", "U0ALICE", "U0BOB", "U0CAROL"]},
                     {"id": "C0RANDOM", "name": "random",
                      "members": ["U0SOPILOT", "U0ALICE", "U0BOB", "U0CAROL"]}],
    })))
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = sopilot_sim_slack::router(slack.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Env {
        sim,
        slack,
        slack_url: format!("http://{addr}/api/"),
    }
}

pub async fn start_server(env: &Env, dir: &Path) -> Server {
    start_server_with(env, dir, "").await
}

/// [`start_server`] with `serve_extra` appended to the `serve:` section (indented two spaces
/// by the caller).
pub async fn start_server_with(env: &Env, dir: &Path, serve_extra: &str) -> Server {
    let script = dir.join("script.yaml");
    // The model restarts nothing but raises the HPA (an escalation), and routes one free-text
    // request from Slack.
    std::fs::write(&script, format!("turns:\n  - when: {{contains: \"Step 3: Restart\"}}\n    calls:\n      - kubectl.patch_hpa: {{namespace: payment, name: payment-service-hpa, max_replicas: 20}}\n  - when: {{contains: [Route this Slack request, payment pods keep restarting]}}\n    calls:\n      - sopilot.choose_sop: {{sop: pod-crashloop, params: {{namespace: payment, pod: {POD}}}}}\n")).unwrap();
    let config = dir.join("sopilot.yaml");
    std::fs::write(
        &config,
        format!(
            "store: {}\napproval_timeout: 2m\nserve:\n  listen: 127.0.0.1:0\n  model: scripted:{}\n  slack:\n    channel: \"#incidents\"\n    approvers: [U0ALICE, S0ONCALL]\n    status_interval: 1s\n{serve_extra}",
            dir.join("db").display(),
            script.display()
        ),
    )
    .unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
    cmd.current_dir(repo())
        .env("KUBECONFIG", env.sim.kubeconfig())
        .env("SOPILOT_API_TOKEN", TOKEN)
        .env("SOPILOT_ALERTMANAGER_TOKEN", AM_TOKEN)
        .env("SLACK_SIGNING_SECRET", SECRET)
        .env("SLACK_BOT_TOKEN", env.slack.token())
        .env("SLACK_API_URL", &env.slack_url)
        .env("RUST_LOG", "info")
        .args(["serve", "--config"])
        .arg(&config);
    crate::support::spawn(cmd).await
}

/// Posts `body` to `path`, signed as Slack signs.
pub async fn signed(server: &Server, path: &str, body: String, content_type: &str) -> (u16, Value) {
    signed_at(server, path, body, content_type, now(), false).await
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// As [`signed`], dated `ts`; `retry` marks a redelivery as Slack does.
pub async fn signed_at(
    server: &Server,
    path: &str,
    body: String,
    content_type: &str,
    ts: i64,
    retry: bool,
) -> (u16, Value) {
    let ts = ts.to_string();
    let sig = sopilot_server::slack::verify::signature(SECRET.as_bytes(), &ts, body.as_bytes());
    let r = http()
        .post(format!("{}{path}", server.url))
        .header("content-type", content_type)
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", sig)
        .header(
            if retry {
                "x-slack-retry-num"
            } else {
                "x-sopilot-test"
            },
            "1",
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A press of a button of an approval message in #incidents, by `user`.
pub async fn press(server: &Server, user: &str, action: &str, message: &Message) -> (u16, Value) {
    press_in(server, user, action, "C0INCIDENTS", message).await
}

/// A press of a button of `message` in channel `channel_id`, by `user`: Slack's payload
/// names the message the button is on.
pub async fn press_in(
    server: &Server,
    user: &str,
    action: &str,
    channel_id: &str,
    message: &Message,
) -> (u16, Value) {
    let id = approval_id(message);
    let payload = json!({
        "type": "block_actions", "user": {"id": user, "username": user},
        "team": {"id": "T0SOPILOT"}, "channel": {"id": channel_id},
        "container": {"type": "message", "message_ts": message.ts, "channel_id": channel_id},
        "message": {"ts": message.ts, "thread_ts": message.thread_ts},
        "actions": [{"action_id": action, "block_id": "sopilot_approval", "value": id,
                     "type": "button"}],
    });
    let body = format!("payload={}", url_encode(&payload.to_string()));
    signed(
        server,
        "/slack/interactions",
        body,
        "application/x-www-form-urlencoded",
    )
    .await
}

pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn alert() -> Value {
    json!({"version": "4", "groupKey": format!("{{}}:{{alertname=\"KubePodCrashLooping\", pod=\"{POD}\"}}"), "status": "firing",
        "receiver": "sopilot", "groupLabels": {"alertname": "KubePodCrashLooping"},
        "commonLabels": {"alertname": "KubePodCrashLooping", "namespace": "payment", "pod": POD},
        "alerts": [{"status": "firing", "labels": {"alertname": "KubePodCrashLooping", "namespace": "payment", "pod": POD}, "fingerprint": "f1"}]})
}

pub async fn start_alert(server: &Server) -> String {
    let r: Value = http()
        .post(format!("{}/hooks/alertmanager", server.url))
        .bearer_auth(AM_TOKEN)
        .json(&alert())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "started", "{r}");
    r["run_id"].as_str().unwrap().to_owned()
}

pub fn has_block(m: &Message, kind: &str) -> bool {
    m.blocks
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|b| b.iter().any(|b| b["type"] == kind))
}

pub fn approval_id(m: &Message) -> String {
    let blocks = m.blocks.as_ref().unwrap().as_array().unwrap();
    let actions = blocks.iter().find(|b| b["type"] == "actions").unwrap();
    actions["elements"][0]["value"].as_str().unwrap().to_owned()
}

pub fn is_status(m: &Message) -> bool {
    m.blocks
        .as_ref()
        .is_some_and(|b| b[0]["block_id"] == "sopilot_status")
}

pub async fn wait_slack<F: Fn(&[Message]) -> bool>(
    slack: &SlackState,
    what: &str,
    ok: F,
) -> Vec<Message> {
    for _ in 0..300 {
        let msgs = slack.messages("#incidents");
        if ok(&msgs) {
            return msgs;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "timed out waiting for {what}: {:#?}",
        slack.messages("#incidents")
    )
}

pub async fn api(server: &Server, path: &str) -> Value {
    http()
        .get(format!("{}{path}", server.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub async fn wait_api<F: Fn(&Value) -> bool>(
    server: &Server,
    path: &str,
    what: &str,
    ok: F,
) -> Value {
    for _ in 0..300 {
        let v = api(server, path).await;
        if ok(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}")
}

pub fn hpa_max(sim: &RunningSim) -> Value {
    sim.get(
        "HorizontalPodAutoscaler",
        Some("payment"),
        "payment-service-hpa",
    )
    .unwrap()
    .pointer("/spec/maxReplicas")
    .cloned()
    .unwrap()
}

/// The path every trigger shares once its run is under way: the run's status message opens a
/// thread, its escalation (raising the HPA's maximum) becomes buttons there, an approver's
/// press executes it, and the report lands in the thread. Returns the finished run.
pub async fn approve_in_thread(env: &Env, server: &Server, run_id: &str) -> Value {
    let before = hpa_max(&env.sim);
    let msgs = wait_slack(&env.slack, "the approval buttons", |m| {
        m.iter().any(|m| has_block(m, "actions"))
    })
    .await;
    let status = msgs
        .iter()
        .find(|m| is_status(m))
        .expect("a status message");
    assert!(status.text.contains(run_id), "{status:?}");
    let buttons = msgs.iter().find(|m| has_block(m, "actions")).unwrap();
    assert_eq!(buttons.thread_ts.as_deref(), Some(status.ts.as_str()));
    assert_eq!(
        hpa_max(&env.sim),
        before,
        "nothing runs before the approval"
    );

    let (code, body) = press(server, "U0ALICE", "sopilot_approve", buttons).await;
    assert_eq!((code, &body["status"]), (200, &json!("accepted")), "{body}");
    let done = wait_api(
        server,
        &format!("/api/runs/{run_id}"),
        "the run to end",
        |v| v["run"]["status"] != "running",
    )
    .await;
    let call = done["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["tool"] == "kubectl.patch_hpa")
        .unwrap();
    assert_eq!(
        (&call["executed"], &call["decision"]),
        (&json!(true), &json!("escalate")),
        "{done:#}"
    );
    assert_eq!(hpa_max(&env.sim), json!(20));
    let msgs = wait_slack(&env.slack, "the report", |m| {
        m.iter().any(|m| has_block(m, "header"))
    })
    .await;
    let report = msgs.iter().find(|m| has_block(m, "header")).unwrap();
    assert_eq!(report.thread_ts.as_deref(), Some(status.ts.as_str()));
    let blocks = report.blocks.as_ref().unwrap().to_string();
    assert!(blocks.contains("SOPilot report: pod-crashloop"), "{blocks}");
    done
}

/// Posts, with the bot's token as the Slack tool (mcp-slack) would, a message whose buttons
/// look like SOPilot's for approval `id` but whose text says something else; returns it.
pub async fn forge_approval(
    env: &Env,
    channel: &str,
    id: &str,
    thread_ts: Option<&str>,
) -> Message {
    let blocks = json!([
        {"type": "section", "text": {"type": "mrkdwn",
         "text": ":warning: *Approval needed* — restart 1 pod of payment-service (harmless)"}},
        {"type": "actions", "block_id": "sopilot_approval", "elements": [
            {"type": "button", "action_id": "sopilot_approve", "style": "primary", "value": id,
             "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": "sopilot_deny", "style": "danger", "value": id,
             "text": {"type": "plain_text", "text": "Deny"}}]},
    ]);
    let mut body =
        json!({"channel": channel, "text": "Approval needed: restart 1 pod", "blocks": blocks});
    if let Some(t) = thread_ts {
        body["thread_ts"] = json!(t);
    }
    let r: Value = http()
        .post(format!("{}chat.postMessage", env.slack_url))
        .bearer_auth(env.slack.token())
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["ok"], true, "{r}");
    let ts = r["ts"].as_str().unwrap();
    env.slack
        .messages(channel)
        .into_iter()
        .find(|m| m.ts == ts)
        .unwrap()
}

/// The ephemeral messages shown to `user` so far, once there are at least `n`.
pub async fn ephemeral_for(env: &Env, user: &str, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let mine: Vec<String> = env
            .slack
            .ephemeral()
            .into_iter()
            .filter(|e| e.user == user)
            .map(|e| e.text)
            .collect();
        if mine.len() >= n {
            return mine;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {n} ephemeral messages to {user}")
}

/// `/sopilot TEXT` as `user` in #incidents; the ephemeral answer's text.
pub async fn command(server: &Server, user: &str, text: &str) -> String {
    let body = format!(
        "command=%2Fsopilot&user_id={user}&channel_id=C0INCIDENTS&text={}",
        url_encode(text)
    );
    let (code, v) = signed(
        server,
        "/slack/commands",
        body,
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["response_type"], "ephemeral");
    v["text"].as_str().unwrap().to_owned()
}
