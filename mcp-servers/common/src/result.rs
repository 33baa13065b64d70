//! Tool results: text for the reader, structured content for programs.

use rmcp::model::{CallToolResult, ContentBlock};
use serde::Serialize;

/// A successful result with text only.
pub fn ok(text: impl Into<String>) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(text)])
}

/// A successful result with text and structured content beside it.
pub fn ok_json(text: impl Into<String>, structured: &impl Serialize) -> CallToolResult {
    let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
    r.structured_content = serde_json::to_value(structured).ok();
    r
}

/// A tool-level error: the request was valid but the tool could not do it. The message
/// reaches the model, so it should say what to change (a namespace, a name, a selector).
pub fn tool_error(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}
