//! The scripted model: a [`ModelClient`] that plays a [`Script`] (the format and the player
//! live in `sopilot-script`, shared with the simulated model endpoint), for tests, demos
//! and rehearsals.

use sopilot_script::{Answer, Player, Script};

use crate::{
    LlmError, ModelClient, ModelRequest, ModelResponse, StopReason, ToolCallRequest, Usage,
};

impl From<sopilot_script::ScriptError> for LlmError {
    fn from(e: sopilot_script::ScriptError) -> Self {
        LlmError::Script {
            file: e.file,
            message: e.message,
        }
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

/// A model that plays a [`Script`].
#[derive(Debug)]
pub struct ScriptedModel {
    name: String,
    player: Player,
}

impl ScriptedModel {
    /// A model playing `script`; `name` appears in reports.
    pub fn new(name: impl Into<String>, script: Script) -> Self {
        Self {
            name: name.into(),
            player: Player::new(script),
        }
    }

    /// Answers for a conversation (the same player as the simulated model endpoint's).
    pub fn answer(&self, conversation: &str) -> ModelResponse {
        response(self.player.answer(conversation))
    }
}

/// A script's answer as a model turn.
fn response(answer: Answer) -> ModelResponse {
    let tool_calls: Vec<ToolCallRequest> = answer
        .calls
        .into_iter()
        .map(|c| ToolCallRequest {
            id: c.id,
            name: c.name,
            arguments: c.arguments,
        })
        .collect();
    ModelResponse {
        stop: if tool_calls.is_empty() {
            StopReason::EndTurn
        } else {
            StopReason::ToolUse
        },
        text: answer.text,
        tool_calls,
        usage: Usage {
            input: answer.input_tokens,
            output: answer.output_tokens,
        },
    }
}

#[async_trait::async_trait]
impl ModelClient for ScriptedModel {
    async fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, LlmError> {
        let answer = self
            .player
            .answer(&conversation_text(&request.system, &request.messages));
        if let Some(pause) = answer.pause {
            tokio::time::sleep(pause).await;
        }
        Ok(response(answer))
    }

    fn name(&self) -> String {
        format!("scripted:{}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sopilot_protocol::ToolRef;

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
            .map_err(LlmError::from)
            .unwrap_err()
            .to_string();
        assert!(err.contains("s.yaml") && err.contains("line 2"), "{err}");
        let err = Script::from_yaml("s.yaml", "turns:\n  - calls: [{a.b: {}, c.d: {}}]\n")
            .map_err(LlmError::from)
            .unwrap_err()
            .to_string();
        assert!(err.contains("one `SERVER.TOOL"), "{err}");
    }

    /// The mapping `ToolRef` owns, for a name a script may hold.
    fn tool_ref_name(tool: &str) -> String {
        tool.parse::<ToolRef>()
            .map_or_else(|_| tool.to_owned(), |t| t.model_name())
    }

    #[test]
    fn the_script_names_tools_as_tool_ref_does() {
        let long = |n: usize| format!("s.{}", "t".repeat(n));
        let mut names: Vec<String> = [
            "kubectl.scale",
            "my-srv.a__b",
            "evil_tool",
            "a__b.c",
            "a_.b",
            "_a.b",
            "a-.b",
            ".b",
            "a.",
            "",
            ".",
            "a.b c",
            "a.b.c",
            "a.b-c_D9",
            "kubectl.delete pod",
            "ü.b",
            "a.b\n",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        names.extend([long(59), long(60), long(61), long(62)]);
        for name in names {
            assert_eq!(
                sopilot_script::model_name(&name),
                tool_ref_name(&name),
                "{name:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_name_maps_as_tool_ref_maps_it(name in "[a-zA-Z0-9_. -]{0,70}") {
            proptest::prop_assert_eq!(sopilot_script::model_name(&name), tool_ref_name(&name));
        }
    }
}
