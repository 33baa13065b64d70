//! The Cost Explorer MCP server. Arrives with the AWS issue.
//!
//! Empty for now: the folder exists so the workspace has its final shape.
