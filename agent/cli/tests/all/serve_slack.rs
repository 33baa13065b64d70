//! `sopilot serve`'s Slack bot end to end, on the simulated Kubernetes API and the simulated
//! Slack Web API: an alert becomes a run with one edited status message in a thread, its
//! escalation becomes Approve/Deny buttons, a non-approver's press is refused and changes
//! nothing, an approver's press executes the call, and the report lands in the thread as
//! Block Kit. Also: mentions and `/sopilot`, requests signed by `slack_sdk` (an independent
//! implementation), and a button that still resolves its approval after a restart. A button
//! that only looks like SOPilot's (posted through the Slack tool, in another channel or the
//! same thread) decides nothing; approval ids are shown only to approvers; each user may
//! start only so many runs an hour.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::slack_support;

use std::time::Duration;

use serde_json::{Value, json};
use slack_support::*;
use sopilot_sim_slack::Message;

#[tokio::test]
async fn alert_thread_buttons_approver_and_report() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(&env, dir.path()).await;
    let before = hpa_max(&env.sim);
    let run_id = start_alert(&server).await;

    // The run gets a thread: its status message at the root, the buttons inside.
    let msgs = wait_slack(&env.slack, "the approval buttons", |m| {
        m.iter().any(|m| has_block(m, "actions"))
    })
    .await;
    let status = msgs
        .iter()
        .find(|m| is_status(m))
        .expect("a status message");
    assert!(
        status.thread_ts.is_none(),
        "the status message opens the thread"
    );
    assert!(status.text.contains(&run_id), "{status:?}");
    let buttons = msgs
        .iter()
        .find(|m| has_block(m, "actions"))
        .unwrap()
        .clone();
    assert_eq!(buttons.thread_ts.as_deref(), Some(status.ts.as_str()));
    let id = approval_id(&buttons);
    let pending = api(&server, "/api/approvals?state=pending").await;
    assert_eq!(pending["approvals"][0]["id"], id.as_str());
    assert_eq!(pending["approvals"][0]["tool"], "kubectl.patch_hpa");

    // Bob is no approver: refused, privately, and nothing changes.
    let (code, body) = press(&server, "U0BOB", "sopilot_approve", &buttons).await;
    assert_eq!((code, &body["status"]), (200, &json!("refused")), "{body}");
    for _ in 0..50 {
        if !env.slack.ephemeral().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let eph = env.slack.ephemeral();
    assert_eq!(eph.len(), 1, "{eph:?}");
    assert_eq!(eph[0].user, "U0BOB");
    assert!(
        eph[0].text.contains("not one of SOPilot's approvers") && !eph[0].text.contains(&id),
        "a non-approver is not shown the approval id: {eph:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let still = api(&server, &format!("/api/runs/{run_id}")).await;
    assert_eq!(still["run"]["status"], "running");
    let pending = api(&server, "/api/approvals?state=pending").await;
    assert_eq!(
        pending["approvals"][0]["id"],
        id.as_str(),
        "the record is unchanged"
    );
    assert_eq!(hpa_max(&env.sim), before);

    // Alice approves: the call executes, the message says who approved.
    let (code, body) = press(&server, "U0ALICE", "sopilot_approve", &buttons).await;
    assert_eq!((code, &body["status"]), (200, &json!("accepted")), "{body}");
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
    let approval = api(&server, "/api/approvals").await;
    let rec = approval["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (&rec["decided_by"], &rec["channel"]),
        (&json!("U0ALICE"), &json!("slack"))
    );

    // The report lands in the thread, as Block Kit; the status shows the end.
    let msgs = wait_slack(&env.slack, "the report", |m| {
        m.iter().any(|m| has_block(m, "header"))
    })
    .await;
    let report = msgs.iter().find(|m| has_block(m, "header")).unwrap();
    assert_eq!(report.thread_ts.as_deref(), Some(status.ts.as_str()));
    let blocks = report.blocks.as_ref().unwrap().to_string();
    assert!(blocks.contains("SOPilot report: pod-crashloop"), "{blocks}");
    assert!(
        blocks.contains("Evidence") && blocks.contains("[E1]"),
        "{blocks}"
    );
    assert!(blocks.contains("kubectl.patch_hpa"), "{blocks}");
    let resolved = msgs.iter().find(|m| m.ts == buttons.ts).unwrap();
    assert!(
        resolved.edited && !has_block(resolved, "actions"),
        "{resolved:?}"
    );
    let shown = resolved.blocks.as_ref().unwrap().to_string();
    assert!(
        shown.contains("Approved by <@U0ALICE> in Slack — "),
        "{shown}"
    );
    assert!(shown.contains(" UTC"), "the message says when: {shown}");
    for m in msgs.iter().filter(|m| m.ts != buttons.ts) {
        let shown = format!("{} {}", m.text, m.blocks.clone().unwrap_or_default());
        assert!(
            !shown.contains(&id),
            "approval ids stay on the approval message: {m:?}"
        );
    }

    // One status message, edited in place, not a flood.
    let status_msgs: Vec<&Message> = msgs.iter().filter(|m| is_status(m)).collect();
    assert_eq!(status_msgs.len(), 1);
    let status = status_msgs[0];
    assert!(status.edited);
    let status_text = status.blocks.as_ref().unwrap().to_string();
    assert!(
        status_text.contains("needs a human") || status_text.contains("succeeded"),
        "{status_text}"
    );
    let bot_msgs = msgs
        .iter()
        .filter(|m| m.user == env.slack.bot_user_id())
        .count();
    assert_eq!(bot_msgs, 3, "status, buttons, report: {msgs:#?}");
    let status_edits = env
        .slack
        .requests_for("chat.update")
        .iter()
        .filter(|r| r.params.get("ts") == Some(&json!(status.ts)))
        .count();
    let events = done["events"].as_array().unwrap().len();
    assert!(
        status_edits >= 1 && status_edits < events,
        "{status_edits} edits for {events} events"
    );

    // A later press is told the first decision stands.
    let (code, body) = press(&server, "U0ALICE", "sopilot_deny", &buttons).await;
    assert_eq!(
        (code, &body["status"]),
        (200, &json!("already_decided")),
        "{body}"
    );
    drop(server);
}

#[tokio::test]
async fn a_button_still_resolves_after_a_restart() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_server(&env, dir.path()).await;
    let run_id = start_alert(&server).await;
    let msgs = wait_slack(&env.slack, "the approval buttons", |m| {
        m.iter().any(|m| has_block(m, "actions"))
    })
    .await;
    let buttons = msgs
        .iter()
        .find(|m| has_block(m, "actions"))
        .unwrap()
        .clone();
    // Stop the server while the run waits.
    server.child.kill().await.unwrap();
    let server = start_server(&env, dir.path()).await;
    wait_api(
        &server,
        &format!("/api/runs/{run_id}"),
        "the interrupted run",
        |v| v["run"]["status"] == "interrupted",
    )
    .await;
    let (code, body) = press(&server, "U0CAROL", "sopilot_approve", &buttons).await;
    assert_eq!((code, &body["status"]), (200, &json!("accepted")), "{body}");
    // Carol approves as a member of the approvers' user group; the hub carries the
    // approved call out, and the thread says so.
    let msgs = wait_slack(&env.slack, "the note of the resumed call", |m| {
        m.iter().any(|m| m.text.contains("executed"))
    })
    .await;
    assert_eq!(hpa_max(&env.sim), json!(20));
    let note = msgs.iter().find(|m| m.text.contains("executed")).unwrap();
    assert_eq!(note.thread_ts, buttons.thread_ts);
    let resolved = msgs.iter().find(|m| m.ts == buttons.ts).unwrap();
    assert!(
        resolved
            .blocks
            .as_ref()
            .unwrap()
            .to_string()
            .contains("Approved by <@U0CAROL>"),
        "{resolved:?}"
    );
}

#[tokio::test]
async fn mentions_and_the_slash_command() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(&env, dir.path()).await;
    let form = "application/x-www-form-urlencoded";

    // `/sopilot help` and `status`, ephemeral.
    let cmd = |text: &str| {
        format!(
            "command=%2Fsopilot&user_id=U0BOB&channel_id=C0INCIDENTS&text={}",
            url_encode(text)
        )
    };
    let (code, body) = signed(&server, "/slack/commands", cmd("help"), form).await;
    assert_eq!(code, 200);
    assert_eq!(body["response_type"], "ephemeral");
    assert!(
        body["text"].as_str().unwrap().contains("`pod-crashloop`"),
        "{body}"
    );
    let (_, body) = signed(&server, "/slack/commands", cmd("run nope"), form).await;
    assert!(
        body["text"].as_str().unwrap().contains("no SOP \"nope\""),
        "{body}"
    );

    // A mention starts a run in its thread.
    let text = format!("<@U0SOPILOT> run pod-crashloop namespace=payment pod={POD}");
    let ts = env
        .slack
        .post_as("#incidents", "U0ALICE", &text, None)
        .unwrap();
    let event = |id: &str, text: &str, ts: &str| {
        json!({"type": "event_callback", "event_id": id, "team_id": "T0SOPILOT",
            "authorizations": [{"user_id": "U0SOPILOT"}],
            "event": {"type": "app_mention", "user": "U0ALICE", "text": text, "ts": ts,
                      "channel": "C0INCIDENTS", "event_ts": ts}})
        .to_string()
    };
    let (code, body) = signed(
        &server,
        "/slack/events",
        event("Ev1", &text, &ts),
        "application/json",
    )
    .await;
    assert_eq!((code, &body["status"]), (200, &json!("started")), "{body}");
    let run_id = body["run_id"].as_str().unwrap().to_owned();
    // Slack's redeliveries of the same event start nothing: marked as retries, or not.
    let json_type = "application/json";
    let later = now() + 1;
    let (code, body) = signed_at(
        &server,
        "/slack/events",
        event("Ev1", &text, &ts),
        json_type,
        later,
        true,
    )
    .await;
    assert_eq!((code, &body["status"]), (200, &json!("ignored")), "{body}");
    let (code, body) = signed_at(
        &server,
        "/slack/events",
        event("Ev1", &text, &ts),
        json_type,
        later + 1,
        false,
    )
    .await;
    assert_eq!((code, &body["status"]), (200, &json!("ignored")), "{body}");
    // The very same request again is a replay.
    let (code, _) = signed_at(
        &server,
        "/slack/events",
        event("Ev1", &text, &ts),
        json_type,
        later + 1,
        false,
    )
    .await;
    assert_eq!(code, 401);
    let msgs = wait_slack(&env.slack, "the status in the mention's thread", |m| {
        m.iter()
            .any(|m| is_status(m) && m.thread_ts.as_deref() == Some(ts.as_str()))
    })
    .await;
    assert!(msgs.iter().any(|m| m.text.contains(&run_id)));

    // `/sopilot status RUN` answers from the store.
    let (_, body) = signed(
        &server,
        "/slack/commands",
        cmd(&format!("status {run_id}")),
        form,
    )
    .await;
    assert!(
        body["text"].as_str().unwrap().contains("pod-crashloop"),
        "{body}"
    );

    // Free text goes to the model, which routes it: a run in the mention's thread.
    let text3 = "<@U0SOPILOT> payment pods keep restarting, can you look?";
    let ts3 = env
        .slack
        .post_as("#incidents", "U0BOB", text3, None)
        .unwrap();
    let (code, body) = signed(
        &server,
        "/slack/events",
        event("Ev5", text3, &ts3),
        "application/json",
    )
    .await;
    assert_eq!((code, &body["status"]), (200, &json!("routing")), "{body}");
    wait_slack(&env.slack, "the routed run's status", |m| {
        m.iter()
            .any(|m| is_status(m) && m.thread_ts.as_deref() == Some(ts3.as_str()))
    })
    .await;

    // Free text the model routes nowhere gets help, in the thread.
    let text2 = "<@U0SOPILOT> hello there";
    let ts2 = env
        .slack
        .post_as("#incidents", "U0BOB", text2, None)
        .unwrap();
    let (code, body) = signed(
        &server,
        "/slack/events",
        event("Ev2", text2, &ts2),
        "application/json",
    )
    .await;
    assert_eq!((code, &body["status"]), (200, &json!("routing")), "{body}");
    wait_slack(&env.slack, "the answer to free text", |m| {
        m.iter().any(|m| {
            m.thread_ts.as_deref() == Some(ts2.as_str()) && m.text.contains("could not tell")
        })
    })
    .await;
    // The bot's own messages are ignored.
    let own = json!({"type": "event_callback", "event_id": "Ev3",
        "authorizations": [{"user_id": "U0SOPILOT"}],
        "event": {"type": "app_mention", "user": "U0SOPILOT", "bot_id": "B0SOPILOT",
                  "text": "<@U0SOPILOT> run pod-crashloop", "ts": ts2, "channel": "C0INCIDENTS"}});
    let (_, body) = signed(
        &server,
        "/slack/events",
        own.to_string(),
        "application/json",
    )
    .await;
    assert_eq!(body["status"], "ignored");
    // Unsigned and badly shaped requests start nothing.
    let r = http()
        .post(format!("{}/slack/events", server.url))
        .body(event("Ev4", &text, &ts))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (code, body) = signed(
        &server,
        "/slack/events",
        json!({"type": "event_callback"}).to_string(),
        "application/json",
    )
    .await;
    assert_eq!(code, 400, "{body}");
    let runs = wait_api(&server, "/api/runs", "both runs recorded", |v| {
        v["runs"].as_array().unwrap().len() >= 2
    })
    .await;
    let sops: Vec<&str> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sop"].as_str().unwrap())
        .collect();
    assert_eq!(sops, ["pod-crashloop", "pod-crashloop"], "{runs}");
    let routed = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["trigger"]["request"]["thread_ts"] == ts3.as_str())
        .expect("the routed run");
    assert_eq!(routed["params"]["pod"], POD);
}

#[tokio::test]
async fn slack_sdk_signed_requests() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(&env, dir.path()).await;
    let script = repo().join("tests/python/slack_signer_check.py");
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new("python3")
            .arg(script)
            .args(["--url", &server.url, "--secret", SECRET])
            .output(),
    )
    .await
    .expect("the Python signer timed out")
    .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the Python signer failed (is `pip install slack_sdk` done? scripts/test does it):\n{stderr}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let status = |k: &str| {
        v[k]["status"]
            .as_u64()
            .unwrap_or_else(|| panic!("{k}: {v}"))
    };
    assert_eq!(v["challenge_sdk_accepts"], true);
    assert_eq!(status("challenge"), 200, "{v}");
    assert_eq!(v["challenge"]["body"]["challenge"], "c-42");
    for refused in [
        "replayed", "forged", "stale", "future", "tampered", "unsigned",
    ] {
        assert_eq!(status(refused), 401, "{refused}: {v}");
        assert!(v[refused]["body"]["error"].is_string(), "{refused}: {v}");
    }
    assert!(
        v["replayed"]["body"]["error"]
            .as_str()
            .unwrap()
            .contains("replay")
    );
    assert!(
        v["stale"]["body"]["error"]
            .as_str()
            .unwrap()
            .contains("too old")
    );
    assert!(
        v["future"]["body"]["error"]
            .as_str()
            .unwrap()
            .contains("future")
    );
    assert_eq!(v["command_help_sdk_accepts"], true);
    assert_eq!(status("command_help"), 200, "{v}");
    assert_eq!(v["command_help"]["body"]["response_type"], "ephemeral");
    for bad in ["command_bad", "events_not_json", "interaction_not_form"] {
        assert_eq!(status(bad), 400, "{bad}: {v}");
    }
    assert_eq!(status("interaction_unknown_approval"), 404, "{v}");
    let runs = api(&server, "/api/runs").await;
    assert!(
        runs["runs"].as_array().unwrap().is_empty(),
        "nothing started: {runs}"
    );
    let metrics = http()
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("sopilot_requests_refused_total 6"),
        "{metrics}"
    );
}

#[tokio::test]
async fn slack_down_never_holds_a_run() {
    let mut env = env().await;
    // A Slack that accepts connections and never answers: every Web API call hangs until
    // its timeout.
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    env.slack_url = format!("http://{}/api/", hung.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hung.accept().await {
            held.push(socket);
        }
    });
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(&env, dir.path()).await;
    let run_id = start_alert(&server).await;
    // The escalation still waits for a decision, which another door can make.
    let pending = wait_api(
        &server,
        "/api/approvals?state=pending",
        "a pending approval",
        |v| !v["approvals"].as_array().unwrap().is_empty(),
    )
    .await;
    let id = pending["approvals"][0]["id"].as_str().unwrap();
    let r = http()
        .post(format!("{}/api/approvals/{id}", server.url))
        .bearer_auth(TOKEN)
        .json(&json!({"decision": "approve", "by": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let done = wait_api(
        &server,
        &format!("/api/runs/{run_id}"),
        "the run to end",
        |v| v["run"]["status"] != "running",
    )
    .await;
    assert_eq!(done["run"]["status"], "needs_human", "{done:#}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the run waited for Slack: {:?}",
        started.elapsed()
    );
    assert_eq!(hpa_max(&env.sim), json!(20));
    assert!(env.slack.messages("#incidents").is_empty());
}

#[tokio::test]
async fn a_look_alike_button_decides_nothing() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(&env, dir.path()).await;
    let before = hpa_max(&env.sim);
    let run_id = start_alert(&server).await;
    let msgs = wait_slack(&env.slack, "the approval buttons", |m| {
        m.iter().any(|m| has_block(m, "actions"))
    })
    .await;
    let real = msgs
        .iter()
        .find(|m| has_block(m, "actions"))
        .unwrap()
        .clone();
    let id = approval_id(&real);
    // SOPilot's own message shows the exact call, what it changes and why it escalated.
    let shown = real.blocks.as_ref().unwrap().to_string();
    for part in ["*Call*", "max_replicas", "→", "*Escalated by*", "*Why*"] {
        assert!(shown.contains(part), "{part}: {shown}");
    }

    // Look-alikes posted with the bot's token (as the model could through the Slack tool):
    // in another channel, and in the run's own thread. An approver presses each: refused,
    // told why, nothing changes.
    let elsewhere = forge_approval(&env, "#random", &id, None).await;
    let in_thread = forge_approval(&env, "#incidents", &id, real.thread_ts.as_deref()).await;
    for (channel, forged) in [("C0RANDOM", &elsewhere), ("C0INCIDENTS", &in_thread)] {
        let (code, body) = press_in(&server, "U0ALICE", "sopilot_approve", channel, forged).await;
        assert_eq!((code, &body["status"]), (200, &json!("refused")), "{body}");
    }
    let told = ephemeral_for(&env, "U0ALICE", 2).await;
    assert!(
        told.iter()
            .all(|t| t.contains(&format!("not SOPilot's approval message for `{id}`"))),
        "{told:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pending = api(&server, "/api/approvals?state=pending").await;
    assert_eq!(pending["approvals"][0]["id"], id.as_str(), "unchanged");
    assert_eq!(hpa_max(&env.sim), before);
    assert!(
        server
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("not SOPilot's approval message")),
        "a warning is logged"
    );
    let metrics = http()
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("sopilot_approval_presses_rejected_total 2"),
        "{metrics}"
    );

    // Who sees the approval id: an approver asking for the run's status, not anyone else.
    let bob = command(&server, "U0BOB", &format!("status {run_id}")).await;
    assert!(
        !bob.contains(&id) && bob.contains("waiting for an approver to decide `kubectl.patch_hpa`"),
        "{bob}"
    );
    let alice = command(&server, "U0ALICE", &format!("status {run_id}")).await;
    assert!(alice.contains(&id), "{alice}");

    // The real message still works.
    let (code, body) = press(&server, "U0ALICE", "sopilot_approve", &real).await;
    assert_eq!((code, &body["status"]), (200, &json!("accepted")), "{body}");
    wait_api(
        &server,
        &format!("/api/runs/{run_id}"),
        "the run to end",
        |v| v["run"]["status"] != "running",
    )
    .await;
    assert_eq!(hpa_max(&env.sim), json!(20));
}

#[tokio::test]
async fn each_user_starts_only_so_many_runs_an_hour() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start_server_with(&env, dir.path(), "    max_runs_per_user_per_hour: 1\n").await;
    let run = |pod: &str| format!("run pod-crashloop namespace=payment pod={pod}");
    let first = command(&server, "U0BOB", &run(POD)).await;
    assert!(first.starts_with("Started `pod-crashloop`"), "{first}");
    // Bob's second run in the hour is refused, privately, saying when he can try again.
    let second = command(&server, "U0BOB", &run("payment-other-1")).await;
    assert!(
        second.contains("in an hour (1)") && second.contains("You can start another in"),
        "{second}"
    );
    // A mention too: the refusal goes to Bob alone, not the channel.
    let text = format!("<@U0SOPILOT> {}", run("payment-other-2"));
    let ts = env
        .slack
        .post_as("#incidents", "U0BOB", &text, None)
        .unwrap();
    let event = json!({"type": "event_callback", "event_id": "EvLimit", "team_id": "T0SOPILOT",
        "authorizations": [{"user_id": "U0SOPILOT"}],
        "event": {"type": "app_mention", "user": "U0BOB", "text": text, "ts": ts,
                  "channel": "C0INCIDENTS", "event_ts": ts}});
    let (code, body) = signed(
        &server,
        "/slack/events",
        event.to_string(),
        "application/json",
    )
    .await;
    assert_eq!((code, &body["status"]), (200, &json!("limited")), "{body}");
    let told = ephemeral_for(&env, "U0BOB", 1).await;
    assert!(told[0].contains("You can start another in"), "{told:?}");
    assert!(
        !env.slack
            .messages("#incidents")
            .iter()
            .any(|m| m.text.contains("You can start another")),
        "the refusal is not posted for everyone"
    );
    // Alice is not held back by Bob.
    let alice = command(&server, "U0ALICE", &run("payment-other-3")).await;
    assert!(alice.starts_with("Started"), "{alice}");
    let runs = api(&server, "/api/runs").await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 2, "{runs}");
}
