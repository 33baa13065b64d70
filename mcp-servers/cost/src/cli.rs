//! The `mcp-cost` command line, shared by the `mcp-cost` binary and `sopilot mcp-server cost`.

use std::process::ExitCode;

use sopilot_mcp_common::cli::AwsArgs;

/// AWS Cost Explorer over MCP: spend by service, usage type and tag, period comparisons ranked
/// by driver, forecasts. Read-only.
#[derive(Debug, clap::Parser)]
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
pub struct Cli {
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Loads the AWS configuration and serves until the client goes away or a signal arrives.
pub async fn run(cli: Cli) -> ExitCode {
    cli.aws
        .serve("mcp-cost", |config, attempts| {
            crate::CostTools::new(crate::Clients::new(config, attempts))
        })
        .await
}
