//! The injected model: an OpenAI-compatible `/v1/chat/completions` endpoint that plays a
//! script (the format of `tests/scripts/*.yaml`) and records every request, so the suite
//! can check what the model was sent. Before answering, `$APPROVAL_ID`, `$APPROVAL_TS` and
//! `$APPROVAL_THREAD` in the script's arguments become the id, message ts and thread of the
//! newest approval message in the simulated Slack: a model that read the channel.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use sopilot_llm::{Script, ScriptedModel};
use sopilot_sim_slack::SlackState;

/// The endpoint's state, shared with the test.
#[derive(Clone)]
pub struct ModelServer {
    inner: Arc<Inner>,
}

struct Inner {
    script: Mutex<Option<Arc<ScriptedModel>>>,
    requests: Mutex<Vec<Value>>,
    /// Tool calls answered, in order (`(name, arguments)`).
    calls: Mutex<Vec<(String, Value)>>,
    slack: SlackState,
}

impl ModelServer {
    pub fn new(slack: SlackState) -> Self {
        ModelServer {
            inner: Arc::new(Inner {
                script: Mutex::new(None),
                requests: Mutex::new(Vec::new()),
                calls: Mutex::new(Vec::new()),
                slack,
            }),
        }
    }

    /// Plays `script` from now on (a fresh copy: every turn unused).
    pub fn play(&self, script: Script) {
        *self.inner.script.lock().unwrap() = Some(Arc::new(ScriptedModel::new("attack", script)));
    }

    /// Every request body so far.
    pub fn requests(&self) -> Vec<Value> {
        self.inner.requests.lock().unwrap().clone()
    }

    /// Every tool call the model made so far, as `(model-facing name, arguments)`.
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.inner.calls.lock().unwrap().clone()
    }

    /// Serves on a fresh loopback port; returns the base URL (`http://ADDR/v1`).
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = axum::Router::new()
            .route("/v1/chat/completions", post(completions))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        format!("http://{addr}/v1")
    }

    /// Placeholder values from the simulated Slack's newest approval message.
    fn placeholders(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let approval = self
            .inner
            .slack
            .messages("#incidents")
            .into_iter()
            .rev()
            .find(|m| m.user == self.inner.slack.bot_user_id() && approval_button_id(m).is_some());
        if let Some(m) = approval {
            out.push(("$APPROVAL_ID", approval_button_id(&m).unwrap_or_default()));
            out.push((
                "$APPROVAL_THREAD",
                m.thread_ts.clone().unwrap_or_else(|| m.ts.clone()),
            ));
            out.push(("$APPROVAL_TS", m.ts));
        }
        out
    }
}

/// The approval id on a message's `sopilot_approval` buttons.
pub fn approval_button_id(m: &sopilot_sim_slack::Message) -> Option<String> {
    let blocks = m.blocks.as_ref()?.as_array()?;
    let actions = blocks
        .iter()
        .find(|b| b["type"] == "actions" && b["block_id"] == "sopilot_approval")?;
    actions["elements"][0]["value"].as_str().map(str::to_owned)
}

/// The conversation text of a chat request, as a script's `when` reads it.
pub fn conversation(body: &Value) -> String {
    let mut t = String::new();
    for m in body["messages"].as_array().into_iter().flatten() {
        if let Some(c) = m["content"].as_str() {
            t.push_str(c);
            t.push('\n');
        }
        for c in m["tool_calls"].as_array().into_iter().flatten() {
            let name = c
                .pointer("/function/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let args = c
                .pointer("/function/arguments")
                .and_then(Value::as_str)
                .unwrap_or("");
            t.push_str(&format!("[call {name} {args}]\n"));
        }
    }
    t
}

/// What the model was sent, without its own earlier answers (the system prompt, the SOP's
/// instructions and every tool result).
pub fn sent_text(body: &Value) -> String {
    let mut t = String::new();
    for m in body["messages"].as_array().into_iter().flatten() {
        if m["role"] == "assistant" {
            continue;
        }
        match &m["content"] {
            Value::String(s) => t.push_str(s),
            other => t.push_str(&other.to_string()),
        }
        t.push('\n');
    }
    t
}

fn substitute(v: &mut Value, with: &[(&'static str, String)]) {
    match v {
        Value::String(s) => {
            for (k, val) in with {
                if s.contains(k) {
                    *s = s.replace(k, val);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, with)),
        Value::Object(m) => m.values_mut().for_each(|x| substitute(x, with)),
        _ => {}
    }
}

async fn completions(State(s): State<ModelServer>, Json(body): Json<Value>) -> Json<Value> {
    let n = {
        let mut r = s.inner.requests.lock().unwrap();
        r.push(body.clone());
        r.len()
    };
    let model = s.inner.script.lock().unwrap().clone();
    let Some(model) = model else {
        return Json(reply(
            n,
            &body,
            json!({"role": "assistant", "content": ""}),
            "stop",
            0,
        ));
    };
    let r = model.answer(&conversation(&body));
    let with = s.placeholders();
    let calls: Vec<Value> = r
        .tool_calls
        .iter()
        .map(|c| {
            let mut args = c.arguments.clone();
            substitute(&mut args, &with);
            s.inner
                .calls
                .lock()
                .unwrap()
                .push((c.name.clone(), args.clone()));
            // A string is sent as the raw `arguments` text: a model emitting broken JSON.
            let raw = match &args {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            json!({"id": c.id, "type": "function",
                   "function": {"name": c.name, "arguments": raw}})
        })
        .collect();
    let mut message = json!({"role": "assistant", "content": r.text});
    let finish = if calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    Json(reply(n, &body, message, finish, r.usage.input))
}

fn reply(n: usize, body: &Value, message: Value, finish: &str, input: u64) -> Value {
    json!({
        "id": format!("chatcmpl-attack-{n}"), "object": "chat.completion", "created": 0,
        "model": body.get("model").cloned().unwrap_or(Value::Null),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": input, "completion_tokens": 1, "total_tokens": input + 1},
    })
}
