//! Model clients (OpenAI-compatible, Bedrock Converse, scripted). Arrives with the runtime issue.
//!
//! Empty for now: the folder exists so the workspace has its final shape.
