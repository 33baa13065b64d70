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
  AWS_REGION=eu-west-1 mcp-kubectl --eks-cluster prod   EKS, no kubeconfig or aws CLI needed

The cluster comes from --eks-cluster, else --kubeconfig, else KUBECONFIG, ~/.kube/config or
the in-cluster service account. With --eks-cluster, region and credentials come from the
standard AWS chain (AWS_ENDPOINT_URL honoured; SOPILOT_AWS_ROLE_ARN assumes a role first).
Logs go to stderr (RUST_LOG=debug for more)."
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
    /// EKS cluster: endpoint and CA from DescribeCluster, a token signed with the AWS
    /// credentials (as `aws eks get-token` makes it), no kubeconfig.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["kubeconfig", "context"])]
    pub eks_cluster: Option<String>,
}

/// Connects and serves until the client goes away or a signal arrives.
pub async fn run(cli: Cli) -> ExitCode {
    init_logging();
    let connected = match cli.eks_cluster {
        Some(cluster) => crate::connect_eks(&cluster).await,
        None => crate::connect(cli.kubeconfig, cli.context).await,
    };
    let client = match connected {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(1);
        }
    };
    let tools = crate::KubeTools::new(client, cli.allow_write);
    serve_main("mcp-kubectl", tools, cli.transport.transport()).await
}
