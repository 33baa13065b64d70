//! The script a scripted model plays: deterministic answers for tests, demos and rehearsals.
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
//! passed through as written, so scripts can play a model that invents tools, and arguments
//! written as a string (`kubectl.list_pods: "{namespace: pay"`) are sent as that raw text by
//! the model endpoints, so scripts can play a model that emits broken JSON.
//!
//! Pure (serde and `sopilot-yaml`, no I/O but [`Script::from_file`]): the format ([`Script`])
//! and the player ([`Player`]) that `sopilot-llm`'s scripted model and the simulated model
//! endpoint (`sopilot-sim-model`) share.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// Seconds to wait before answering (at most an hour): a slow model, or one that is still
    /// thinking when its process is killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_seconds: Option<u64>,
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

/// A script that could not be read or parsed; the message names the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("script {file}: {message}")]
pub struct ScriptError {
    /// The file (or the name the text was given).
    pub file: String,
    /// What is wrong, with the line for a parse error.
    pub message: String,
}

impl Script {
    /// Parses a script from YAML; errors name the line.
    pub fn from_yaml(name: &str, text: &str) -> Result<Script, ScriptError> {
        sopilot_yaml::from_str(text).map_err(|e| ScriptError {
            file: name.to_owned(),
            message: e.to_string(),
        })
    }

    /// Reads a script file.
    pub fn from_file(path: &std::path::Path) -> Result<Script, ScriptError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScriptError {
            file: path.display().to_string(),
            message: e.to_string(),
        })?;
        Script::from_yaml(&path.display().to_string(), &text)
    }
}

/// The longest function name model providers accept (as `sopilot_protocol`'s
/// `MAX_MODEL_NAME_LEN`).
const MAX_MODEL_NAME_LEN: usize = 64;

/// The model-facing name of a scripted call: `kubectl.scale` → `kubectl__scale` when the
/// name is a valid `SERVER.TOOL` (the rule of `sopilot_protocol::ToolRef`, which
/// `sopilot-llm`'s tests hold this to), anything else as written.
pub fn model_name(tool: &str) -> String {
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    match tool.split_once('.') {
        Some((server, name))
            if valid(server)
                && valid(name)
                && !server.contains("__")
                && !server.ends_with('_')
                && server.len() + 2 + name.len() <= MAX_MODEL_NAME_LEN =>
        {
            format!("{server}__{name}")
        }
        _ => tool.to_owned(),
    }
}

/// One tool call of an [`Answer`], under its model-facing name.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerCall {
    /// `call_TURN_CALL`, unique within a conversation.
    pub id: String,
    /// The model-facing name ([`model_name`]).
    pub name: String,
    pub arguments: Value,
}

/// What the script answers to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// What the turn says: `Some("")` when no turn answers.
    pub text: Option<String>,
    pub calls: Vec<AnswerCall>,
    /// Estimated tokens read: a quarter of the conversation's bytes.
    pub input_tokens: u64,
    /// Estimated tokens written: a quarter of the bytes said and called.
    pub output_tokens: u64,
    /// How long to wait before answering (the turn's `pause_seconds`, at most an hour).
    pub pause: Option<std::time::Duration>,
}

/// Plays a [`Script`]: each answer uses the first unused turn whose `when` holds.
#[derive(Debug)]
pub struct Player {
    script: Script,
    used: Mutex<Vec<bool>>,
}

impl Player {
    /// A player at the start of `script`.
    pub fn new(script: Script) -> Self {
        let n = script.turns.len();
        Self {
            script,
            used: Mutex::new(vec![false; n]),
        }
    }

    /// The answer to a conversation (everything the model "reads", as one text).
    pub fn answer(&self, conversation: &str) -> Answer {
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
        let input_tokens = (conversation.len() / 4) as u64;
        let Some((i, turn)) = pick else {
            return Answer {
                text: Some(String::new()),
                calls: Vec::new(),
                input_tokens,
                output_tokens: 0,
                pause: None,
            };
        };
        if let Some(u) = used.get_mut(i) {
            *u = true;
        }
        let calls: Vec<AnswerCall> = turn
            .calls
            .iter()
            .enumerate()
            .map(|(j, c)| AnswerCall {
                id: format!("call_{i}_{j}"),
                name: model_name(&c.tool),
                arguments: c.args.clone(),
            })
            .collect();
        let output = (turn.say.as_deref().unwrap_or("").len()
            + calls
                .iter()
                .map(|c| c.arguments.to_string().len() + c.name.len())
                .sum::<usize>())
            / 4;
        Answer {
            text: turn.say.clone(),
            calls,
            input_tokens,
            output_tokens: output as u64,
            pause: turn
                .pause_seconds
                .map(|s| std::time::Duration::from_secs(s.min(3600))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    const SCRIPT: &str = "turns:
  - calls:
      - kubectl.get_deployment: {namespace: payment, name: payment-service}
  - when: {contains: revision 15, absent: rolled back}
    say: Revision 15 broke it.
    calls:
      - kubectl.rollout_undo: {namespace: payment, name: payment-service}
      - evil_tool: {}
  - when: {contains: [rolled back, revision 14]}
    say: done
";

    #[test]
    fn turns_are_used_once_in_order_and_wait_for_evidence() {
        let p = Player::new(Script::from_yaml("t", SCRIPT).unwrap());
        let a = p.answer("start");
        assert_eq!(a.calls[0].name, "kubectl__get_deployment");
        assert_eq!(a.calls[0].id, "call_0_0");
        assert_eq!(a.text, None);
        assert_eq!(a.input_tokens, 1);
        // Turn 2 waits for "revision 15" and not "rolled back"; turn 3 for both texts.
        let nothing = p.answer("revision 15, rolled back");
        assert_eq!(nothing.text.as_deref(), Some(""));
        assert!(nothing.calls.is_empty());
        assert_eq!(nothing.output_tokens, 0);
        let a = p.answer("current revision 15");
        assert_eq!(a.text.as_deref(), Some("Revision 15 broke it."));
        assert_eq!(a.calls[1].name, "evil_tool");
        assert_eq!(a.calls[1].id, "call_1_1");
        assert_eq!(
            a.calls[0].arguments,
            json!({"namespace": "payment", "name": "payment-service"})
        );
        assert!(a.output_tokens > 0);
        assert_eq!(
            p.answer("rolled back to revision 14").text.as_deref(),
            Some("done")
        );
        // Every turn is used: nothing more to say.
        assert_eq!(p.answer("revision 15").text.as_deref(), Some(""));
    }

    #[test]
    fn invalid_tool_names_pass_through() {
        assert_eq!(model_name("kubectl.scale"), "kubectl__scale");
        assert_eq!(model_name("my-srv.a__b"), "my-srv__a__b");
        for as_written in ["evil_tool", "a__b.c", "a_.b", ".b", "a.", "a.b c", "a.b.c"] {
            assert_eq!(model_name(as_written), as_written);
        }
        // At most 64 characters as SERVER__TOOL.
        let too_long = format!("s.{}", "t".repeat(62));
        assert_eq!(model_name(&too_long), too_long);
        let longest = format!("s.{}", "t".repeat(61));
        assert_eq!(model_name(&longest), format!("s__{}", "t".repeat(61)));
    }

    #[test]
    fn bad_scripts_name_the_file_and_line() {
        let err = Script::from_yaml("s.yaml", "turns:\n  - sya: hi\n").unwrap_err();
        assert_eq!(err.file, "s.yaml");
        assert!(
            err.to_string().starts_with("script s.yaml: line 2"),
            "{err}"
        );
        let err = Script::from_file(std::path::Path::new("/nonexistent/s.yaml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/s.yaml"), "{err}");
    }

    #[test]
    fn scripts_round_trip_through_serde() {
        let script = Script::from_yaml("t", SCRIPT).unwrap();
        let value = serde_json::to_value(&script).unwrap();
        assert_eq!(value["turns"][1]["when"]["absent"], json!(["rolled back"]));
        assert_eq!(
            value["turns"][0]["calls"][0]["kubectl.get_deployment"]["namespace"],
            "payment"
        );
        let back: Script = serde_json::from_value(value).unwrap();
        assert_eq!(back, script);
    }
}
