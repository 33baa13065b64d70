//! Free text routed by the model, when one is configured: it is offered one tool,
//! `sopilot__choose_sop`, with the SOP library in its instructions. Its choice is checked
//! against the library (an unknown SOP or a missing required parameter is refused) and only
//! picks what to run: every tool call of the run is still gated by the policy.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Map, Value, json};
use sopilot_llm::{Message, ModelClient, ModelRequest, ToolSpec};
use sopilot_sop::Sop;

use super::intent::Pick;

/// The longest the model may take to choose.
pub const CHOOSE_TIMEOUT: Duration = Duration::from_secs(30);
/// The model-facing name of the one tool offered.
pub const TOOL: &str = "sopilot__choose_sop";

/// What the model made of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// An SOP of the library with its required parameters.
    Run(Pick),
    /// No SOP, and the model's one-line reason (may be empty).
    Nothing(String),
}

fn instructions(sops: &[Sop]) -> String {
    let mut o = String::from(
        "Route this Slack request to an SOP. You are SOPilot's router: read a request from an incident channel and call sopilot__choose_sop with the SOP that handles it and every parameter value the request gives. Use only values written in the request; never invent a namespace, pod or service. If no SOP fits, do not call the tool: answer in one sentence why.\n\nSOPs:",
    );
    for sop in sops {
        let _ = write!(
            o,
            "\n- {}: {}",
            sop.name,
            sop.front.description.as_deref().unwrap_or(&sop.title)
        );
        for p in &sop.parameters {
            let _ = write!(
                o,
                "\n    - {} ({}): {}",
                p.name,
                if p.required && p.default.is_none() {
                    "required"
                } else {
                    "optional"
                },
                p.description
            );
        }
    }
    o
}

fn tool(sops: &[Sop]) -> ToolSpec {
    let names: Vec<&str> = sops.iter().map(|s| s.name.as_str()).collect();
    ToolSpec {
        name: TOOL.into(),
        description:
            "Start the SOP that handles the request, with the parameter values the request gives."
                .into(),
        input_schema: json!({
            "type": "object",
            "properties": {
                "sop": {"type": "string", "enum": names, "description": "The SOP's name."},
                "params": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "Parameter values taken from the request, by parameter name."},
            },
            "required": ["sop"],
        }),
    }
}

/// Checks the model's call against the library.
fn checked(sops: &[Sop], args: &Value) -> Result<Pick, String> {
    let name = args.get("sop").and_then(Value::as_str).unwrap_or_default();
    let sop = sops
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| format!("the model chose an unknown SOP {name:?}"))?;
    let given = args
        .get("params")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(Map::new);
    let mut params = std::collections::BTreeMap::new();
    for (k, v) in given {
        if !sop.parameters.iter().any(|p| p.name == k) {
            continue;
        }
        let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        if !v.trim().is_empty() {
            params.insert(k, v);
        }
    }
    let missing: Vec<&str> = sop
        .parameters
        .iter()
        .filter(|p| p.required && p.default.is_none() && !params.contains_key(&p.name))
        .map(|p| p.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "That sounds like `{}`, which needs {}. Say `run {} {}`.",
            sop.name,
            missing.join(", "),
            sop.name,
            missing
                .iter()
                .map(|m| format!("{m}=…"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    Ok(Pick {
        sop: sop.name.clone(),
        params,
    })
}

/// Asks `model` which SOP `text` needs. `Err(Some(answer))`: the model chose what the
/// library refuses, and `answer` tells the person why; `Err(None)`: the model could not be
/// asked, and the caller falls back to keywords.
pub async fn choose(
    model: &dyn ModelClient,
    sops: &[Sop],
    text: &str,
) -> Result<Choice, Option<String>> {
    let request = ModelRequest {
        system: instructions(sops),
        messages: vec![Message::User {
            content: format!("Request: {text}"),
        }],
        tools: vec![tool(sops)],
        max_output_tokens: 512,
    };
    let response = match tokio::time::timeout(CHOOSE_TIMEOUT, model.complete(&request)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::warn!("the model could not route a Slack request: {e}");
            return Err(None);
        }
        Err(_) => {
            tracing::warn!("the model took too long to route a Slack request");
            return Err(None);
        }
    };
    match response.tool_calls.iter().find(|c| c.name == TOOL) {
        Some(call) => checked(sops, &call.arguments)
            .map(Choice::Run)
            .map_err(Some),
        None => Ok(Choice::Nothing(
            response.text.unwrap_or_default().trim().to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library() -> Vec<Sop> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sops");
        ["pod-crashloop", "oom-killed"]
            .iter()
            .map(|n| {
                let text = std::fs::read_to_string(root.join(format!("{n}.sop.md"))).unwrap();
                sopilot_sop::load(n, &text).unwrap().0
            })
            .collect()
    }

    fn model(script: &str) -> sopilot_llm::ScriptedModel {
        sopilot_llm::ScriptedModel::new("t", sopilot_llm::Script::from_yaml("t", script).unwrap())
    }

    #[tokio::test]
    async fn the_models_choice_is_checked() {
        let sops = library();
        let m = model(
            "turns:\n  - when: {contains: [Route this Slack request, keeps restarting]}\n    calls:\n      - sopilot.choose_sop: {sop: pod-crashloop, params: {namespace: payment, pod: p-1, invented: x}}\n",
        );
        let c = choose(&m, &sops, "payment p-1 keeps restarting")
            .await
            .unwrap();
        let Choice::Run(p) = c else { panic!("{c:?}") };
        assert_eq!(p.sop, "pod-crashloop");
        assert_eq!(
            p.params.len(),
            2,
            "unknown parameters are dropped: {:?}",
            p.params
        );

        let m = model("turns:\n  - calls:\n      - sopilot.choose_sop: {sop: rm-rf, params: {}}\n");
        let e = choose(&m, &sops, "x").await.unwrap_err().unwrap();
        assert!(e.contains("unknown SOP"), "{e}");

        let m = model(
            "turns:\n  - calls:\n      - sopilot.choose_sop: {sop: oom-killed, params: {namespace: payment}}\n",
        );
        let e = choose(&m, &sops, "x").await.unwrap_err().unwrap();
        assert!(e.contains("needs pod"), "{e}");

        let m = model("turns:\n  - say: Nothing here is an incident.\n");
        assert_eq!(
            choose(&m, &sops, "x").await.unwrap(),
            Choice::Nothing("Nothing here is an incident.".into())
        );
    }
}
