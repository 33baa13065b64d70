//! The simulated model: `POST /v1/chat/completions` in OpenAI's shape, answered by a
//! [`Script`] (the scenario's `model` section), so demos and tests go through the real
//! async-openai path. Every request is recorded for assertions.
//!
//! Knobs in the section besides `turns`: `throttle_first: N` answers the first N requests
//! with 429 and `Retry-After: 1`; `malformed: [N, ...]` answers those request numbers (from 1)
//! with a body that is not a chat completion.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use sopilot_script::{Player, Script};

/// A bad `model` section.
#[derive(Debug, thiserror::Error)]
#[error("scenario section `model`: {0}")]
pub struct ModelSimError(String);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    #[serde(default)]
    turns: Vec<sopilot_script::ScriptTurn>,
    #[serde(default)]
    throttle_first: u32,
    #[serde(default)]
    malformed: Vec<u32>,
}

/// The model's state: the script, its knobs and the recorded requests.
#[derive(Debug, Clone)]
pub struct ModelState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    model: Player,
    throttle_first: u32,
    malformed: Vec<u32>,
    requests: Mutex<Vec<Value>>,
}

impl ModelState {
    /// From the scenario's `model` section (absent: a model with nothing to say).
    pub fn from_section(section: Option<&Value>) -> Result<ModelState, ModelSimError> {
        let s: Section = match section {
            Some(v) => {
                serde_json::from_value(v.clone()).map_err(|e| ModelSimError(e.to_string()))?
            }
            None => Section {
                turns: Vec::new(),
                throttle_first: 0,
                malformed: Vec::new(),
            },
        };
        Ok(Self::new(
            Script { turns: s.turns },
            s.throttle_first,
            s.malformed,
        ))
    }

    /// A model playing `script`.
    pub fn new(script: Script, throttle_first: u32, malformed: Vec<u32>) -> ModelState {
        ModelState {
            inner: Arc::new(Inner {
                model: Player::new(script),
                throttle_first,
                malformed,
                requests: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Every request body received, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.inner
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }
}

/// The conversation text of an OpenAI chat request, as the script reads it.
fn conversation(body: &Value) -> String {
    let mut t = String::new();
    for m in body
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(c) = m.get("content").and_then(Value::as_str) {
            t.push_str(c);
            t.push('\n');
        }
        for c in m
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            t.push_str(&format!(
                "[call {} {}]\n",
                c.pointer("/function/name")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                c.pointer("/function/arguments")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ));
        }
    }
    t
}

async fn completions(
    State(s): State<ModelState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !headers.contains_key("authorization") {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": {"message": "missing bearer token", "type": "invalid_request_error"}}))).into_response();
    }
    let n = {
        let mut r = match s.inner.requests.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        r.push(body.clone());
        r.len() as u32
    };
    if n <= s.inner.throttle_first {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")],
            Json(json!({"error": {"message": "rate limited (simulated)", "type": "rate_limit_error", "param": null, "code": null}}))).into_response();
    }
    if s.inner.malformed.contains(&n) {
        return (StatusCode::OK, Json(json!({"unexpected": "shape"}))).into_response();
    }
    let r = s.inner.model.answer(&conversation(&body));
    if let Some(pause) = r.pause {
        tokio::time::sleep(pause).await;
    }
    let tool_calls: Vec<Value> = r
        .calls
        .iter()
        .map(|c| {
            // A string is sent as the raw `arguments` text: a model emitting broken JSON.
            let raw = match &c.arguments {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": raw}})
        })
        .collect();
    let mut message = json!({"role": "assistant", "content": r.text});
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    let finish = if r.calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    Json(json!({
        "id": format!("chatcmpl-sim-{n}"), "object": "chat.completion", "created": 0,
        "model": body.get("model").cloned().unwrap_or(Value::Null),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": r.input_tokens, "completion_tokens": r.output_tokens, "total_tokens": r.input_tokens + r.output_tokens},
    }))
    .into_response()
}

async fn models() -> Json<Value> {
    Json(
        json!({"object": "list", "data": [{"id": "sopilot-sim", "object": "model", "created": 0, "owned_by": "sopilot"}]}),
    )
}

/// The router: mount it at the root of its own listener; clients use `http://ADDR/v1`.
pub fn router(state: ModelState) -> axum::Router {
    axum::Router::new()
        .route("/v1/chat/completions", post(completions))
        .route("/v1/models", get(models))
        .with_state(state)
}
