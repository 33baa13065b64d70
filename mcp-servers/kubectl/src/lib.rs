//! The Kubernetes MCP server. Arrives with the Kubernetes issue.
//!
//! Empty for now: the folder exists so the workspace has its final shape.
