//! `--model PROVIDER:MODEL` → a model client.
//!
//! Bedrock is built here rather than in `sopilot-llm`: its client lives in
//! `sopilot-llm-bedrock` (the AWS SDK), which depends on `sopilot-llm`, not the other way.

use std::sync::Arc;
use std::time::Duration;

use sopilot_llm::{LlmError, ModelClient, ModelSpec};
use sopilot_llm_bedrock::{BedrockClient, BedrockOptions};

/// Builds the client a spec names; `None` for `none`. `timeout` bounds one model turn.
pub(crate) async fn build_client(
    spec: &ModelSpec,
    timeout: Duration,
) -> Result<Option<Arc<dyn ModelClient>>, LlmError> {
    match spec {
        ModelSpec::Bedrock { model_id } => {
            let client = BedrockClient::from_env(model_id, BedrockOptions::new(timeout)).await?;
            Ok(Some(Arc::new(client)))
        }
        ModelSpec::OpenAi { .. } | ModelSpec::Scripted(_) | ModelSpec::None => {
            sopilot_llm::build_client(spec, timeout)
        }
    }
}
