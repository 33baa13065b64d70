//! `--model PROVIDER:MODEL`: which client a run uses.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::{LlmError, ModelClient, OpenAiClient, Script, ScriptedModel};

/// What `--model` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    /// An OpenAI-compatible endpoint (`OPENAI_BASE_URL`, `OPENAI_API_KEY`).
    OpenAi {
        model: String,
        base_url: Option<String>,
    },
    /// Amazon Bedrock Converse (standard AWS credential chain and region).
    Bedrock { model_id: String },
    /// A script file.
    Scripted(PathBuf),
    /// No model: tool blocks only, every judgement escalated.
    None,
}

impl std::str::FromStr for ModelSpec {
    type Err = LlmError;

    fn from_str(s: &str) -> Result<Self, LlmError> {
        let bad = || {
            LlmError::Config(format!(
                "--model {s:?}: use openai:MODEL, bedrock:MODEL_ID, scripted:FILE or none"
            ))
        };
        if s == "none" {
            return Ok(ModelSpec::None);
        }
        let (provider, rest) = s.split_once(':').ok_or_else(bad)?;
        if rest.is_empty() {
            return Err(bad());
        }
        Ok(match provider {
            "openai" => ModelSpec::OpenAi {
                model: rest.to_owned(),
                base_url: None,
            },
            "bedrock" => ModelSpec::Bedrock {
                model_id: rest.to_owned(),
            },
            "scripted" => ModelSpec::Scripted(PathBuf::from(rest)),
            _ => return Err(bad()),
        })
    }
}

/// Builds the client a spec names; `None` for `none`. Not Bedrock: see
/// `sopilot_llm_bedrock::BedrockClient`.
pub fn build_client(
    spec: &ModelSpec,
    timeout: Duration,
) -> Result<Option<Arc<dyn ModelClient>>, LlmError> {
    Ok(match spec {
        ModelSpec::None => None,
        ModelSpec::OpenAi { model, base_url } => Some(Arc::new(OpenAiClient::new(
            model,
            base_url.clone(),
            None,
            timeout,
        ))),
        ModelSpec::Scripted(path) => {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("script")
                .to_owned();
            Some(Arc::new(ScriptedModel::new(name, Script::from_file(path)?)))
        }
        // The Bedrock client is in sopilot-llm-bedrock, which depends on this crate; the
        // binary builds it (`BedrockClient::from_env`). Reaching this is a wiring bug.
        ModelSpec::Bedrock { model_id } => {
            return Err(LlmError::Config(format!(
                "bedrock:{model_id}: this builder cannot make Bedrock clients; build them with sopilot_llm_bedrock::BedrockClient::from_env"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!("none".parse::<ModelSpec>().unwrap(), ModelSpec::None);
        assert_eq!(
            "openai:gpt-4.1".parse::<ModelSpec>().unwrap(),
            ModelSpec::OpenAi {
                model: "gpt-4.1".into(),
                base_url: None
            }
        );
        assert_eq!(
            "scripted:x.yaml".parse::<ModelSpec>().unwrap(),
            ModelSpec::Scripted("x.yaml".into())
        );
        // Bedrock model ids and inference profiles carry colons of their own.
        assert_eq!(
            "bedrock:us.anthropic.claude-3-5-sonnet-20241022-v2:0"
                .parse::<ModelSpec>()
                .unwrap(),
            ModelSpec::Bedrock {
                model_id: "us.anthropic.claude-3-5-sonnet-20241022-v2:0".into()
            }
        );
        for bad in ["gpt-4", "openai:", "claude:x", "bedrock:"] {
            assert!(bad.parse::<ModelSpec>().is_err(), "{bad}");
        }
    }
}
