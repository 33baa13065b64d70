//! `mcp-slack`: parse arguments, serve.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    mcp_slack::cli::run(mcp_slack::cli::Cli::parse()).await
}
