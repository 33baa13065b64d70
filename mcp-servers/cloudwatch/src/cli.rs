//! The `mcp-cloudwatch` command line, shared by the `mcp-cloudwatch` binary and `sopilot mcp-server cloudwatch`.

use std::process::ExitCode;

use sopilot_mcp_common::cli::AwsArgs;

/// CloudWatch metrics, alarms and Logs for incident response, over MCP. Read-only.
#[derive(Debug, clap::Parser)]
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
pub struct Cli {
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Loads the AWS configuration and serves until the client goes away or a signal arrives.
pub async fn run(cli: Cli) -> ExitCode {
    cli.aws
        .serve("mcp-cloudwatch", |config, attempts| {
            crate::CloudWatchTools::new(crate::Clients::new(config, attempts))
        })
        .await
}
