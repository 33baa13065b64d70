//! `mcp-cost`: parse arguments, serve.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    mcp_cost::cli::run(mcp_cost::cli::Cli::parse()).await
}
