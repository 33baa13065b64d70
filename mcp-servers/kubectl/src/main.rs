//! `mcp-kubectl`: parse arguments, serve.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    mcp_kubectl::cli::run(mcp_kubectl::cli::Cli::parse()).await
}
