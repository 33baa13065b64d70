//! `mcp-prometheus`: parse arguments, serve.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    mcp_prometheus::cli::run(mcp_prometheus::cli::Cli::parse()).await
}
