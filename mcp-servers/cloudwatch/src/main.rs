//! `mcp-cloudwatch`: parse arguments, load the AWS configuration, serve.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use sopilot_mcp_common::{Transport, init_logging, serve};

/// CloudWatch metrics, alarms and Logs for incident response, over MCP. Read-only.
#[derive(Debug, Parser)]
#[command(
    name = "mcp-cloudwatch",
    version,
    after_help = "\
Examples:
  AWS_REGION=us-east-1 mcp-cloudwatch                      stdio, for an MCP client config
  mcp-cloudwatch --http 127.0.0.1:8812                     streamable HTTP at http://127.0.0.1:8812/mcp
  AWS_ENDPOINT_URL=http://127.0.0.1:4566 mcp-cloudwatch    against a local endpoint

Credentials and region come from the standard AWS chain (environment, ~/.aws profiles, SSO,
web identity, instance or container roles); a missing region is an error at startup.
Logs go to stderr (RUST_LOG=debug for more)."
)]
struct Cli {
    /// Serve streamable HTTP at http://ADDR/mcp instead of stdio.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// Attempts per AWS call; throttling and 5xx are retried with exponential backoff.
    #[arg(long, env = "AWS_MAX_ATTEMPTS", default_value_t = 4, value_name = "N")]
    max_attempts: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let config = match mcp_cloudwatch::load(cli.max_attempts).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(1);
        }
    };
    let tools = mcp_cloudwatch::CloudWatchTools::new(mcp_cloudwatch::Clients::new(
        &config,
        cli.max_attempts,
    ));
    let transport = cli.http.map_or(Transport::Stdio, Transport::Http);
    match serve("mcp-cloudwatch", move || tools.clone(), transport).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(1)
        }
    }
}
