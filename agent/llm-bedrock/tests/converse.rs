//! The Bedrock client at the HTTP level: the real aws-sdk-bedrockruntime client, with static
//! test credentials and a region, pointed at a wiremock Bedrock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_bedrockruntime::config::{Credentials, Region};
use serde_json::{Value, json};
use sopilot_llm::{
    LlmError, Message, ModelClient, ModelRequest, Price, PriceTable, StopReason, ToolCallRequest,
    ToolSpec, Usage,
};
use sopilot_llm_bedrock::{BedrockClient, BedrockError, BedrockOptions, bedrock_schema};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

const MODEL: &str = "anthropic.claude-3-5-sonnet-20241022-v2:0";

fn options() -> BedrockOptions {
    BedrockOptions {
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_secs(2),
    }
}

async fn client_at(endpoint: &str, options: BedrockOptions) -> BedrockClient {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDTEST",
            "test-secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(endpoint)
        .load()
        .await;
    BedrockClient::from_sdk_config(MODEL, &config, options)
}

async fn client(server: &MockServer) -> BedrockClient {
    client_at(&server.uri(), options()).await
}

fn converse() -> MockBuilder {
    Mock::given(method("POST")).and(path_regex(r"^/model/[^/]+/converse$"))
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// An error as Bedrock sends it: the type in `x-amzn-errortype`, the message in the body.
fn aws_error(status: u16, kind: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header(
            "x-amzn-errortype",
            format!("{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        )
        .set_body_json(json!({"message": message}))
}

fn answer(text: &str) -> Value {
    json!({"output": {"message": {"role": "assistant", "content": [{"text": text}]}},
           "stopReason": "end_turn",
           "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
           "metrics": {"latencyMs": 100}})
}

/// A tool schema as rmcp emits it (JSON Schema 2020-12 from schemars).
fn list_pods_schema() -> Value {
    json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "ListPods",
           "type": "object", "additionalProperties": false,
           "properties": {"namespace": {"type": ["string", "null"], "default": null, "description": "Namespace; all when absent."},
                          "limit": {"type": "integer", "format": "uint32", "minimum": 0}}})
}

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "kubectl__list_pods".into(),
            description: "List pods with their status and restarts.".into(),
            input_schema: list_pods_schema(),
        },
        ToolSpec {
            name: "kubectl__delete_pod".into(),
            description: String::new(),
            input_schema: json!({"type": "object", "properties": {"namespace": {"type": "string"}, "name": {"type": "string"}},
                                 "required": ["namespace", "name"]}),
        },
    ]
}

fn question() -> ModelRequest {
    ModelRequest {
        system: "You are SOPilot.".into(),
        messages: vec![Message::User {
            content: "Why is payment crash-looping?".into(),
        }],
        tools: tools(),
        max_output_tokens: 1024,
    }
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r: &Request| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn a_tool_call_round_trips() {
    let server = MockServer::start().await;
    converse()
        .respond_with(ok(json!({
            "output": {"message": {"role": "assistant", "content": [
                {"text": "Let me look at the pods."},
                {"toolUse": {"toolUseId": "tooluse_abc", "name": "kubectl__list_pods", "input": {"namespace": "payment"}}},
                {"toolUse": {"toolUseId": "tooluse_def", "name": "kubectl__delete_pod", "input": {"namespace": "payment", "name": "p-1"}}}]}},
            "stopReason": "tool_use",
            "usage": {"inputTokens": 1200, "outputTokens": 80, "totalTokens": 1280},
            "metrics": {"latencyMs": 900}})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    converse()
        .respond_with(ok(answer("Root cause: the pool size is 0.")))
        .expect(1)
        .mount(&server)
        .await;
    let model: Arc<dyn ModelClient> = Arc::new(client(&server).await);
    assert_eq!(model.name(), format!("bedrock:{MODEL}"));

    let first = model.complete(&question()).await.unwrap();
    assert_eq!(first.stop, StopReason::ToolUse);
    assert_eq!(first.text.as_deref(), Some("Let me look at the pods."));
    assert_eq!(
        first.tool_calls,
        vec![
            ToolCallRequest {
                id: "tooluse_abc".into(),
                name: "kubectl__list_pods".into(),
                arguments: json!({"namespace": "payment"})
            },
            ToolCallRequest {
                id: "tooluse_def".into(),
                name: "kubectl__delete_pod".into(),
                arguments: json!({"namespace": "payment", "name": "p-1"})
            },
        ]
    );
    assert_eq!(
        first.usage,
        Usage {
            input: 1200,
            output: 80
        }
    );

    let mut next = question();
    next.messages.push(Message::Assistant {
        text: first.text.clone(),
        tool_calls: first.tool_calls.clone(),
    });
    next.messages.push(Message::Tool {
        call_id: "tooluse_abc".into(),
        content: "NAME  READY  RESTARTS\np-1   0/1    7".into(),
        is_error: false,
    });
    next.messages.push(Message::Tool {
        call_id: "tooluse_def".into(),
        content: "denied by policy: needs a human".into(),
        is_error: true,
    });
    let second = model.complete(&next).await.unwrap();
    assert_eq!(second.stop, StopReason::EndTurn);
    assert_eq!(
        second.text.as_deref(),
        Some("Root cause: the pool size is 0.")
    );
    assert!(second.tool_calls.is_empty());

    let requests = server.received_requests().await.unwrap();
    let sent = &requests[1];
    // The model id is a path label, percent-encoded; the call is SigV4-signed for bedrock.
    assert_eq!(
        sent.url.path(),
        "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse"
    );
    assert_eq!(sent.headers["content-type"], "application/json");
    let auth = sent.headers["authorization"].to_str().unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
            && auth.contains("/us-east-1/bedrock/aws4_request"),
        "{auth}"
    );
    let tool_config = json!({"tools": [
        {"toolSpec": {"name": "kubectl__list_pods", "description": "List pods with their status and restarts.",
                      "inputSchema": {"json": {"title": "ListPods", "type": "object",
                          "properties": {"namespace": {"type": "string", "description": "Namespace; all when absent."},
                                         "limit": {"type": "integer", "minimum": 0}}}}}},
        {"toolSpec": {"name": "kubectl__delete_pod",
                      "inputSchema": {"json": {"type": "object", "properties": {"namespace": {"type": "string"}, "name": {"type": "string"}},
                                               "required": ["namespace", "name"]}}}}]});
    assert_eq!(
        serde_json::from_slice::<Value>(&sent.body).unwrap(),
        json!({
            "system": [{"text": "You are SOPilot."}],
            "messages": [
                {"role": "user", "content": [{"text": "Why is payment crash-looping?"}]},
                {"role": "assistant", "content": [
                    {"text": "Let me look at the pods."},
                    {"toolUse": {"toolUseId": "tooluse_abc", "name": "kubectl__list_pods", "input": {"namespace": "payment"}}},
                    {"toolUse": {"toolUseId": "tooluse_def", "name": "kubectl__delete_pod", "input": {"namespace": "payment", "name": "p-1"}}}]},
                {"role": "user", "content": [
                    {"toolResult": {"toolUseId": "tooluse_abc", "content": [{"text": "NAME  READY  RESTARTS\np-1   0/1    7"}]}},
                    {"toolResult": {"toolUseId": "tooluse_def", "content": [{"text": "denied by policy: needs a human"}], "status": "error"}}]}],
            "toolConfig": tool_config,
            "inferenceConfig": {"maxTokens": 1024}
        })
    );
    // The first turn offered the same tools.
    assert_eq!(bodies(&server).await[0]["toolConfig"], tool_config);
}

#[tokio::test]
async fn a_turn_without_tools_carries_earlier_calls_as_text() {
    let server = MockServer::start().await;
    converse()
        .respond_with(ok(answer("## Summary")))
        .mount(&server)
        .await;
    let request = ModelRequest {
        system: "You are SOPilot.".into(),
        messages: vec![
            Message::User {
                content: "Investigate.".into(),
            },
            Message::Assistant {
                text: None,
                tool_calls: vec![ToolCallRequest {
                    id: "t1".into(),
                    name: "kubectl__list_pods".into(),
                    arguments: json!({"namespace": "payment"}),
                }],
            },
            Message::Tool {
                call_id: "t1".into(),
                content: "p-1 CrashLoopBackOff".into(),
                is_error: false,
            },
            Message::User {
                content: "Write the report.".into(),
            },
        ],
        tools: Vec::new(),
        max_output_tokens: 2048,
    };
    client(&server).await.converse(&request).await.unwrap();
    let body = &bodies(&server).await[0];
    assert!(body.get("toolConfig").is_none(), "{body}");
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"text": "Investigate."}]},
            {"role": "assistant", "content": [{"text": "[tool call t1: kubectl__list_pods {\"namespace\":\"payment\"}]"}]},
            {"role": "user", "content": [{"text": "[tool result for t1]\np-1 CrashLoopBackOff"}, {"text": "Write the report."}]}
        ])
    );
}

#[tokio::test]
async fn throttling_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    converse()
        .respond_with(aws_error(
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    converse()
        .respond_with(ok(answer("ok")))
        .mount(&server)
        .await;
    let r = client(&server).await.converse(&question()).await.unwrap();
    assert_eq!(r.text.as_deref(), Some("ok"));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn the_servers_retry_delay_is_honoured() {
    let server = MockServer::start().await;
    converse()
        .respond_with(
            aws_error(429, "ThrottlingException", "slow down")
                .insert_header("x-amz-retry-after", "700"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    converse()
        .respond_with(ok(answer("ok")))
        .mount(&server)
        .await;
    let client = client(&server).await;
    let started = Instant::now();
    client.converse(&question()).await.unwrap();
    // The backoff alone would be about 10 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_bare_429_from_a_proxy_is_retried_after_its_retry_after() {
    // No x-amzn-errortype, no JSON: what a gateway in front of Bedrock may send.
    let server = MockServer::start().await;
    converse()
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_string("Too Many Requests"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    converse()
        .respond_with(ok(answer("ok")))
        .mount(&server)
        .await;
    let client = client(&server).await;
    let started = Instant::now();
    let r = client.converse(&question()).await.unwrap();
    assert_eq!(r.text.as_deref(), Some("ok"));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn client_errors_other_than_429_are_not_retried() {
    let server = MockServer::start().await;
    converse()
        .respond_with(ResponseTemplate::new(413).set_body_string("Payload Too Large"))
        .mount(&server)
        .await;
    let err = client(&server)
        .await
        .converse(&question())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, BedrockError::Service { status: 413, .. }),
        "{err:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn throttling_that_persists_is_a_clear_error_after_every_attempt() {
    let server = MockServer::start().await;
    converse()
        .respond_with(aws_error(
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        ))
        .mount(&server)
        .await;
    let err = client(&server)
        .await
        .converse(&question())
        .await
        .unwrap_err();
    match &err {
        BedrockError::Throttled {
            model_id,
            attempts,
            message,
        } => {
            assert_eq!(model_id, MODEL);
            assert_eq!(*attempts, 3);
            assert_eq!(
                message,
                "Too many requests, please wait before trying again."
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let server = MockServer::start().await;
    converse()
        .respond_with(aws_error(
            503,
            "ServiceUnavailableException",
            "Bedrock is unable to process your request.",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    converse()
        .respond_with(aws_error(500, "InternalServerException", "internal"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    converse()
        .respond_with(ok(answer("ok")))
        .mount(&server)
        .await;
    let r = client(&server).await.converse(&question()).await.unwrap();
    assert_eq!(r.text.as_deref(), Some("ok"));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn malformed_json_is_a_clear_error_and_not_retried() {
    let server = MockServer::start().await;
    converse()
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string(
                    r#"{"output": {"message": {"role": "assistant", "content": [{"text": "hi"#,
                ),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .await
        .converse(&question())
        .await
        .unwrap_err();
    let BedrockError::Malformed(what) = &err else {
        panic!("{err:?}")
    };
    assert!(
        what.contains("HTTP 200") && what.contains("not a Converse response"),
        "{what}"
    );
    assert!(!err.is_retryable());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let llm: LlmError = err.into();
    assert!(matches!(llm, LlmError::Malformed(_)), "{llm:?}");
}

#[tokio::test]
async fn a_response_without_a_message_names_what_is_missing() {
    let server = MockServer::start().await;
    converse()
        .respond_with(ok(json!({"stopReason": "end_turn", "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}})))
        .mount(&server)
        .await;
    let err = client(&server)
        .await
        .converse(&question())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, BedrockError::Malformed(w) if w.contains("no `output.message`")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_tool_use_without_an_id_is_malformed() {
    let server = MockServer::start().await;
    converse()
        .respond_with(ok(json!({
            "output": {"message": {"role": "assistant", "content": [{"toolUse": {"name": "kubectl__list_pods", "input": {}}}]}},
            "stopReason": "tool_use", "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}})))
        .mount(&server)
        .await;
    let err = client(&server)
        .await
        .converse(&question())
        .await
        .unwrap_err();
    assert!(matches!(&err, BedrockError::Malformed(_)), "{err:?}");
}

#[tokio::test]
async fn a_validation_exception_is_a_clear_error_and_not_retried() {
    let server = MockServer::start().await;
    let message = "The value at toolConfig.tools.0.toolSpec.inputSchema.json.type must be one of the following: object.";
    converse()
        .respond_with(aws_error(400, "ValidationException", message))
        .mount(&server)
        .await;
    let err = client(&server)
        .await
        .converse(&question())
        .await
        .unwrap_err();
    match &err {
        BedrockError::Rejected {
            model_id,
            message: m,
        } => {
            assert_eq!(model_id, MODEL);
            assert_eq!(m, message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let llm: LlmError = err.into();
    assert!(!llm.is_retryable());
    assert_eq!(
        llm.to_string(),
        format!("Bedrock rejected the request to model {MODEL}: {message}")
    );
    assert!(matches!(llm, LlmError::Rejected(_)));
}

#[tokio::test]
async fn a_model_served_only_through_inference_profiles_gets_told_which_id_to_use() {
    let server = MockServer::start().await;
    converse()
        .respond_with(aws_error(
            400,
            "ValidationException",
            "Invocation of model ID anthropic.claude-3-5-sonnet-20241022-v2:0 with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model.",
        ))
        .mount(&server)
        .await;
    let err = client(&server)
        .await
        .converse(&question())
        .await
        .unwrap_err();
    let text = LlmError::from(err).to_string();
    assert!(
        text.contains(&format!("use its profile id, e.g. bedrock:us.{MODEL}")),
        "{text}"
    );
}

#[tokio::test]
async fn access_denied_and_unknown_models_are_configuration_errors() {
    let server = MockServer::start().await;
    converse()
        .respond_with(aws_error(
            403,
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    converse()
        .respond_with(aws_error(
            404,
            "ResourceNotFoundException",
            "Model not found.",
        ))
        .mount(&server)
        .await;
    let client = client(&server).await;
    let denied = client.converse(&question()).await.unwrap_err();
    assert!(
        matches!(&denied, BedrockError::AccessDenied { region, .. } if region == "us-east-1"),
        "{denied:?}"
    );
    assert!(!denied.is_retryable());
    // Says which model, where, and what to grant.
    let text = denied.to_string();
    for part in [
        MODEL,
        "You don't have access to the model",
        "bedrock:InvokeModel",
        "Model access, in us-east-1",
    ] {
        assert!(text.contains(part), "{part:?} not in {text}");
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let missing = client.converse(&question()).await.unwrap_err();
    assert!(
        matches!(&missing, BedrockError::ModelNotFound { .. }),
        "{missing:?}"
    );
    assert!(
        missing
            .to_string()
            .contains("aws bedrock list-foundation-models --region us-east-1"),
        "{missing}"
    );
    assert!(matches!(LlmError::from(missing), LlmError::Config(_)));
    assert!(matches!(LlmError::from(denied), LlmError::Config(_)));
}

#[tokio::test]
async fn a_slow_model_times_out() {
    let server = MockServer::start().await;
    converse()
        .respond_with(ok(answer("late")).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let client = client_at(
        &server.uri(),
        BedrockOptions {
            timeout: Duration::from_millis(400),
            ..options()
        },
    )
    .await;
    let started = Instant::now();
    let err = client.converse(&question()).await.unwrap_err();
    assert!(matches!(err, BedrockError::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(matches!(LlmError::from(err), LlmError::Timeout(_)));
}

#[tokio::test]
async fn an_unreachable_endpoint_says_so() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = client_at(&format!("http://127.0.0.1:{port}"), options()).await;
    let err = client.converse(&question()).await.unwrap_err();
    assert!(matches!(&err, BedrockError::Unreachable(_)), "{err:?}");
}

#[tokio::test]
async fn usage_flows_into_the_price_table() {
    let server = MockServer::start().await;
    converse()
        .respond_with(ok(json!({
            "output": {"message": {"role": "assistant", "content": [{"text": "done"}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 1_000_000, "outputTokens": 200_000, "totalTokens": 1_300_000,
                      "cacheReadInputTokens": 100_000, "cacheWriteInputTokens": 0}})))
        .mount(&server)
        .await;
    let model: Arc<dyn ModelClient> = Arc::new(client(&server).await);
    let r = model.complete(&question()).await.unwrap();
    assert_eq!(
        r.usage,
        Usage {
            input: 1_100_000,
            output: 200_000
        }
    );
    let mut prices = PriceTable::default();
    prices.0.insert(
        "bedrock:anthropic.".into(),
        Price {
            input_per_mtok: 3.0,
            output_per_mtok: 15.0,
        },
    );
    let cost = prices.cost(&model.name(), r.usage).unwrap();
    assert!((cost - (1.1 * 3.0 + 0.2 * 15.0)).abs() < 1e-9, "{cost}");
}

#[test]
fn offered_schemas_are_the_bedrock_normalised_ones() {
    // What the round trip above expects to see on the wire, derived independently.
    assert_eq!(
        bedrock_schema(&list_pods_schema()),
        json!({"title": "ListPods", "type": "object",
               "properties": {"namespace": {"type": "string", "description": "Namespace; all when absent."},
                              "limit": {"type": "integer", "minimum": 0}}})
    );
}
