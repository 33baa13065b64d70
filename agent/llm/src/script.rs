//! The scripted model: deterministic answers for tests, demos and rehearsals.
//!
//! ```yaml
//! turns:
//!   - calls:                                   # answered in order...
//!       - kubectl.get_deployment: {namespace: payment, name: payment-service}
//!   - when: {contains: "revision 15"}          # ...a `when` waits for evidence
//!     say: The errors began with revision 15.
//!     calls:
//!       - kubectl.rollout_undo: {namespace: payment, name: payment-service}
//! ```
//!
//! Each request is answered by the first unused turn whose `when` holds for the
//! conversation so far. When none does, the model answers with nothing more to do. Calls are
//! written `SERVER.TOOL: {args}` like SOP tool blocks; a name that is not a valid tool is
//! passed through as written, so scripts can play a model that invents tools.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sopilot_protocol::ToolRef;

use crate::{
    LlmError, ModelClient, ModelRequest, ModelResponse, StopReason, ToolCallRequest, Usage,
};

/// A script file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    pub turns: Vec<ScriptTurn>,
}

/// One answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptTurn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub say: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<ScriptCall>,
}

/// When a turn may answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// Text the conversation must contain (every item, case-sensitive).
    #[serde(default, with = "one_or_many")]
    pub contains: Vec<String>,
    /// Text the conversation must not contain.
    #[serde(default, with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub absent: Vec<String>,
}

/// One call, written `SERVER.TOOL: {args}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    try_from = "serde_json::Map<String, Value>",
    into = "serde_json::Map<String, Value>"
)]
pub struct ScriptCall {
    pub tool: String,
    pub args: Value,
}

impl TryFrom<serde_json::Map<String, Value>> for ScriptCall {
    type Error = String;

    fn try_from(m: serde_json::Map<String, Value>) -> Result<Self, String> {
        let mut it = m.into_iter();
        match (it.next(), it.next()) {
            (Some((tool, args)), None) => Ok(ScriptCall {
                tool,
                args: if args.is_null() {
                    Value::Object(Default::default())
                } else {
                    args
                },
            }),
            _ => Err("each call is one `SERVER.TOOL: {args}` mapping".into()),
        }
    }
}

impl From<ScriptCall> for serde_json::Map<String, Value> {
    fn from(c: ScriptCall) -> Self {
        let mut m = serde_json::Map::new();
        m.insert(c.tool, c.args);
        m
    }
}

mod one_or_many {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::One(s) => vec![s],
            Raw::Many(v) => v,
        })
    }

    pub fn serialize<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v)
    }
}

impl Script {
    /// Parses a script from YAML; errors name the line.
    pub fn from_yaml(name: &str, text: &str) -> Result<Script, LlmError> {
        sopilot_yaml::from_str(text).map_err(|e| LlmError::Script {
            file: name.to_owned(),
            message: e.to_string(),
        })
    }

    /// Reads a script file.
    pub fn from_file(path: &std::path::Path) -> Result<Script, LlmError> {
        let text = std::fs::read_to_string(path).map_err(|e| LlmError::Script {
            file: path.display().to_string(),
            message: e.to_string(),
        })?;
        Script::from_yaml(&path.display().to_string(), &text)
    }
}

/// Everything a scripted model "reads": the system prompt and every message.
pub fn conversation_text(system: &str, messages: &[crate::Message]) -> String {
    let mut t = String::from(system);
    for m in messages {
        t.push('\n');
        t.push_str(&m.text());
    }
    t
}

/// The model-facing name of a scripted call (`kubectl.scale` → `kubectl__scale`).
fn model_name(tool: &str) -> String {
    tool.parse::<ToolRef>()
        .map_or_else(|_| tool.to_owned(), |t| t.model_name())
}

/// A model that plays a [`Script`].
#[derive(Debug)]
pub struct ScriptedModel {
    name: String,
    script: Script,
    used: Mutex<Vec<bool>>,
}

impl ScriptedModel {
    /// A model playing `script`; `name` appears in reports.
    pub fn new(name: impl Into<String>, script: Script) -> Self {
        let n = script.turns.len();
        Self {
            name: name.into(),
            script,
            used: Mutex::new(vec![false; n]),
        }
    }

    /// Answers for a conversation (shared with the simulated model endpoint).
    pub fn answer(&self, conversation: &str) -> ModelResponse {
        let mut used = match self.used.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let pick = self.script.turns.iter().enumerate().find(|(i, t)| {
            !used.get(*i).copied().unwrap_or(true)
                && t.when.as_ref().is_none_or(|w| {
                    w.contains.iter().all(|c| conversation.contains(c.as_str()))
                        && !w.absent.iter().any(|a| conversation.contains(a.as_str()))
                })
        });
        let input = (conversation.len() / 4) as u64;
        let Some((i, turn)) = pick else {
            return ModelResponse {
                text: Some(String::new()),
                tool_calls: Vec::new(),
                usage: Usage { input, output: 0 },
                stop: StopReason::EndTurn,
            };
        };
        if let Some(u) = used.get_mut(i) {
            *u = true;
        }
        let tool_calls: Vec<ToolCallRequest> = turn
            .calls
            .iter()
            .enumerate()
            .map(|(j, c)| ToolCallRequest {
                id: format!("call_{i}_{j}"),
                name: model_name(&c.tool),
                arguments: c.args.clone(),
            })
            .collect();
        let output = (turn.say.as_deref().unwrap_or("").len()
            + tool_calls
                .iter()
                .map(|c| c.arguments.to_string().len() + c.name.len())
                .sum::<usize>())
            / 4;
        ModelResponse {
            stop: if tool_calls.is_empty() {
                StopReason::EndTurn
            } else {
                StopReason::ToolUse
            },
            text: turn.say.clone(),
            tool_calls,
            usage: Usage {
                input,
                output: output as u64,
            },
        }
    }
}

#[async_trait::async_trait]
impl ModelClient for ScriptedModel {
    async fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, LlmError> {
        Ok(self.answer(&conversation_text(&request.system, &request.messages)))
    }

    fn name(&self) -> String {
        format!("scripted:{}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SCRIPT: &str = "turns:
  - calls:
      - kubectl.get_deployment: {namespace: payment, name: payment-service}
  - when: {contains: revision 15}
    say: Revision 15 broke it.
    calls:
      - kubectl.rollout_undo: {namespace: payment, name: payment-service}
      - evil_tool: {}
  - when: {contains: [rolled back, revision 14]}
    say: done
";

    #[test]
    fn plays_turns_in_order_and_waits_for_evidence() {
        let m = ScriptedModel::new("t", Script::from_yaml("t", SCRIPT).unwrap());
        let r = m.answer("start");
        assert_eq!(r.tool_calls[0].name, "kubectl__get_deployment");
        assert_eq!(r.stop, StopReason::ToolUse);
        // Turn 2 waits for "revision 15"; turn 3 for both texts.
        assert_eq!(m.answer("nothing yet").text.as_deref(), Some(""));
        let r = m.answer("current revision 15");
        assert_eq!(r.text.as_deref(), Some("Revision 15 broke it."));
        assert_eq!(r.tool_calls[1].name, "evil_tool");
        assert_eq!(
            r.tool_calls[0].arguments,
            json!({"namespace": "payment", "name": "payment-service"})
        );
        assert_eq!(
            m.answer("rolled back to revision 14").text.as_deref(),
            Some("done")
        );
    }

    #[test]
    fn bad_scripts_name_the_line() {
        let err = Script::from_yaml("s.yaml", "turns:\n  - sya: hi\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("s.yaml") && err.contains("line 2"), "{err}");
        let err = Script::from_yaml("s.yaml", "turns:\n  - calls: [{a.b: {}, c.d: {}}]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("one `SERVER.TOOL"), "{err}");
    }
}
