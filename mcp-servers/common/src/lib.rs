//! Shared plumbing for the MCP servers (transports, output shaping, redaction). Arrives with the Kubernetes issue.
//!
//! Empty for now: the folder exists so the workspace has its final shape.
