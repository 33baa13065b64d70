//! The `mcp-arc` command line, shared by the `mcp-arc` binary and `sopilot mcp-server arc`.

use std::process::ExitCode;

use sopilot_mcp_common::cli::AwsArgs;

use crate::zones::ZoneMap;

/// ARC zonal shift over MCP: managed resources, zonal shifts (start and cancel with a dry-run
/// impact: the capacity left in the other zones).
#[derive(Debug, clap::Parser)]
#[command(
    name = "mcp-arc",
    version,
    after_help = "\
Examples:
  AWS_REGION=us-east-1 mcp-arc        stdio, for an MCP client config
  mcp-arc --http 127.0.0.1:8815       streamable HTTP at http://127.0.0.1:8815/mcp
  mcp-arc --az-ids us-east-1a=use1-az1,us-east-1b=use1-az2,us-east-1c=use1-az4

ARC names Availability Zones by ID (use1-az1); CloudWatch's load balancer metrics name them
by name (us-east-1a), and which name is which ID differs per account. Give the mapping
(aws ec2 describe-availability-zones --query 'AvailabilityZones[].[ZoneName,ZoneId]') so a
zonal shift's impact can count the healthy targets left in the other zones; without it the
capacity is reported unknown. Credentials and region come from the standard AWS chain; a
missing region is an error at startup. Logs go to stderr (RUST_LOG=debug for more)."
)]
pub struct Cli {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Zone name=zone ID pairs, comma-separated (us-east-1a=use1-az1,...).
    #[arg(long, env = "SOPILOT_AZ_IDS", value_name = "NAME=ID,...", value_parser = ZoneMap::parse)]
    pub az_ids: Option<ZoneMap>,
}

/// Loads the AWS configuration and serves until the client goes away or a signal arrives.
pub async fn run(cli: Cli) -> ExitCode {
    let zones = cli.az_ids.unwrap_or_default();
    cli.aws
        .serve("mcp-arc", move |config, attempts| {
            crate::ArcTools::new(crate::Clients::new(config, attempts, zones))
        })
        .await
}
