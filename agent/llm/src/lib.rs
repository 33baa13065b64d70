//! Model clients for SOPilot's run loop.
//!
//! [`ModelClient`] has one required method, `complete`: given the system prompt, the
//! conversation and the tools on offer, return text and/or tool calls. Providers:
//! OpenAI-compatible endpoints through async-openai (OpenAI, Azure OpenAI, vLLM, Ollama,
//! LiteLLM and SOPilot's simulated model), and `scripted:<file>`, a deterministic model for
//! tests, demos and rehearsals. Amazon Bedrock Converse implements [`ModelClient`] in the
//! `sopilot-llm-bedrock` crate, so that only the binary compiles the AWS SDK. Tool names
//! here are the model-facing `SERVER__TOOL`; the runtime maps them back, and gates every
//! call whatever the model says.

mod error;
mod openai;
mod price;
mod schema;
mod script;
mod spec;
mod types;

pub use error::LlmError;
pub use openai::OpenAiClient;
pub use price::{Price, PriceTable};
pub use schema::{for_each_subschema, normalize_schema};
pub use script::{ScriptedModel, conversation_text};
pub use sopilot_script::{Script, ScriptCall, ScriptTurn, When};
pub use spec::{ModelSpec, build_client};
pub use types::{
    Message, ModelRequest, ModelResponse, StopReason, ToolCallRequest, ToolSpec, Usage,
};

/// A model that plans: one required method.
#[async_trait::async_trait]
pub trait ModelClient: Send + Sync + std::fmt::Debug {
    /// One turn: the model answers with text, tool calls, or both.
    async fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, LlmError>;

    /// A short name for logs and reports, e.g. `openai:gpt-4.1`.
    fn name(&self) -> String;
}
