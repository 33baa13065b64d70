//! `mcp-arc`: parse arguments, serve.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    mcp_arc::cli::run(mcp_arc::cli::Cli::parse()).await
}
