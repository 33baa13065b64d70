//! The `sopilot` binary's integration tests (the CLI, `serve` and its doors, the MCP gateway, the
//! attack suite), in one test binary: every other file of `tests/all/` is a module of it, so the
//! crate and its dependencies are linked once for all of them (`cargo nextest run -p sopilot
//! MODULE::` runs one file's tests).

mod pg_support;
mod slack_support;
mod sns_support;
mod support;

mod attacks;
mod bedrock;
mod cli;
mod console;
mod deploy;
mod doctor;
mod eval;
mod helm;
mod investigations;
mod jira;
mod karpenter;
mod mcp_conformance;
mod mcp_gateway;
mod otel;
mod predictive;
mod prometheus;
mod rbac;
mod runs;
mod serve;
mod serve_failover;
mod serve_leader;
mod serve_schedule;
mod serve_slack;
mod serve_slack_socket;
mod serve_slack_sources;
mod serve_sns;
mod serve_watch;
mod store_postgres;
mod targets;
mod zonal_shift;
