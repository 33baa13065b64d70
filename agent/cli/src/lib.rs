//! The `sopilot` command line: argument definitions and the commands behind them.
//!
//! Commands return an [`Outcome`] (what to print and the exit code) instead of printing, so
//! they are testable without a process; `main` only emits it.

// The CLI's job is talking to a terminal: progress and notes go to stderr.
#![allow(clippy::print_stderr)]

mod assets;
mod cmd;
mod config;
mod model;
mod outcome;
mod progress;
mod session;
mod targets;
mod telemetry;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

pub use outcome::Outcome;

const ABOUT: &str =
    "SOPilot runs Markdown SOPs against Kubernetes and AWS with every tool call gated by policy.";

const LONG_ABOUT: &str = "\
SOPilot runs Markdown SOPs (standard operating procedures) for incident response on
Kubernetes and AWS. A model plans; every tool call it or an SOP makes passes a policy
gate first: allow-listed calls run, denied calls never run, everything else waits for a
human.

See it work, end to end, on a simulated cluster (no network, no credentials):
  sopilot demo

Run an SOP for real, or rehearse it against a scenario first:
  sopilot run pod-crashloop --param namespace=payment --param pod=payment-7d8f-xyz --model openai:gpt-4.1
  sopilot rehearse complex-incident --scenario scenarios/demo.yaml

Grade investigations per model on simulated incidents (eval/cases, docs/eval.md):
  sopilot eval --model scripted:reference --model openai:gpt-4.1 --html eval.html

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
    /// Log lines on stderr as text, or as one JSON object per line for log pipelines.
    #[arg(
        long,
        global = true,
        value_name = "text|json",
        env = "SOPILOT_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: sopilot_mcp_common::LogFormat,
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
    /// Run an SOP against the cluster and cloud your environment points at.
    Run(RunArgs),
    /// Run an SOP against a simulated environment built from a scenario file.
    Rehearse(RehearseArgs),
    /// The whole product on the embedded simulated environment: no network, no flags.
    Demo(DemoArgs),
    /// Graded incident cases (eval/cases) per model: root cause, actions, safety, cost.
    Eval(EvalArgs),
    /// Serve the trigger webhooks, the Slack bot, the HTTP API and the MCP gateway.
    Serve(ServeArgs),
    /// The MCP gateway over stdio, for IDEs: every tool gated by the policy, SOPs as prompts.
    Mcp(McpArgs),
    /// Read recorded runs.
    Runs(RunsArgs),
    /// The Kubernetes RBAC (ServiceAccount, ClusterRole, binding) the enabled tools need.
    Rbac(RbacArgs),
    /// Check a configuration before an incident needs it: each check OK or FAIL with the fix.
    Doctor(DoctorArgs),
    /// The simulated environment.
    #[command(subcommand)]
    Sim(SimCommand),
    /// Serve one of SOPilot's own MCP servers (used by the gateway; same as mcp-NAME).
    #[command(hide = true)]
    McpServer {
        name: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Arguments of `run`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sopilot run pod-crashloop --param namespace=payment --param pod=payment-7d8f-xyz --model openai:gpt-4.1
  sopilot run sops/oom-killed.sop.md --trigger alert.json --model none --on-escalate deny --json
  sopilot run complex-incident --trigger alarm-sns.json --model scripted:script.yaml --dry-run

The SOP is a file, a name under ./sops/, or a shipped SOP. Every tool call passes the
policy (--policy, default ./policies/ or the shipped default). Escalations are asked in the
terminal when stdin is one, denied otherwise (--on-escalate). Kubernetes access follows
KUBECONFIG. Exit codes: 0 done, 1 failed, 2 work waiting for a human.")]
pub struct RunArgs {
    /// The SOP: a .sop.md file, a name under ./sops/, or a shipped SOP name.
    #[arg(value_name = "SOP_FILE_OR_NAME")]
    pub sop: String,
    /// A parameter value; repeat for each.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// openai:MODEL, bedrock:MODEL_ID, scripted:FILE, or none (tool blocks only).
    #[arg(long, value_name = "PROVIDER:MODEL", default_value = "none")]
    pub model: String,
    /// A trigger payload (SNS, EventBridge, Alertmanager, Kubernetes event) as JSON.
    #[arg(long, value_name = "FILE")]
    pub trigger: Option<PathBuf>,
    /// Policy file or folder.
    #[arg(long, value_name = "PATH", default_value = "policies/")]
    pub policy: Vec<PathBuf>,
    /// Configuration file (servers, store, prices, targets).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The target (cluster and account, from the configuration's `targets`) to work on; every
    /// call of the run acts there. Default: the target the trigger routes to, else each call
    /// names its own (or gets the default target).
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
    /// prompt (ask in the terminal) or deny (record and deny).
    #[arg(long, value_name = "prompt|deny")]
    pub on_escalate: Option<String>,
    /// Every mutating call runs only as a dry run; the report says what would have been done.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    pub json: bool,
    /// The run store: a SQLite file or a postgres://USER:PASSWORD@HOST:PORT/DB URL (default:
    /// $SOPILOT_STORE or ~/.local/state/sopilot/sopilot.db).
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// How long one model turn may take (90s, 10m); default: `model_timeout` in the
    /// configuration, else 600 s for a model on a loopback address and 120 s otherwise.
    #[arg(long, value_name = "DURATION", value_parser = model::parse_timeout)]
    pub model_timeout: Option<std::time::Duration>,
}

/// Arguments of `rehearse`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sopilot rehearse complex-incident --scenario scenarios/demo.yaml --trigger alarm.json
  sopilot rehearse sops/pod-crashloop.sop.md --scenario my.yaml -p namespace=payment -p pod=x --approve kubectl.delete_pod

The scenario seeds the simulated cluster (and its `model` section scripts the model, unless
--model is given). Escalations are denied unless --approve names the tool. Nothing real is
touched.")]
pub struct RehearseArgs {
    /// The SOP: a .sop.md file, a name under ./sops/, or a shipped SOP name.
    #[arg(value_name = "SOP_FILE_OR_NAME")]
    pub sop: String,
    /// The scenario file.
    #[arg(long, value_name = "FILE")]
    pub scenario: PathBuf,
    /// A parameter value; repeat for each.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// The model; default: the scenario's scripted model, or none.
    #[arg(long, value_name = "PROVIDER:MODEL")]
    pub model: Option<String>,
    /// A trigger payload as JSON.
    #[arg(long, value_name = "FILE")]
    pub trigger: Option<PathBuf>,
    /// Policy file or folder.
    #[arg(long, value_name = "PATH", default_value = "policies/")]
    pub policy: Vec<PathBuf>,
    /// Approve escalations of this tool (SERVER.TOOL); repeat. Others are denied.
    #[arg(long, value_name = "SERVER.TOOL")]
    pub approve: Vec<String>,
    /// Only dry-run mutating calls.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    pub json: bool,
    /// How long one model turn may take (90s, 10m); default 600 s for a model on a loopback
    /// address (the scenario's scripted model: 30 s), 120 s otherwise.
    #[arg(long, value_name = "DURATION", value_parser = model::parse_timeout)]
    pub model_timeout: Option<std::time::Duration>,
}

/// Arguments of `eval`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sopilot eval --model scripted:reference --model scripted:wrong --require-pass-rate 1.0
  sopilot eval --model openai:gpt-4.1 --repeat 3 --html eval.html --json eval.json
  sopilot eval --model bedrock:us.anthropic.claude-sonnet-4-20250514-v1:0 --judge openai:gpt-4.1
  sopilot eval --lint

Each case (a folder of --scenarios with case.yaml, scenario.yaml, reference.yaml and
wrong.yaml; see docs/eval.md) runs in its own simulated environment, started by its trigger
and routed to an SOP as `sopilot serve` would, every call gated by the policy, approvals
answered by the case's human (unattended: denied). scripted:reference and scripted:wrong
play each case's own scripts. The Markdown table goes to stdout, progress to stderr.
Exit codes: 0 the evaluation ran (whatever the pass rate), 1 bad input (a malformed case is
named with its file and line), or --require-pass-rate not met.")]
pub struct EvalArgs {
    /// The folder of cases.
    #[arg(long, value_name = "DIR", default_value = "eval/cases")]
    pub scenarios: PathBuf,
    /// A model to evaluate (openai:MODEL, bedrock:MODEL_ID, scripted:FILE, none, or each
    /// case's own scripted:reference / scripted:wrong); repeat for each.
    #[arg(long = "model", value_name = "SPEC")]
    pub models: Vec<String>,
    /// Only this case (its folder name); repeat for more.
    #[arg(long = "case", value_name = "NAME")]
    pub cases: Vec<String>,
    /// Runs per case and model.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Runs at once, each in its own simulated environment.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub concurrency: u64,
    /// A model that scores each report against the case's rubric (0-10); shown in the
    /// results, never deciding pass or fail.
    #[arg(long, value_name = "SPEC")]
    pub judge: Option<String>,
    /// Write the results as JSON (docs/eval.md) to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the Markdown tables to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write a self-contained HTML report (charts included) to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Check every case (its files, its SOP's routing and parameters) without running it.
    #[arg(long)]
    pub lint: bool,
    /// How long one model turn may take (90s, 10m); default: `model_timeout` in the
    /// configuration, else 600 s for a model on a loopback address and 120 s otherwise.
    #[arg(long, value_name = "DURATION", value_parser = model::parse_timeout)]
    pub model_timeout: Option<std::time::Duration>,
    /// For CI: exit 1 when a model's pass rate is below RATE (0.95 or 95%), a case fails
    /// with scripted:reference, or passes with scripted:wrong.
    #[arg(long, value_name = "RATE", value_parser = cmd::eval::parse_rate)]
    pub require_pass_rate: Option<f64>,
    /// Policy file or folder.
    #[arg(long, value_name = "PATH", default_value = "policies/")]
    pub policy: Vec<PathBuf>,
    /// SOP files or folders (default: the configuration's serve.sops, else ./sops/), plus
    /// the shipped SOPs: the library triggers are routed in, as `sopilot serve` has it.
    #[arg(long, value_name = "PATH")]
    pub sops: Vec<PathBuf>,
    /// Configuration file (prices, budgets, model_timeout, serve.sops).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Arguments of `serve`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  SOPILOT_API_TOKEN=... SOPILOT_ALERTMANAGER_TOKEN=... sopilot serve --config sopilot.yaml
  sopilot serve --listen 0.0.0.0:8080
  sopilot serve --simulate scenarios/demo.yaml     # everything against the embedded simulator

Endpoints: POST /hooks/sns, /hooks/eventbridge, /hooks/alertmanager, /slack/events,
/slack/commands, /slack/interactions; GET /api/runs, /api/runs/{id}, /api/approvals;
POST /api/approvals/{id}; /mcp; GET /healthz, /metrics. Secrets come from the environment:
SOPILOT_API_TOKEN, SOPILOT_EVENTBRIDGE_SECRET, SOPILOT_ALERTMANAGER_TOKEN,
SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN. A door without its secret is closed.")]
pub struct ServeArgs {
    /// Configuration file (the `serve:` section, servers, store, prices).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where to listen (overrides the configuration; default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Run against the embedded simulator seeded from this scenario (Kubernetes, AWS, Slack
    /// and, when no model is configured, the scenario's scripted model) instead of real
    /// systems. The policy and approvals are the same as in production.
    #[arg(long, value_name = "SCENARIO")]
    pub simulate: Option<PathBuf>,
}

/// Arguments of `doctor`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sopilot doctor --config /etc/sopilot/sopilot.yaml
  sopilot doctor --simulate scenarios/demo.yaml     # the same checks against the simulator
  sopilot doctor --json | jq '.checks[] | select(.status == \"FAIL\")'

Checks, in order: the configuration parses; the policy compiles and its examples hold; the
SOPs lint; the store is writable; the Kubernetes API answers and allows every verb the
kubectl tools need (SelfSubjectAccessReview; `sopilot rbac` prints the role); each MCP server
starts and lists its tools; CloudWatch answers with the AWS credentials and region; the Slack
token works, its channels can be read and the bot is in the incident channel; the model
answers and calls a tool when asked. Only reads: nothing is posted or changed. Every check
runs even after a failure. Exit code 1 when any check fails.")]
pub struct DoctorArgs {
    /// Configuration file (as `sopilot serve --config` takes it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Check against the embedded simulator seeded from this scenario instead of the real
    /// systems (what `sopilot serve --simulate` would use).
    #[arg(long, value_name = "SCENARIO")]
    pub simulate: Option<PathBuf>,
    /// The checks as JSON (`{"ok": bool, "checks": [{area, status, detail, fix}]}`).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `mcp`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples (the command an IDE's MCP configuration runs):
  sopilot mcp
  sopilot mcp --policy /etc/sopilot/policies --sops ~/runbooks --config ~/.config/sopilot.yaml

Speaks MCP on stdin/stdout (logs on stderr). Tools: every tool of the MCP servers SOPilot
starts (kubectl, and slack with SLACK_BOT_TOKEN) and of the configured ones, as SERVER__TOOL,
each call gated by the policy; plus run_sop, list_sops and get_run. Prompts: one per SOP.
Escalations are asked through the client's elicitation; a client without it gets a refusal
that says how to approve. The session is recorded as a run (see `sopilot runs list`).
Kubernetes access follows KUBECONFIG. See docs/ide.md for IDE configuration snippets.")]
pub struct McpArgs {
    /// Configuration file (servers, store, approval timeout; `serve.policy`, `serve.sops`
    /// and `serve.model` are the defaults of the flags below).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Policy file or folder (default ./policies/, else the shipped default); repeat for more.
    #[arg(long, value_name = "PATH")]
    pub policy: Vec<PathBuf>,
    /// SOP files or folders (default ./sops/ when it exists), plus the shipped SOPs.
    #[arg(long, value_name = "PATH")]
    pub sops: Vec<PathBuf>,
    /// The model run_sop uses: openai:MODEL, bedrock:MODEL_ID, scripted:FILE or none.
    #[arg(long, value_name = "PROVIDER:MODEL")]
    pub model: Option<String>,
    /// The run store: a SQLite file or a postgres://USER:PASSWORD@HOST:PORT/DB URL (default:
    /// $SOPILOT_STORE or ~/.local/state/sopilot/sopilot.db).
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
}

/// Arguments of `demo`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sopilot demo                 # the demo incident in the terminal, checked, exits 0 when it behaved
  sopilot demo --serve         # the same incident in the web console: open the printed address,
                               # enter the printed one-time code, watch the run, approve or deny
                               # the HPA change in the browser
  sopilot demo --serve --listen 127.0.0.1:9000

With --serve, `sopilot serve --simulate` runs on the embedded demo scenario (no network, no
credentials) with a fresh store and two console tokens (approver `you`, viewer `viewer`); a
few seconds after it listens, the demo's CloudWatch alarm arrives through the EventBridge hook.
The escalation waits in the approvals inbox for you (30 minutes). Ctrl-C stops everything.")]
pub struct DemoArgs {
    /// Print the run as one JSON object instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Serve the demo in the web console instead of running it in the terminal.
    #[arg(long)]
    pub serve: bool,
    /// Where the console listens with --serve (use port 0 for any free port).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8080",
        requires = "serve"
    )]
    pub listen: SocketAddr,
    /// Seconds between the server listening and the alarm, with --serve.
    #[arg(long, value_name = "SECONDS", default_value_t = 5, requires = "serve")]
    pub alarm_after: u64,
}

/// Arguments of `rbac`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sopilot rbac | kubectl apply -f -
  sopilot rbac --config sopilot.yaml --namespace ops --name sopilot-agent
  sopilot rbac --format helm-values > rbac-values.yaml    # the Helm chart's rbac.clusterRules

The rules are exactly what the enabled Kubernetes tools call (the kubectl server, unless the
configuration's `builtin` leaves it out), merged per API group and verbs, each with a comment
naming the tools that need it: subresources such as pods/log, pods/eviction and
deployments/scale are their own rules, and Secrets are never granted. A tool whose rule is
missing fails with a Forbidden error that names the permission.")]
pub struct RbacArgs {
    /// Configuration file (which builtin servers run, as `sopilot serve` reads it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Namespace of the ServiceAccount.
    #[arg(long, value_name = "NS", default_value = "sopilot")]
    pub namespace: String,
    /// Name of the ServiceAccount, ClusterRole and ClusterRoleBinding.
    #[arg(long, value_name = "NAME", default_value = "sopilot")]
    pub name: String,
    /// manifests (YAML for kubectl apply) or helm-values (the chart's rbac.clusterRules).
    #[arg(long, value_enum, default_value = "manifests")]
    pub format: cmd::rbac::Format,
}

/// Arguments of `runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: RunsCommand,
    /// The run store: a SQLite file or a postgres://USER:PASSWORD@HOST:PORT/DB URL (default:
    /// $SOPILOT_STORE or ~/.local/state/sopilot/sopilot.db).
    #[arg(long, value_name = "PATH", global = true)]
    pub store: Option<PathBuf>,
}

/// `runs ...`
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Recent runs, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One run: its tool calls with decisions, and its events.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

/// `sim ...`
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve a scenario; the first stdout line is JSON with the URLs and the kubeconfig.
    #[command(after_help = "\
Example:
  sopilot sim serve --scenario scenarios/demo.yaml
  KUBECONFIG=$(sopilot sim serve --scenario s.yaml | head -1 | jq -r .kubeconfig) kubectl get pods -A")]
    Serve(SimServeArgs),
}

/// Arguments of `sim serve`.
#[derive(Debug, Args)]
pub struct SimServeArgs {
    /// The scenario file.
    #[arg(long, value_name = "FILE")]
    pub scenario: PathBuf,
    /// Where the Kubernetes API listens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
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
    /// What the call's `kind` resolved to on the cluster, as JSON:
    /// {"group":"apps","version":"v1","kind":"Deployment","plural":"deployments","namespaced":true}.
    #[arg(long, value_name = "JSON")]
    pub resource: Option<String>,
    /// What already happened to the target within the window, as JSON fields of `history`
    /// (e.g. '{"rollbacks":1}' or '{"hpa_baseline":{"min":2,"max":10}}'); the rest is as if
    /// nothing happened: no changes, baselines from the impact's "before" values.
    #[arg(long, value_name = "JSON")]
    pub history: Option<String>,
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
        Command::Run(args) => cmd::run::run(&args),
        Command::Rehearse(args) => cmd::run::rehearse(&args),
        Command::Demo(args) => cmd::demo::demo(&args),
        Command::Eval(args) => cmd::eval::eval(&args),
        Command::Serve(args) => cmd::serve::serve(&args),
        Command::Mcp(args) => cmd::mcp::mcp(&args),
        Command::Runs(args) => cmd::runs::runs(&args),
        Command::Doctor(args) => cmd::doctor::doctor(&args),
        Command::Sim(SimCommand::Serve(args)) => cmd::sim::serve(&args),
        Command::Rbac(args) => cmd::rbac::rbac(&args),
        Command::McpServer { name, .. } => {
            Outcome::fail(format!("mcp-server {name} must be started through main()"))
        }
    }
}

/// The whole command line, as `main` runs it.
pub fn main_entry(cli: Cli) -> ExitCode {
    let Cli {
        log_format,
        command,
    } = cli;
    match command {
        Command::McpServer { name, args } => cmd::mcp_server::serve(&name, &args),
        command => {
            let process = match command {
                Command::Serve(_) | Command::Mcp(_) => telemetry::Process::Server,
                _ => telemetry::Process::Command,
            };
            let telemetry = telemetry::init(log_format, process);
            let outcome = run(Cli {
                log_format,
                command,
            });
            // A short run's trace is sent before the process ends.
            telemetry.shutdown();
            outcome.emit()
        }
    }
}
