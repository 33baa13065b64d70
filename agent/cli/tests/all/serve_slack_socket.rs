//! `sopilot serve`'s Slack bot in Socket Mode, end to end on the simulated Slack: no signing
//! secret and no `/slack/*` route used (they answer 404); the bot opens the WebSocket with
//! the app-level token, and mentions, `/sopilot` and Approve/Deny presses arrive as
//! envelopes. A mention starts a run, a command is answered in its acknowledgement, an
//! escalation's button pressed by a non-approver changes nothing and by an approver
//! executes the call. The bot comes back after a `refresh_requested` disconnect and after
//! its socket is cut, and an event whose acknowledgement was lost is delivered again but
//! acted on once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::slack_support;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use slack_support::*;
use sopilot_sim_slack::{Message, SlackState};

/// `sopilot serve` with the Slack bot in Socket Mode: `SLACK_APP_TOKEN`, no signing secret.
async fn start_socket_server(env: &Env, dir: &Path) -> Server {
    let script = dir.join("script.yaml");
    std::fs::write(
        &script,
        "turns:\n  - when: {contains: \"Step 3: Restart\"}\n    calls:\n      - kubectl.patch_hpa: {namespace: payment, name: payment-service-hpa, max_replicas: 20}\n",
    )
    .unwrap();
    let config = dir.join("sopilot.yaml");
    std::fs::write(
        &config,
        format!(
            "store: {}\napproval_timeout: 2m\nserve:\n  listen: 127.0.0.1:0\n  model: scripted:{}\n  slack:\n    channel: \"#incidents\"\n    approvers: [U0ALICE]\n    status_interval: 1s\n    socket_mode: true\n",
            dir.join("db").display(),
            script.display()
        ),
    )
    .unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
    cmd.current_dir(repo())
        .env("KUBECONFIG", env.sim.kubeconfig())
        .env("SOPILOT_API_TOKEN", TOKEN)
        .env_remove("SLACK_SIGNING_SECRET")
        .env("SLACK_APP_TOKEN", env.slack.app_token())
        .env("SLACK_BOT_TOKEN", env.slack.token())
        .env("SLACK_API_URL", &env.slack_url)
        .env("RUST_LOG", "info")
        .args(["serve", "--config"])
        .arg(&config);
    let server = crate::support::spawn(cmd).await;
    wait_connects(&env.slack, 1).await;
    server
}

/// Waits until `n` sockets were opened and one is open.
async fn wait_connects(slack: &SlackState, n: u64) {
    for _ in 0..200 {
        if slack.socket_connects() >= n && slack.socket_connections() >= 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the bot opened {} sockets, {} open; expected {n}",
        slack.socket_connects(),
        slack.socket_connections()
    )
}

/// The acknowledgement of `envelope` (within 5 s: Slack's 3 s and some slack).
async fn acked(slack: &SlackState, envelope: &str) -> Option<Value> {
    let ack = slack.socket_ack(envelope, Duration::from_secs(5)).await;
    ack.expect("the envelope is acknowledged").payload
}

/// `/sopilot TEXT` by `user` over Socket Mode; the answer its acknowledgement carries.
async fn socket_command(slack: &SlackState, user: &str, text: &str) -> String {
    let id = slack.socket_command("C0INCIDENTS", user, "/sopilot", text);
    let answer = acked(slack, &id).await.expect("an answer in the ack");
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    answer["text"].as_str().unwrap().to_owned()
}

/// A press of `action` on the buttons of `message` in #incidents by `user`, over Socket Mode.
async fn socket_press(slack: &SlackState, user: &str, action: &str, message: &Message) {
    let payload = json!({
        "type": "block_actions", "user": {"id": user, "username": user},
        "team": {"id": "T0SOPILOT"}, "channel": {"id": "C0INCIDENTS"},
        "container": {"type": "message", "message_ts": message.ts, "channel_id": "C0INCIDENTS"},
        "message": {"ts": message.ts, "thread_ts": message.thread_ts},
        "actions": [{"action_id": action, "block_id": "sopilot_approval",
                     "value": approval_id(message), "type": "button"}],
    });
    let id = slack.socket_interaction(payload);
    assert_eq!(acked(slack, &id).await, None, "an empty acknowledgement");
}

fn socket_lines(server: &Server) -> Vec<String> {
    server
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("Socket Mode"))
        .cloned()
        .collect()
}

#[tokio::test]
async fn mention_command_and_approval_over_socket_mode() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start_socket_server(&env, dir.path()).await;

    // Nothing comes over HTTP in Socket Mode.
    let r = http()
        .post(format!("{}/slack/events", server.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("Socket Mode"));

    // `/sopilot help` is answered in the acknowledgement.
    let help = socket_command(&env.slack, "U0BOB", "help").await;
    assert!(help.contains("`pod-crashloop`"), "{help}");

    // A mention starts a run; its status opens in the mention's thread.
    let text = format!("<@U0SOPILOT> run pod-crashloop namespace=payment pod={POD}");
    let (envelope, ts) = env
        .slack
        .socket_mention("#incidents", "U0ALICE", &text, None)
        .unwrap();
    assert_eq!(acked(&env.slack, &envelope).await, None);
    let msgs = wait_slack(&env.slack, "the approval buttons", |m| {
        m.iter().any(|m| has_block(m, "actions"))
    })
    .await;
    let status = msgs
        .iter()
        .find(|m| is_status(m))
        .expect("a status message");
    assert_eq!(status.thread_ts.as_deref(), Some(ts.as_str()));
    let buttons = msgs
        .iter()
        .find(|m| has_block(m, "actions"))
        .unwrap()
        .clone();
    let before = hpa_max(&env.sim);

    // Bob is no approver: refused privately, nothing changes.
    socket_press(&env.slack, "U0BOB", "sopilot_approve", &buttons).await;
    let told = ephemeral_for(&env, "U0BOB", 1).await;
    assert!(
        told[0].contains("not one of SOPilot's approvers"),
        "{told:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pending = api(&server, "/api/approvals?state=pending").await;
    assert_eq!(
        pending["approvals"].as_array().unwrap().len(),
        1,
        "{pending}"
    );
    assert_eq!(hpa_max(&env.sim), before);

    // Alice approves: the call executes and the run finishes.
    socket_press(&env.slack, "U0ALICE", "sopilot_approve", &buttons).await;
    let runs = api(&server, "/api/runs").await;
    let run_id = runs["runs"][0]["id"].as_str().unwrap().to_owned();
    let done = wait_api(
        &server,
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
    assert_eq!(call["executed"], true, "{done:#}");
    assert_eq!(hpa_max(&env.sim), json!(20));
    let approvals = api(&server, "/api/approvals").await;
    assert_eq!(approvals["approvals"][0]["decided_by"], "U0ALICE");
    assert_eq!(
        socket_lines(&server).len(),
        1,
        "{:?}",
        socket_lines(&server)
    );
}

#[tokio::test]
async fn reconnects_after_a_refresh_and_a_drop_and_acts_once_on_a_redelivery() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start_socket_server(&env, dir.path()).await;

    // The first acknowledgement is lost: Slack delivers the mention again (retry_attempt
    // 1), and the bot acknowledges it but starts no second run.
    env.slack.set_socket_ack_timeout(Duration::from_millis(800));
    env.slack.socket_lose_acks(1);
    let text = format!("<@U0SOPILOT> run pod-crashloop namespace=payment pod={POD}");
    let (envelope, ts) = env
        .slack
        .socket_mention("#incidents", "U0ALICE", &text, None)
        .unwrap();
    assert_eq!(acked(&env.slack, &envelope).await, None);
    let tries: Vec<u32> = env
        .slack
        .socket_deliveries()
        .iter()
        .filter(|d| d.envelope_id == envelope)
        .map(|d| d.retry_attempt)
        .collect();
    assert_eq!(tries, [0, 1]);
    wait_slack(&env.slack, "the run's status in the thread", |m| {
        m.iter()
            .any(|m| is_status(m) && m.thread_ts.as_deref() == Some(ts.as_str()))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let runs = api(&server, "/api/runs").await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1, "{runs}");
    let thread: Vec<Message> = env
        .slack
        .messages("#incidents")
        .into_iter()
        .filter(|m| m.thread_ts.as_deref() == Some(ts.as_str()))
        .collect();
    assert!(
        !thread
            .iter()
            .any(|m| m.text.contains("already being handled")),
        "the redelivery was not acted on: {thread:#?}"
    );

    // Slack asks for a refresh: the bot opens a new socket before the old one closes, and
    // the next command is answered.
    env.slack.socket_refresh(Duration::from_secs(2));
    wait_connects(&env.slack, 2).await;
    assert!(
        socket_command(&env.slack, "U0BOB", "help")
            .await
            .contains("pod-crashloop")
    );

    // The socket is cut without a word: the bot reconnects, and answers again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    env.slack.socket_drop();
    wait_connects(&env.slack, 3).await;
    let status = socket_command(&env.slack, "U0BOB", "status").await;
    assert!(status.contains("pod-crashloop"), "{status}");

    // One line per connection, none per envelope.
    let lines = socket_lines(&server);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].contains("Slack Socket Mode connected"),
        "{lines:#?}"
    );
    assert!(
        lines[1].contains("reconnected (Slack asked: refresh_requested)"),
        "{lines:#?}"
    );
    assert!(
        lines[2].contains("reconnected (the socket broke"),
        "{lines:#?}"
    );
}
