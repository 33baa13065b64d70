//! The `mcp-kubectl` command line, shared by the `mcp-kubectl` binary and `sopilot mcp-server kubectl`.

use std::path::PathBuf;
use std::process::ExitCode;

use sopilot_mcp_common::cli::TransportArgs;
use sopilot_mcp_common::{init_logging, serve_main};

/// Kubernetes tools for incident response, over MCP.
///
/// Read-only unless --allow-write: the mutating tools (delete_pod, rollout_restart,
/// rollout_undo, scale, patch_hpa, cordon, uncordon, drain) are not even listed without it.
/// Every mutating tool takes dry_run and reports its impact. Secrets are never returned.
#[derive(Debug, clap::Parser)]
#[command(
    name = "mcp-kubectl",
    version,
    after_help = "\
Examples:
  mcp-kubectl                                   stdio, for an MCP client config
  mcp-kubectl --http 127.0.0.1:8811             streamable HTTP at http://127.0.0.1:8811/mcp
  mcp-kubectl --kubeconfig ~/.kube/prod --context eks-prod --allow-write

The cluster comes from --kubeconfig, else KUBECONFIG, ~/.kube/config or the in-cluster
service account. Logs go to stderr (RUST_LOG=debug for more)."
)]
pub struct Cli {
    #[command(flatten)]
    pub transport: TransportArgs,
    /// Offer the mutating tools.
    #[arg(long)]
    pub allow_write: bool,
    /// Kubeconfig file.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

/// Connects and serves until the client goes away or a signal arrives.
pub async fn run(cli: Cli) -> ExitCode {
    init_logging();
    let client = match crate::connect(cli.kubeconfig, cli.context).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(1);
        }
    };
    let tools = crate::KubeTools::new(client, cli.allow_write);
    serve_main("mcp-kubectl", tools, cli.transport.transport()).await
}
