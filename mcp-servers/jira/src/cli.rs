//! The `mcp-jira` command line, shared by the `mcp-jira` binary (and, later, `sopilot
//! mcp-server jira`).

use std::process::ExitCode;

use sopilot_mcp_common::cli::TransportArgs;
use sopilot_mcp_common::{init_logging, redact, serve_main};

/// Jira tools for incident response, over MCP, confined to --projects.
#[derive(Debug, clap::Parser)]
#[command(
    name = "mcp-jira",
    version,
    after_help = "\
Examples:
  mcp-jira --projects OPS                          over stdio
  mcp-jira --projects OPS,PAY --http 127.0.0.1:8815   streamable HTTP at http://127.0.0.1:8815/mcp

Environment (credentials are never taken from a flag):
  JIRA_URL        the site, e.g. https://example.atlassian.net (required)
  JIRA_EMAIL      with JIRA_API_TOKEN: Jira Cloud (REST v3, Basic)
  JIRA_API_TOKEN  an Atlassian API token of JIRA_EMAIL's account
  JIRA_PAT        instead: a Jira Data Center personal access token (Bearer)
  JIRA_API_VERSION  3 (Cloud) or 2 (Data Center); default 3 with an API token, 2 with a PAT
  RUST_LOG        log filter for stderr (default info)"
)]
pub struct Cli {
    #[command(flatten)]
    pub transport: TransportArgs,
    /// The only Jira projects the tools may use (keys, comma-separated), e.g. OPS,PAY.
    #[arg(long, value_name = "KEY,KEY", value_delimiter = ',', required = true)]
    pub projects: Vec<String>,
}

/// Reads the configuration and serves until the client goes away or a signal arrives.
pub async fn run(cli: Cli) -> ExitCode {
    init_logging();
    let tools = crate::Config::from_env(cli.projects).and_then(|c| {
        tracing::info!(url = %redact(c.url.as_str()), projects = %c.projects.join(","), credentials = c.credentials.kind, "mcp-jira configured");
        crate::JiraTools::new(&c)
    });
    match tools {
        Ok(t) => serve_main("mcp-jira", t, cli.transport.transport()).await,
        Err(e) => {
            tracing::error!("{}", redact(&e.to_string()));
            ExitCode::from(1)
        }
    }
}
