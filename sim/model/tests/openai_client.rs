//! The real async-openai client (SOPilot's OpenAI-compatible provider) against the simulated
//! model: a tool-call round trip, throttling then success, a malformed answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::json;
use sopilot_llm::{Message, ModelClient, ModelRequest, OpenAiClient, Script, StopReason, ToolSpec};
use sopilot_sim_model::{ModelState, router};

async fn serve(state: ModelState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    format!("http://{addr}/v1")
}

const SCRIPT: &str = "turns:
  - calls:
      - kubectl.list_pods: {namespace: payment}
  - when: {contains: CrashLoopBackOff}
    say: payment-service-x is crash-looping.
";

fn request(messages: Vec<Message>) -> ModelRequest {
    ModelRequest {
        system: "You are an SRE agent.".into(),
        messages,
        tools: vec![ToolSpec {
            name: "kubectl__list_pods".into(),
            description: "List pods".into(),
            input_schema: json!({"type": "object", "properties": {"namespace": {"type": "string"}}}),
        }],
        max_output_tokens: 512,
    }
}

#[tokio::test]
async fn tool_call_round_trip() {
    let state = ModelState::new(Script::from_yaml("s", SCRIPT).unwrap(), 0, vec![]);
    let url = serve(state.clone()).await;
    let client = OpenAiClient::new(
        "sopilot-sim",
        Some(url),
        Some("test-key".into()),
        Duration::from_secs(10),
    );
    let mut messages = vec![Message::User {
        content: "Investigate payment".into(),
    }];
    let r = client.complete(&request(messages.clone())).await.unwrap();
    assert_eq!(r.stop, StopReason::ToolUse);
    assert_eq!(r.tool_calls[0].name, "kubectl__list_pods");
    assert_eq!(r.tool_calls[0].arguments, json!({"namespace": "payment"}));
    messages.push(Message::Assistant {
        text: None,
        tool_calls: r.tool_calls.clone(),
    });
    messages.push(Message::Tool {
        call_id: r.tool_calls[0].id.clone(),
        content: "payment-service-x 0/1 CrashLoopBackOff".into(),
        is_error: false,
    });
    let r = client.complete(&request(messages)).await.unwrap();
    assert_eq!(
        r.text.as_deref(),
        Some("payment-service-x is crash-looping.")
    );
    assert!(r.usage.input > 0);
    // What async-openai sent is what OpenAI expects.
    let sent = state.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[1]["messages"][2]["tool_calls"][0]["function"]["name"],
        "kubectl__list_pods"
    );
    assert_eq!(sent[1]["messages"][3]["role"], "tool");
    assert_eq!(
        sent[1]["messages"][3]["tool_call_id"],
        sent[1]["messages"][2]["tool_calls"][0]["id"]
    );
    assert_eq!(
        sent[0]["tools"][0]["function"]["name"],
        "kubectl__list_pods"
    );
}

#[tokio::test]
async fn throttling_is_retried_then_succeeds() {
    let state = ModelState::new(Script::from_yaml("s", SCRIPT).unwrap(), 2, vec![]);
    let url = serve(state.clone()).await;
    let client = OpenAiClient::new(
        "sopilot-sim",
        Some(url),
        Some("k".into()),
        Duration::from_secs(30),
    );
    let r = client
        .complete(&request(vec![Message::User {
            content: "go".into(),
        }]))
        .await
        .unwrap();
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(state.requests().len(), 3, "two 429s, then the answer");
}

#[tokio::test]
async fn malformed_answers_are_clear_errors() {
    let state = ModelState::new(Script::from_yaml("s", SCRIPT).unwrap(), 0, vec![1]);
    let url = serve(state).await;
    let client = OpenAiClient::new(
        "sopilot-sim",
        Some(url),
        Some("k".into()),
        Duration::from_secs(10),
    );
    let err = client
        .complete(&request(vec![Message::User {
            content: "go".into(),
        }]))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("unreadable") && text.contains("unexpected"),
        "{text}"
    );
}

#[tokio::test]
async fn unreachable_endpoints_are_provider_errors() {
    let client = OpenAiClient::new(
        "m",
        Some("http://127.0.0.1:9/v1".into()),
        Some("k".into()),
        Duration::from_secs(5),
    );
    let err = client
        .complete(&request(vec![Message::User {
            content: "go".into(),
        }]))
        .await
        .unwrap_err();
    assert!(
        err.is_retryable() && err.to_string().contains("127.0.0.1:9"),
        "{err}"
    );
}
