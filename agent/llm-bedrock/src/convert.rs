//! SOPilot's provider-neutral conversation ⇄ Converse's shapes.

use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
use aws_sdk_bedrockruntime::types::{
    self as bt, ContentBlock, ConversationRole, InferenceConfiguration, SystemContentBlock, Tool,
    ToolConfiguration, ToolInputSchema, ToolResultBlock, ToolResultContentBlock, ToolResultStatus,
    ToolSpecification, ToolUseBlock,
};
use aws_smithy_types::{Document, Number};
use serde_json::{Map, Value};
use sopilot_llm::{Message, ModelRequest, ModelResponse, StopReason, ToolCallRequest, Usage};

use crate::BedrockError;
use crate::schema::bedrock_schema;

/// One Converse request's parts (the model id travels in the URL).
#[derive(Debug)]
pub(crate) struct ConverseParts {
    pub system: Vec<SystemContentBlock>,
    pub messages: Vec<bt::Message>,
    pub tool_config: Option<ToolConfiguration>,
    pub inference: InferenceConfiguration,
}

/// Builds a Converse request from a model turn.
///
/// Converse wants user and assistant turns strictly alternating and the results of one
/// assistant turn's tool calls together in the next user turn, so consecutive messages of
/// one role are merged (tool results first, as they come). It refuses toolUse/toolResult
/// blocks in a request without a tool configuration, so a turn that offers no tools (the
/// final report) carries the earlier calls and results as text.
pub(crate) fn request(r: &ModelRequest) -> Result<ConverseParts, BedrockError> {
    let calls_as_text = r.tools.is_empty();
    let mut turns: Vec<(ConversationRole, Vec<ContentBlock>)> = Vec::new();
    for m in &r.messages {
        let (role, blocks) = match m {
            Message::User { content } => (
                ConversationRole::User,
                vec![ContentBlock::Text(non_empty(content, "(empty)"))],
            ),
            Message::Assistant { text, tool_calls } => {
                let mut blocks = Vec::new();
                if let Some(t) = text.as_deref().filter(|t| !t.trim().is_empty()) {
                    blocks.push(ContentBlock::Text(t.to_owned()));
                }
                for c in tool_calls {
                    blocks.push(if calls_as_text {
                        ContentBlock::Text(format!(
                            "[tool call {}: {} {}]",
                            c.id, c.name, c.arguments
                        ))
                    } else {
                        ContentBlock::ToolUse(
                            ToolUseBlock::builder()
                                .tool_use_id(&c.id)
                                .name(&c.name)
                                .input(json_to_doc(&tool_input(&c.arguments)))
                                .build()
                                .map_err(|e| invalid("a tool call", &e))?,
                        )
                    });
                }
                (ConversationRole::Assistant, blocks)
            }
            Message::Tool {
                call_id,
                content,
                is_error,
            } => {
                let content = non_empty(content, "(no output)");
                let block = if calls_as_text {
                    let error = if *is_error { " (error)" } else { "" };
                    ContentBlock::Text(format!("[tool result for {call_id}{error}]\n{content}"))
                } else {
                    let mut b = ToolResultBlock::builder()
                        .tool_use_id(call_id)
                        .content(ToolResultContentBlock::Text(content));
                    if *is_error {
                        b = b.status(ToolResultStatus::Error);
                    }
                    ContentBlock::ToolResult(b.build().map_err(|e| invalid("a tool result", &e))?)
                };
                (ConversationRole::User, vec![block])
            }
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let messages = turns
        .into_iter()
        .map(|(role, content)| {
            bt::Message::builder()
                .role(role)
                .set_content(Some(content))
                .build()
                .map_err(|e| invalid("a message", &e))
        })
        .collect::<Result<Vec<_>, _>>()?;

    let tool_config = if r.tools.is_empty() {
        None
    } else {
        let mut config = ToolConfiguration::builder();
        for t in &r.tools {
            let mut spec =
                ToolSpecification::builder()
                    .name(&t.name)
                    .input_schema(ToolInputSchema::Json(json_to_doc(&bedrock_schema(
                        &t.input_schema,
                    ))));
            // Bedrock refuses an empty description.
            if !t.description.trim().is_empty() {
                spec = spec.description(&t.description);
            }
            config = config.tools(Tool::ToolSpec(
                spec.build().map_err(|e| invalid("a tool", &e))?,
            ));
        }
        Some(
            config
                .build()
                .map_err(|e| invalid("the tool configuration", &e))?,
        )
    };

    let mut inference = InferenceConfiguration::builder();
    if r.max_output_tokens > 0 {
        inference = inference.max_tokens(i32::try_from(r.max_output_tokens).unwrap_or(i32::MAX));
    }
    let system = if r.system.trim().is_empty() {
        Vec::new()
    } else {
        vec![SystemContentBlock::Text(r.system.clone())]
    };
    Ok(ConverseParts {
        system,
        messages,
        tool_config,
        inference: inference.build(),
    })
}

/// Reads a Converse answer.
pub(crate) fn response(out: &ConverseOutput) -> Result<ModelResponse, BedrockError> {
    let message = match out.output() {
        Some(bt::ConverseOutput::Message(m)) => m,
        // The SDK fills a missing `output` with `Unknown`, as it does a union member it
        // does not know.
        _ => {
            return Err(BedrockError::Malformed(
                "no `output.message` in the Converse response".into(),
            ));
        }
    };
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in message.content() {
        match block {
            ContentBlock::Text(t) => text.push_str(t),
            ContentBlock::ToolUse(u) => {
                if u.tool_use_id().is_empty() || u.name().is_empty() {
                    return Err(BedrockError::Malformed(format!(
                        "a toolUse block without a toolUseId or a name (toolUseId {:?}, name {:?})",
                        u.tool_use_id(),
                        u.name()
                    )));
                }
                tool_calls.push(ToolCallRequest {
                    id: u.tool_use_id().to_owned(),
                    name: u.name().to_owned(),
                    arguments: doc_to_json(u.input()),
                });
            }
            // Reasoning, citations and media are not part of SOPilot's conversation.
            _ => {}
        }
    }
    let stop = match out.stop_reason() {
        bt::StopReason::EndTurn | bt::StopReason::StopSequence => StopReason::EndTurn,
        bt::StopReason::ToolUse => StopReason::ToolUse,
        bt::StopReason::MaxTokens | bt::StopReason::ModelContextWindowExceeded => {
            StopReason::MaxTokens
        }
        // Guardrails, content filters, malformed model output, and reasons newer than this
        // SDK (a missing stopReason included) say nothing more specific.
        _ if !tool_calls.is_empty() => StopReason::ToolUse,
        _ => StopReason::Other,
    };
    let usage = out.usage().map_or_else(Usage::default, |u| {
        let n = |t: Option<i32>| t.and_then(|t| u64::try_from(t).ok()).unwrap_or(0);
        Usage {
            // Cached prompt tokens are input tokens too; Converse counts them apart.
            input: n(Some(u.input_tokens()))
                + n(u.cache_read_input_tokens())
                + n(u.cache_write_input_tokens()),
            output: n(Some(u.output_tokens())),
        }
    });
    Ok(ModelResponse {
        text: (!text.is_empty()).then_some(text),
        tool_calls,
        usage,
        stop,
    })
}

fn invalid(what: &str, e: &dyn std::fmt::Display) -> BedrockError {
    BedrockError::InvalidRequest(format!("{what}: {e}"))
}

fn non_empty(s: &str, placeholder: &str) -> String {
    if s.trim().is_empty() {
        placeholder.to_owned()
    } else {
        s.to_owned()
    }
}

/// Converse wants a tool call's input to be an object. Arguments that were not (only a
/// model can write such a call, and the gate refused it) are echoed back wrapped.
fn tool_input(arguments: &Value) -> Value {
    match arguments {
        Value::Object(_) => arguments.clone(),
        other => {
            let mut m = Map::new();
            m.insert("arguments".into(), other.clone());
            Value::Object(m)
        }
    }
}

/// JSON → the SDK's `Document` (it has no serde conversion outside unstable builds).
pub(crate) fn json_to_doc(v: &Value) -> Document {
    match v {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap_or(0.0))
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(a) => Document::Array(a.iter().map(json_to_doc).collect()),
        Value::Object(o) => {
            Document::Object(o.iter().map(|(k, v)| (k.clone(), json_to_doc(v))).collect())
        }
    }
}

/// The SDK's `Document` → JSON. A non-finite float (JSON has none) becomes `null`.
pub(crate) fn doc_to_json(d: &Document) -> Value {
    match d {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        Document::String(s) => Value::String(s.clone()),
        Document::Array(a) => Value::Array(a.iter().map(doc_to_json).collect()),
        Document::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), doc_to_json(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_round_trip() {
        let v = json!({"a": [1, -2, 2.5, true, null, "s"], "b": {"c": {}}, "big": u64::MAX});
        assert_eq!(doc_to_json(&json_to_doc(&v)), v);
        assert_eq!(
            doc_to_json(&Document::Number(Number::Float(f64::NAN))),
            Value::Null
        );
    }
}
