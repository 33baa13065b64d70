//! `sopilot doctor`: on the simulator every check passes; on a broken configuration each
//! problem is named on its own line with its fix, every check still runs, and the exit code
//! is 1. The model probe is checked against an OpenAI-compatible stand-in that does, and one
//! that does not, call the probe tool.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::repo;

/// Variables of this machine that would point a check at real systems.
const REAL: [&str; 9] = [
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "SLACK_BOT_TOKEN",
    "SLACK_API_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "KUBECONFIG",
    "RUST_LOG",
];

fn doctor(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::cargo_bin("sopilot").unwrap();
    cmd.current_dir(repo()).arg("doctor").args(args);
    for k in REAL {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.timeout(std::time::Duration::from_secs(240))
        .output()
        .unwrap()
}

fn checks(o: &Output) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    v["checks"].as_array().unwrap().clone()
}

/// The checks of `area` with `status`.
fn with<'a>(checks: &'a [Value], area: &str, status: &str) -> Vec<&'a Value> {
    checks
        .iter()
        .filter(|c| c["area"] == area && c["status"] == status)
        .collect()
}

fn write_config(dir: &Path, text: &str) -> String {
    let p = dir.join("sopilot.yaml");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn on_the_simulator_every_check_passes() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "store: {}/sopilot.db\nserve:\n  slack: {{channel: \"#incidents\"}}\n",
            dir.path().display()
        ),
    );
    let o = doctor(
        &[
            "--config",
            &config,
            "--simulate",
            "scenarios/demo.yaml",
            "--json",
        ],
        &[],
    );
    let all = checks(&o);
    let shown = serde_json::to_string_pretty(&all).unwrap();
    assert_eq!(o.status.code(), Some(0), "{shown}");
    assert!(
        all.iter()
            .all(|c| c["status"] == "OK" || c["status"] == "WARN"),
        "only OK (and lint warnings) on the simulator: {shown}"
    );
    for area in [
        "config",
        "policy",
        "sops",
        "store",
        "kubernetes",
        "mcp",
        "aws",
        "slack",
        "model",
    ] {
        assert!(!with(&all, area, "OK").is_empty(), "{area}: {shown}");
    }
    let said = |area: &str, needle: &str| {
        with(&all, area, "OK")
            .iter()
            .any(|c| c["detail"].as_str().unwrap().contains(needle))
    };
    assert!(said("kubernetes", "permissions the"), "{shown}");
    assert!(said("kubernetes", "the API answers"), "{shown}");
    for server in ["kubectl:", "cloudwatch:", "cost:", "slack:"] {
        assert!(said("mcp", server), "{server}: {shown}");
    }
    assert!(said("aws", "describe_alarms"), "{shown}");
    assert!(said("slack", "#incidents"), "{shown}");
    // Only warnings about lint may remain: the rest is clean.
    for c in all.iter().filter(|c| c["status"] == "WARN") {
        assert!(c["area"] == "sops" || c["area"] == "policy", "{shown}");
    }
}

#[test]
fn a_broken_configuration_names_each_problem_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let sops = dir.path().join("sops");
    std::fs::create_dir(&sops).unwrap();
    std::fs::write(sops.join("broken.sop.md"), "# no front matter, no steps\n").unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n\
         contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n\
         users: [{name: u, user: {token: t}}]\n",
    )
    .unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "store: /proc/sopilot-doctor/no/such/store.db\nserve:\n  policy: [{d}/missing-policies]\n  \
             sops: [{d}/sops]\n  model: openai:gpt-test\n",
            d = dir.path().display()
        ),
    );
    let o = doctor(
        &["--config", &config, "--json"],
        &[
            ("KUBECONFIG", kubeconfig.to_str().unwrap()),
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1"),
            ("OPENAI_API_KEY", "test"),
        ],
    );
    let all = checks(&o);
    let shown = serde_json::to_string_pretty(&all).unwrap();
    assert_eq!(o.status.code(), Some(1), "{shown}");
    for (area, names) in [
        ("policy", "missing-policies"),
        ("sops", "broken"),
        ("store", "/proc/sopilot-doctor"),
        ("kubernetes", ""),
        ("model", "gpt-test"),
    ] {
        let failed = with(&all, area, "FAIL");
        assert_eq!(failed.len(), 1, "{area}: {shown}");
        let c = failed[0];
        assert!(
            c["detail"].as_str().unwrap().contains(names),
            "{area}: {shown}"
        );
        assert!(!c["fix"].as_str().unwrap().is_empty(), "{area}: {shown}");
    }
    // Not configured is not a failure.
    assert_eq!(with(&all, "aws", "SKIP").len(), 1, "{shown}");
    assert_eq!(with(&all, "slack", "SKIP").len(), 1, "{shown}");

    // The same as text: one line per problem, each with its fix, and the count.
    let o = doctor(
        &["--config", &config],
        &[
            ("KUBECONFIG", kubeconfig.to_str().unwrap()),
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1"),
            ("OPENAI_API_KEY", "test"),
        ],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        text.matches("\nFAIL ").count() + usize::from(text.starts_with("FAIL ")),
        5,
        "{text}"
    );
    assert!(text.matches("fix: ").count() >= 5, "{text}");
    assert!(text.contains("5 problems to fix"), "{text}");
}

#[test]
fn a_configuration_that_does_not_parse_and_a_missing_channel_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "store: {}/s.db\nserve:\n  slack: {{channel: \"#no-such-channel\"}}\n  lisen: 1\n",
            dir.path().display()
        ),
    );
    let o = doctor(&["--config", &config, "--json"], &[]);
    let all = checks(&o);
    let shown = serde_json::to_string_pretty(&all).unwrap();
    let bad = with(&all, "config", "FAIL");
    assert!(
        bad[0]["detail"].as_str().unwrap().contains("lisen"),
        "{shown}"
    );

    // Parsed, the channel is checked against the simulated workspace.
    let config = write_config(
        dir.path(),
        &format!(
            "store: {}/s.db\nserve:\n  slack: {{channel: \"#no-such-channel\"}}\n",
            dir.path().display()
        ),
    );
    let o = doctor(
        &[
            "--config",
            &config,
            "--simulate",
            "scenarios/demo.yaml",
            "--json",
        ],
        &[],
    );
    let all = checks(&o);
    let shown = serde_json::to_string_pretty(&all).unwrap();
    assert_eq!(o.status.code(), Some(1), "{shown}");
    let failed = with(&all, "slack", "FAIL");
    assert_eq!(failed.len(), 1, "{shown}");
    assert!(
        failed[0]["detail"]
            .as_str()
            .unwrap()
            .contains("#no-such-channel"),
        "{shown}"
    );
}

/// An OpenAI-compatible stand-in answering every chat request with `message`.
async fn model_answering(message: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 40, "completion_tokens": 5, "total_tokens": 45},
        })))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn the_model_probe_tells_a_model_that_calls_tools_from_one_that_does_not() {
    let calls = model_answering(json!({"role": "assistant", "content": null, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "doctor__ping", "arguments": "{\"echo\":\"ok\"}"}}]}))
    .await;
    let talks = model_answering(json!({"role": "assistant", "content": "Sure! pong"})).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "store: {}/s.db\nserve:\n  model: openai:probe-test\n",
            dir.path().display()
        ),
    );
    for (server, status, says) in [
        (&calls, "OK", "called the probe tool"),
        (&talks, "WARN", "did not call the probe tool"),
    ] {
        let base = format!("{}/v1", server.uri());
        let config = config.clone();
        let o = tokio::task::spawn_blocking(move || {
            doctor(
                &["--config", &config, "--json"],
                &[("OPENAI_BASE_URL", &base), ("OPENAI_API_KEY", "k")],
            )
        })
        .await
        .unwrap();
        let all = checks(&o);
        let shown = serde_json::to_string_pretty(&all).unwrap();
        let model = with(&all, "model", status);
        assert_eq!(model.len(), 1, "{shown}");
        assert!(
            model[0]["detail"].as_str().unwrap().contains(says),
            "{shown}"
        );
    }
    let asked: Vec<Value> = calls
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0]["tools"][0]["function"]["name"], "doctor__ping");
}
