//! Provider-neutral conversation types.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A tool offered to the model, under its model-facing name `SERVER__TOOL`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments, already normalised for providers.
    pub input_schema: Value,
}

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallRequest {
    pub id: String,
    /// The model-facing name, as the model wrote it (it may name a tool never offered).
    pub name: String,
    pub arguments: Value,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    User {
        content: String,
    },
    Assistant {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCallRequest>,
    },
    Tool {
        call_id: String,
        content: String,
        is_error: bool,
    },
}

impl Message {
    /// The text a person (or a scripted model) would read in this message.
    pub fn text(&self) -> String {
        match self {
            Message::User { content } => content.clone(),
            Message::Assistant { text, tool_calls } => {
                let mut t = text.clone().unwrap_or_default();
                for c in tool_calls {
                    t.push_str(&format!("\n[call {} {}]", c.name, c.arguments));
                }
                t
            }
            Message::Tool { content, .. } => content.clone(),
        }
    }
}

/// One model turn's input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelRequest {
    pub system: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    pub max_output_tokens: u32,
}

/// Tokens used by one turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, o: Usage) {
        self.input += o.input;
        self.output += o.output;
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// It answered.
    EndTurn,
    /// It wants tools run.
    ToolUse,
    /// It ran out of output tokens.
    MaxTokens,
    Other,
}

/// One model turn's output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelResponse {
    pub text: Option<String>,
    pub tool_calls: Vec<ToolCallRequest>,
    pub usage: Usage,
    pub stop: StopReason,
}
