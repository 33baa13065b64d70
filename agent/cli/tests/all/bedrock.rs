//! `sopilot run --model bedrock:MODEL_ID` end to end: the binary builds the Bedrock client
//! from the environment (region, static credentials, `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`)
//! and runs an SOP on the simulated cluster against a wiremock Bedrock that plays a model.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};
use support::{repo, sim};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const MODEL: &str = "anthropic.claude-3-5-sonnet-20241022-v2:0";
const POD: &str = "payment-service-7d8f9c6b5-x2k9p";

/// A Bedrock that plays pod-crashloop: it restarts the pod at step 3 and then reports.
struct PlaysPodCrashloop;

impl Respond for PlaysPodCrashloop {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let conversation = body["messages"].to_string();
        let content = if body.get("toolConfig").is_none() {
            json!([{"text": "## Summary\nThe pod was OOM-killed in a loop; SOPilot restarted it.\n\n```json\n{\"root_cause\": {\"class\": \"oom-limit\", \"summary\": \"the pod was OOM-killed in a loop\", \"confidence\": 0.7}}\n```"}])
        } else if conversation.contains("Step 3: Restart when it can help")
            && !conversation.contains("tooluse_restart")
        {
            json!([{"text": "Restarting the pod."},
                   {"toolUse": {"toolUseId": "tooluse_restart", "name": "kubectl__delete_pod",
                                "input": {"namespace": "payment", "name": POD}}}])
        } else {
            json!([{"text": "Noted."}])
        };
        let stop = if content.to_string().contains("toolUse") {
            "tool_use"
        } else {
            "end_turn"
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop,
            "usage": {"inputTokens": 1000, "outputTokens": 100, "totalTokens": 1100},
            "metrics": {"latencyMs": 5}}))
    }
}

/// `sopilot run ARGS --model bedrock:MODEL` with a clean AWS environment plus `env`.
async fn sopilot_run(kubeconfig: &Path, dir: &Path, env: &[(&str, &str)]) -> Output {
    let config = dir.join("sopilot.yaml");
    std::fs::write(
        &config,
        "builtin: [kubectl]\nprices:\n  \"bedrock:anthropic.\": {input_per_mtok: 3.0, output_per_mtok: 15.0}\n",
    )
    .unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
    cmd.current_dir(repo())
        .env("KUBECONFIG", kubeconfig)
        .env("RUST_LOG", "warn")
        // Nothing from this machine's AWS setup.
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for var in [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_BEARER_TOKEN_BEDROCK",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied())
        .args(["run", "pod-crashloop", "-p", "namespace=payment", "-p"])
        .arg(format!("pod={POD}"))
        .args(["--model", &format!("bedrock:{MODEL}")])
        .args(["--on-escalate", "deny", "--json", "--store"])
        .arg(dir.join("db"))
        .arg("--config")
        .arg(&config);
    tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("sopilot run timed out")
        .unwrap()
}

#[tokio::test]
async fn a_run_with_a_bedrock_model_calls_tools_and_counts_its_cost() {
    let sim = sim().await;
    let bedrock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(
            "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse",
        ))
        .respond_with(PlaysPodCrashloop)
        .mount(&bedrock)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let uri = bedrock.uri();
    let out = sopilot_run(
        sim.kubeconfig(),
        dir.path(),
        &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
            ("AWS_SECRET_ACCESS_KEY", "test-secret"),
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &uri),
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(v["status"], "succeeded", "{v:#}\n{stderr}");
    assert_eq!(v["model"], format!("bedrock:{MODEL}"));

    // The model's call went through the gate and ran.
    let deletes: Vec<&Value> = v["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tool"] == "kubectl.delete_pod")
        .collect();
    assert_eq!(deletes.len(), 1, "{v:#}");
    assert_eq!(deletes[0]["decision"], "allow");
    assert_eq!(deletes[0]["executed"], true);
    assert!(sim.get("Pod", Some("payment"), POD).is_none(), "restarted");

    // Every turn went to Bedrock, signed for the region, and the tool result came back.
    let requests = bedrock.received_requests().await.unwrap();
    assert!(requests.len() >= 3, "{}", requests.len());
    for r in &requests {
        let auth = r.headers["authorization"].to_str().unwrap();
        assert!(auth.contains("AKIDTEST/") && auth.contains("/us-east-1/bedrock/"));
    }
    let result_sent = requests.iter().any(|r| {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        body["messages"].as_array().unwrap().iter().any(|m| {
            m["content"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["toolResult"]["toolUseId"] == "tooluse_restart")
        })
    });
    assert!(result_sent, "no toolResult for the restart was sent");

    // Tokens from Bedrock's usage, priced by the config's `bedrock:anthropic.` entry.
    let turns = requests.len() as u64;
    assert_eq!(
        v["tokens"],
        json!({"input": 1000 * turns, "output": 100 * turns})
    );
    let cost = v["cost_usd"].as_f64().unwrap();
    let expected = turns as f64 * (1000.0 * 3.0 + 100.0 * 15.0) / 1e6;
    assert!((cost - expected).abs() < 1e-9, "{cost} != {expected}");
}

#[tokio::test]
async fn without_a_region_the_run_stops_with_a_clear_message() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let out = sopilot_run(sim.kubeconfig(), dir.path(), &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no AWS region: set AWS_REGION"), "{stderr}");
}

#[tokio::test]
async fn a_denied_model_fails_the_run_saying_what_to_grant() {
    let sim = sim().await;
    let bedrock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header(
                    "x-amzn-errortype",
                    "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/",
                )
                .set_body_json(json!({"message": "You don't have access to the model with the specified model ID."})),
        )
        .mount(&bedrock)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let uri = bedrock.uri();
    let out = sopilot_run(
        sim.kubeconfig(),
        dir.path(),
        &[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
            ("AWS_SECRET_ACCESS_KEY", "test-secret"),
            ("AWS_ENDPOINT_URL", &uri),
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(v["status"], "failed", "{v:#}\n{stderr}");
    let why = v["stopped_by"].as_str().unwrap_or_default();
    for part in [
        "the model failed",
        MODEL,
        "eu-west-1",
        "bedrock:InvokeModel",
    ] {
        assert!(why.contains(part), "{part:?} not in {why:?}");
    }
    // A refusal is not retried: one request for the one turn.
    assert_eq!(bedrock.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn without_credentials_the_run_says_how_to_provide_them() {
    let sim = sim().await;
    let bedrock = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let uri = bedrock.uri();
    // A region and an endpoint, but nothing in the credential chain (no keys, no profile
    // files, no instance metadata).
    let out = sopilot_run(
        sim.kubeconfig(),
        dir.path(),
        &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &uri),
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(v["status"], "failed", "{v:#}\n{stderr}");
    let why = v["stopped_by"].as_str().unwrap_or_default();
    assert!(
        why.contains("no AWS credentials to call Bedrock model") && why.contains("AWS_PROFILE"),
        "{why}"
    );
    assert!(bedrock.received_requests().await.unwrap().is_empty());
}
