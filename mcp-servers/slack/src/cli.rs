//! The `mcp-slack` command line, shared by the `mcp-slack` binary and `sopilot mcp-server slack`.

use std::process::ExitCode;

use sopilot_mcp_common::cli::TransportArgs;
use sopilot_mcp_common::{init_logging, redact, serve_main};

/// Slack tools for incident response, over MCP.
///
/// Read-only unless --allow-post: the posting tools (post_message, reply_in_thread,
/// update_message, add_reaction, post_incident_report) are not even listed without it.
/// Every tool is confined to the channels of --channels, which --allow-post requires.
/// SOPilot's approval requests are safe from it: it posts no buttons or other interactive
/// content, edits only messages it posted itself, and hides button values when reading.
#[derive(Debug, clap::Parser)]
#[command(
    name = "mcp-slack",
    version,
    after_help = "\
Examples:
  mcp-slack --channels '#incidents'                         read #incidents, over stdio
  mcp-slack --allow-post --channels '#incidents,C0123ABCD'  also post there
  mcp-slack --http 127.0.0.1:8813 --channels '#incidents'   streamable HTTP at http://127.0.0.1:8813/mcp

Environment:
  SLACK_BOT_TOKEN  the bot token (xoxb-...); required, and never taken from a flag
  SLACK_API_URL    the Web API base, including /api/ (default https://slack.com/api/)
  RUST_LOG         log filter for stderr (default info)

The bot needs the scopes channels:read and channels:history (groups:* for private
channels), users:read for names, chat:write to post and reactions:write to react."
)]
pub struct Cli {
    #[command(flatten)]
    pub transport: TransportArgs,
    /// Offer the posting tools (needs --channels).
    #[arg(long)]
    pub allow_post: bool,
    /// The only channels the tools may use: names (#incidents) or ids (C0123ABCD), comma-separated.
    /// Without it, reading covers every channel the bot is in.
    #[arg(long, value_name = "C1,C2", value_delimiter = ',')]
    pub channels: Vec<String>,
}

/// Reads the token, configures and serves until the client goes away or a signal arrives.
pub async fn run(cli: Cli) -> ExitCode {
    init_logging();
    let config = match crate::Config::from_env(cli.allow_post, cli.channels) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{}", redact(&e.to_string()));
            return ExitCode::from(1);
        }
    };
    let tools = match crate::SlackTools::new(&config) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!("{}", redact(&e.to_string()));
            return ExitCode::from(1);
        }
    };
    tracing::info!(
        api = %redact(config.api_url.as_str()),
        allow_post = config.allow_post,
        channels = %if config.channels.is_empty() { "any the bot is in (read-only)".to_owned() } else { config.channels.join(",") },
        "mcp-slack configured"
    );
    serve_main("mcp-slack", tools, cli.transport.transport()).await
}
