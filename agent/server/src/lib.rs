//! The axum front ends (webhooks, Slack, HTTP API, MCP gateway). Arrives with the front-ends issue.
//!
//! Empty for now: the folder exists so the workspace has its final shape.
