//! `mcp-cost`: parse arguments, load the AWS configuration, serve.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use sopilot_mcp_common::{Transport, init_logging, serve};

/// AWS Cost Explorer over MCP: spend by service, usage type and tag, period comparisons ranked
/// by driver, forecasts. Read-only.
#[derive(Debug, Parser)]
#[command(
    name = "mcp-cost",
    version,
    after_help = "\
Examples:
  AWS_REGION=us-east-1 mcp-cost                    stdio, for an MCP client config
  mcp-cost --http 127.0.0.1:8813                   streamable HTTP at http://127.0.0.1:8813/mcp
  AWS_ENDPOINT_URL=http://127.0.0.1:4566 mcp-cost  against a local endpoint

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
    let config = match mcp_cost::load(cli.max_attempts).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(1);
        }
    };
    let tools = mcp_cost::CostTools::new(mcp_cost::Clients::new(&config, cli.max_attempts));
    let transport = cli.http.map_or(Transport::Stdio, Transport::Http);
    match serve("mcp-cost", move || tools.clone(), transport).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(1)
        }
    }
}
