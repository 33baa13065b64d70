//! OpenAI-compatible chat completions through async-openai: OpenAI, Azure OpenAI, vLLM,
//! Ollama, LiteLLM, and SOPilot's simulated model.
//!
//! Requests are built as OpenAI wire JSON and decoded into async-openai's request type, so the
//! exact JSON sent is visible in one place. async-openai retries 429 (honouring
//! `Retry-After`) and 5xx with exponential backoff, three times; every turn also has an overall
//! timeout here.

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::chat::CreateChatCompletionRequest;
use serde_json::{Value, json};

use crate::{
    LlmError, Message, ModelClient, ModelRequest, ModelResponse, StopReason, ToolCallRequest, Usage,
};

/// A client of one model at one OpenAI-compatible endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    client: Client<OpenAIConfig>,
    model: String,
    base: String,
    timeout: Duration,
}

impl OpenAiClient {
    /// A client for `model` at `base_url` (default `OPENAI_BASE_URL`, else OpenAI) with
    /// `api_key` (default `OPENAI_API_KEY`; local servers accept any).
    pub fn new(
        model: &str,
        base_url: Option<String>,
        api_key: Option<String>,
        timeout: Duration,
    ) -> Self {
        let base = base_url
            .or_else(|| std::env::var("OPENAI_BASE_URL").ok())
            .unwrap_or_else(|| "https://api.openai.com/v1".to_owned());
        let key = api_key
            .or_else(|| std::env::var("OPENAI_API_KEY").ok())
            .unwrap_or_else(|| "not-set".to_owned());
        let config = OpenAIConfig::new()
            .with_api_base(base.trim_end_matches('/'))
            .with_api_key(key);
        Self {
            client: Client::with_config(config),
            model: model.to_owned(),
            base,
            timeout,
        }
    }

    /// The request body for a turn, as OpenAI's wire JSON.
    pub fn request_json(&self, r: &ModelRequest) -> Value {
        let mut messages = vec![json!({"role": "system", "content": r.system})];
        for m in &r.messages {
            messages.push(match m {
                Message::User { content } => json!({"role": "user", "content": content}),
                Message::Assistant { text, tool_calls } => {
                    let mut a = json!({"role": "assistant", "content": text});
                    if !tool_calls.is_empty() {
                        a["tool_calls"] = Value::Array(
                            tool_calls
                                .iter()
                                .map(|c| json!({"id": c.id, "type": "function",
                                    "function": {"name": c.name, "arguments": c.arguments.to_string()}}))
                                .collect(),
                        );
                    }
                    a
                }
                Message::Tool { call_id, content, .. } => json!({"role": "tool", "tool_call_id": call_id, "content": content}),
            });
        }
        let mut body =
            json!({"model": self.model, "messages": messages, "max_tokens": r.max_output_tokens});
        if !r.tools.is_empty() {
            body["tools"] = Value::Array(
                r.tools
                    .iter()
                    .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.input_schema}}))
                    .collect(),
            );
            body["tool_choice"] = json!("auto");
        }
        body
    }
}

/// Reads a chat completion response (as JSON).
pub(crate) fn parse_response(v: &Value) -> Result<ModelResponse, LlmError> {
    let choice = v.pointer("/choices/0").ok_or_else(|| {
        LlmError::Malformed(format!(
            "no choices in the response: {}",
            truncate(&v.to_string())
        ))
    })?;
    let msg = choice
        .get("message")
        .ok_or_else(|| LlmError::Malformed("choice without a message".into()))?;
    let mut tool_calls = Vec::new();
    for c in msg
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = c
            .pointer("/function/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let raw = c
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .unwrap_or("{}");
        // Arguments that are not JSON are passed on as a string; the gate refuses them.
        let arguments = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
        tool_calls.push(ToolCallRequest {
            id: c
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            name,
            arguments,
        });
    }
    let usage = Usage {
        input: v
            .pointer("/usage/prompt_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        output: v
            .pointer("/usage/completion_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    };
    let stop = match choice.get("finish_reason").and_then(Value::as_str) {
        Some("tool_calls") => StopReason::ToolUse,
        Some("length") => StopReason::MaxTokens,
        Some("stop") => StopReason::EndTurn,
        _ if !tool_calls.is_empty() => StopReason::ToolUse,
        _ => StopReason::Other,
    };
    Ok(ModelResponse {
        text: msg
            .get("content")
            .and_then(Value::as_str)
            .map(str::to_owned),
        tool_calls,
        usage,
        stop,
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(300).collect()
}

#[async_trait::async_trait]
impl ModelClient for OpenAiClient {
    async fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, LlmError> {
        let body = self.request_json(request);
        let req: CreateChatCompletionRequest = serde_json::from_value(body)
            .map_err(|e| LlmError::Config(format!("cannot build the chat request: {e}")))?;
        let resp = tokio::time::timeout(self.timeout, self.client.chat().create(req))
            .await
            .map_err(|_| LlmError::Timeout(self.timeout.as_secs()))?
            .map_err(|e| match e {
                async_openai::error::OpenAIError::JSONDeserialize(err, content) => {
                    LlmError::Malformed(format!("{err}: {}", truncate(&content)))
                }
                other => LlmError::Provider(format!("{} ({})", other, self.base)),
            })?;
        let v = serde_json::to_value(&resp).map_err(|e| LlmError::Malformed(e.to_string()))?;
        parse_response(&v)
    }

    fn name(&self) -> String {
        format!("openai:{}", self.model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tool_calls_and_usage() {
        let v = json!({"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "kubectl__list_pods", "arguments": "{\"namespace\":\"payment\"}"}},
                           {"id": "c2", "type": "function", "function": {"name": "x__y", "arguments": "not json"}}]}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20}});
        let r = parse_response(&v).unwrap();
        assert_eq!(r.stop, StopReason::ToolUse);
        assert_eq!(r.tool_calls[0].arguments, json!({"namespace": "payment"}));
        assert_eq!(r.tool_calls[1].arguments, json!("not json"));
        assert_eq!(
            r.usage,
            Usage {
                input: 100,
                output: 20
            }
        );
        assert!(matches!(
            parse_response(&json!({"x": 1})),
            Err(LlmError::Malformed(_))
        ));
    }
}
