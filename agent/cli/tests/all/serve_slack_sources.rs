//! Every automatic door of `sopilot serve` reaches the same Slack path: a CloudWatch alarm
//! delivered by SNS (signed by an independent stand-in) and a Warning Event seen by the
//! Kubernetes watcher each start pod-crashloop on the simulator; its run opens a thread in the
//! simulated Slack, its escalation becomes buttons there, an approver's press executes it, and
//! the report lands in the thread. (`serve_slack.rs` covers the same path from Alertmanager.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::slack_support;
use crate::sns_support;

use serde_json::Value;
use slack_support::{api, approve_in_thread, env, http, start_server_with, wait_api};

#[tokio::test]
async fn an_sns_alarm_runs_through_slack_to_the_report() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let sns = sns_support::stand_in(dir.path()).await;
    let server = start_server_with(
        &env,
        dir.path(),
        &sns_support::serve_config(dir.path(), &sns),
    )
    .await;
    let alarm = sns_support::alarm_message(sns.port, "m1", slack_support::POD);
    let signed = sns_support::sign(dir.path(), "2", &alarm).await;
    let r: Value = http()
        .post(format!("{}/hooks/sns", server.url))
        .body(signed.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&r["status"], &r["sop"]),
        (&"started".into(), &"pod-crashloop".into()),
        "{r}"
    );
    let run_id = r["run_id"].as_str().unwrap();
    let done = approve_in_thread(&env, &server, run_id).await;
    assert_eq!(
        done["run"]["trigger"]["kind"], "cloudwatch_alarm",
        "{:#}",
        done["run"]
    );
}

#[tokio::test]
async fn a_kubernetes_event_runs_through_slack_to_the_report() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start_server_with(
        &env,
        dir.path(),
        // Only BackOff: the scenario's FailedScheduling event would start pod-pending besides.
        "  kubernetes_events: {namespaces: [payment], reasons: [BackOff]}\n",
    )
    .await;
    // The scenario's recent kubelet BackOff event for the crash-looping pod starts the run.
    let runs = wait_api(&server, "/api/runs", "a run from the watcher", |v| {
        !v["runs"].as_array().unwrap().is_empty()
    })
    .await;
    let run = &runs["runs"][0];
    assert_eq!(run["sop"], "pod-crashloop", "{run}");
    assert_eq!(run["trigger"]["kind"], "kubernetes_event", "{run}");
    approve_in_thread(&env, &server, run["id"].as_str().unwrap()).await;
    let runs = api(&server, "/api/runs").await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1, "{runs}");
}
