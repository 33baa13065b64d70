//! The `sopilot` command line: argument definitions and the commands behind them.
//!
//! Commands return an [`Outcome`] (what to print and the exit code) instead of printing, so
//! they are testable without a process; `main` only emits it.

mod cmd;
mod outcome;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use outcome::Outcome;

const ABOUT: &str =
    "SOPilot runs Markdown SOPs against Kubernetes and AWS with every tool call gated by policy.";

const LONG_ABOUT: &str = "\
SOPilot runs Markdown SOPs (standard operating procedures) for incident response on
Kubernetes and AWS. A model plans; every tool call it or an SOP makes passes a policy
gate first: allow-listed calls run, denied calls never run, everything else waits for a
human.

Write and check SOPs and policies before any cluster is involved:
  sopilot sop lint sops/                     check every SOP under sops/
  sopilot sop render sops/pod-crashloop.sop.md --param namespace=payment --param pod=p-1
  sopilot policy test policies/              check every rule's examples
  sopilot policy check --tool kubectl.delete_pod --args '{\"namespace\":\"payment\",\"name\":\"p-1\"}' \\
      --impact '{\"action\":\"delete_pod\",\"pod\":{\"restart_count\":7,\"waiting_reason\":\"CrashLoopBackOff\"},
                 \"workload\":{\"kind\":\"Deployment\",\"name\":\"payment-service\",\"replicas\":5,\"ready\":4}}'

Exit codes: 0 success, 1 failure (bad input, infrastructure error), 2 work waiting for a human.";

/// The `sopilot` command line.
#[derive(Debug, Parser)]
#[command(name = "sopilot", version, about = ABOUT, long_about = LONG_ABOUT, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lint and render SOPs (`.sop.md` files).
    #[command(subcommand)]
    Sop(SopCommand),
    /// Test policies and ask them about one call.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

/// `sopilot sop ...`
#[derive(Debug, Subcommand)]
pub enum SopCommand {
    /// Check SOPs: structure, parameters, constraints, front matter and tool blocks.
    #[command(after_help = "\
Examples:
  sopilot sop lint sops/
  sopilot sop lint sops/pod-crashloop.sop.md --json

Folders are searched recursively for *.sop.md. A plain Strands Agent SOP (no front matter,
no tool blocks) is valid. Errors make the exit code 1; warnings (such as a MUST NOT without
a reason) do not.")]
    Lint(LintArgs),
    /// Print an SOP with its parameters (and trigger) filled in.
    #[command(after_help = "\
Examples:
  sopilot sop render sops/pod-crashloop.sop.md --param namespace=payment --param pod=p-1
  sopilot sop render sops/pod-crashloop.sop.md --trigger event.json --json

Only {{ expressions }} whose variables are parameters or `trigger` are filled in; Helm or Go
templates quoted in the SOP stay as written. With --trigger, parameters the SOP's matching
trigger rule fills are taken from the trigger; --param overrides them.")]
    Render(RenderArgs),
}

/// `sopilot policy ...`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Load policy files and check every rule's match / not_match examples.
    #[command(after_help = "\
Examples:
  sopilot policy test policies/
  sopilot policy test policies/default.yaml policies/team.yaml

All files given are loaded together as one policy (rule names must be unique). Exit code 0
when every example holds; otherwise each failing example is listed with its file and line.")]
    Test(PolicyTestArgs),
    /// Decide one call: prints {\"decision\", \"rules\", \"reason\"} as JSON.
    #[command(after_help = "\
Examples:
  sopilot policy check --tool kubectl.get_resource --args '{\"kind\":\"Secret\",\"namespace\":\"payment\"}'
  sopilot policy check --policy policies/ --tool kubectl.patch_hpa \\
      --args '{\"namespace\":\"payment\",\"name\":\"payment-service\",\"max_replicas\":14}' \\
      --impact '{\"action\":\"patch_hpa\",\"hpa\":{\"min_before\":2,\"min_after\":2,\"max_before\":10,\"max_after\":14}}'
  sopilot policy check --tool argocd.sync --unattended

The impact is what the tool's dry run reports (see CONTRACTS.md, \"Impact\"). --unattended
means no approver can be reached, so escalate becomes deny.")]
    Check(PolicyCheckArgs),
}

/// Arguments of `sop lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// SOP files or folders.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print one JSON array, an object per file, instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `sop render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The SOP file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// A parameter value; repeat for each parameter.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// A trigger payload (SNS, EventBridge, Alertmanager, Kubernetes event, or SOPilot JSON).
    #[arg(long, value_name = "FILE")]
    pub trigger: Option<PathBuf>,
    /// Print the rendered SOP and its tool calls as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `policy test`.
#[derive(Debug, Args)]
pub struct PolicyTestArgs {
    /// Policy files or folders (their *.yaml and *.yml files).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// Arguments of `policy check`.
#[derive(Debug, Args)]
pub struct PolicyCheckArgs {
    /// Policy file or folder.
    #[arg(long, value_name = "PATH", default_value = "policies/")]
    pub policy: Vec<PathBuf>,
    /// The tool, as SERVER.TOOL (e.g. kubectl.delete_pod).
    #[arg(long, value_name = "SERVER.TOOL")]
    pub tool: String,
    /// The call's arguments, a JSON object.
    #[arg(long, value_name = "JSON", default_value = "{}")]
    pub args: String,
    /// The impact the tool's dry run reported, as JSON.
    #[arg(long, value_name = "JSON")]
    pub impact: Option<String>,
    /// A trigger payload file the call's run was started by.
    #[arg(long, value_name = "FILE")]
    pub trigger: Option<PathBuf>,
    /// No approver can be reached: escalate becomes deny.
    #[arg(long)]
    pub unattended: bool,
    /// The tool's server is not one of SOPilot's own (its annotations are ignored).
    #[arg(long)]
    pub foreign: bool,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Outcome {
    match cli.command {
        Command::Sop(SopCommand::Lint(args)) => cmd::sop::lint(&args),
        Command::Sop(SopCommand::Render(args)) => cmd::sop::render(&args),
        Command::Policy(PolicyCommand::Test(args)) => cmd::policy::test(&args),
        Command::Policy(PolicyCommand::Check(args)) => cmd::policy::check(&args),
    }
}
