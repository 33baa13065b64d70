//! `mcp-cloudwatch`: parse arguments, serve.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    mcp_cloudwatch::cli::run(mcp_cloudwatch::cli::Cli::parse()).await
}
