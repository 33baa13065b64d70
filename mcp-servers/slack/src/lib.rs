//! The Slack MCP server. Arrives with the AWS and Slack issue.
//!
//! Empty for now: the folder exists so the workspace has its final shape.
