//! The command-line options every server shares, for flattening into its own clap parser
//! (which carries the server's name and help text): `--http ADDR` (stdio when absent) and,
//! for the AWS-backed servers, `--max-attempts`.

use std::net::SocketAddr;

use crate::Transport;

/// Where to serve: `--http ADDR`, else stdio.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct TransportArgs {
    /// Serve streamable HTTP at http://ADDR/mcp instead of stdio.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
}

impl TransportArgs {
    /// Streamable HTTP at the `--http` address, else stdio.
    pub fn transport(&self) -> Transport {
        self.http.map_or(Transport::Stdio, Transport::Http)
    }
}

/// The whole command line of an AWS-backed server (`mcp-cloudwatch`, `mcp-cost`).
#[cfg(feature = "aws")]
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct AwsArgs {
    #[command(flatten)]
    pub transport: TransportArgs,
    /// Attempts per AWS call; throttling and 5xx are retried with exponential backoff.
    #[arg(long, env = "AWS_MAX_ATTEMPTS", default_value_t = 4, value_name = "N")]
    pub max_attempts: u32,
}

#[cfg(feature = "aws")]
impl AwsArgs {
    /// Loads the AWS configuration, builds the tools from it and the attempts per call, and
    /// serves until the client goes away or a signal arrives ([`crate::aws::run_server`]).
    pub async fn serve<S, B>(self, name: &'static str, build: B) -> std::process::ExitCode
    where
        S: rmcp::ServerHandler + Clone + Send + Sync + 'static,
        B: FnOnce(&aws_config::SdkConfig, u32) -> S,
    {
        let attempts = self.max_attempts;
        let transport = self.transport.transport();
        crate::aws::run_server(name, attempts, transport, |config| build(config, attempts)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, clap::Parser)]
    #[command(name = "mcp-test")]
    struct Cli {
        #[command(flatten)]
        transport: TransportArgs,
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("mcp-test").chain(args.iter().copied()))
    }

    #[test]
    fn stdio_unless_http_is_given() {
        let cli = parse(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cli.transport.transport(), Transport::Stdio);
        let cli = parse(&["--http", "127.0.0.1:8811"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            cli.transport.transport(),
            Transport::Http(SocketAddr::from(([127, 0, 0, 1], 8811)))
        );
        let e = parse(&["--http", "localhost"]).map(|_| ()).err();
        assert!(e.is_some(), "an address is IP:PORT");
    }

    #[cfg(feature = "aws")]
    #[test]
    fn aws_servers_take_max_attempts() {
        #[derive(Debug, clap::Parser)]
        struct Aws {
            #[command(flatten)]
            aws: AwsArgs,
        }
        let parsed = Aws::try_parse_from(["mcp-test", "--max-attempts", "2"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.aws.max_attempts, 2);
        assert_eq!(parsed.aws.transport.transport(), Transport::Stdio);
    }
}
