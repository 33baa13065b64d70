//! `mcp-jira`: parse arguments, serve.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    mcp_jira::cli::run(mcp_jira::cli::Cli::parse()).await
}
