//! The configuration file (`--config FILE`): extra MCP servers, which builtin servers to
//! start, the store, approval timeout, prices and budgets. Everything is optional.
//!
//! ```yaml
//! store: /var/lib/sopilot/sopilot.db   # or postgres://sopilot:PASSWORD@db:5432/sopilot
//! approval_timeout: 15m
//! model_timeout: 10m        # one model turn; default 600 s for a loopback endpoint, else 120 s
//! builtin: [kubectl]
//! servers:
//!   argocd: {command: [argocd-mcp, --read-only], env: {ARGOCD_SERVER: argocd.internal}}
//!   remote: {url: "http://mcp.internal:8811/mcp"}
//! prices:
//!   "openai:gpt-4.1": {input_per_mtok: 2.0, output_per_mtok: 8.0}
//! budget: {max_turns: 20, deadline: 10m, max_tool_output_bytes: 262144,
//!          max_tool_output_bytes_per_call: 8192, tool_output_bytes: {kubectl.pod_logs: 12288}}
//! ```
//!
//! Servers named here are foreign: their annotations earn no trust and only explicit
//! policy rules allow their tools. Their names may not be those of SOPilot's builtin servers
//! (`kubectl`, `cloudwatch`, `cost`, `slack`) or SOPilot's own (`sopilot`), nor each other's,
//! ignoring case: a foreign server must never pass for a builtin one or shadow it.
//!
//! `serve.api_tokens` names the callers of the HTTP API and `/mcp`, each with a role; the
//! secrets come from the environment or a file, never from this file:
//!
//! ```yaml
//! serve:
//!   api_tokens:
//!     - {name: grafana, role: viewer, token_env: SOPILOT_TOKEN_GRAFANA}
//!     - {name: oncall, role: approver, token_file: /run/secrets/sopilot-oncall}
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sopilot_llm::PriceTable;
use sopilot_runtime::{Budgets, ServerSource, ServerSpec};
use sopilot_sop::{Budget, Duration as Span};

/// The file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub store: Option<PathBuf>,
    #[serde(default)]
    pub approval_timeout: Option<Span>,
    /// How long one model turn may take (`--model-timeout` overrides it).
    #[serde(default)]
    pub model_timeout: Option<Span>,
    /// Which of SOPilot's own servers to start (default: all this build has).
    #[serde(default)]
    pub builtin: Option<Vec<String>>,
    #[serde(default)]
    pub servers: BTreeMap<String, ServerConfig>,
    #[serde(default)]
    pub prices: PriceTable,
    #[serde(default)]
    pub budget: Option<BudgetConfig>,
    /// `sopilot serve`'s settings.
    #[serde(default)]
    pub serve: ServeConfig,
    /// The clusters and accounts served, each with its own servers (see [`crate::targets`]);
    /// empty: one implicit target from the environment.
    #[serde(default)]
    pub targets: Vec<crate::targets::TargetConfig>,
}

/// `sopilot serve`: where to listen, what to run, how much at once.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    #[serde(default = "default_listen")]
    pub listen: std::net::SocketAddr,
    /// SOP files or folders (default `sops/` when it exists, plus the shipped SOPs).
    #[serde(default)]
    pub sops: Vec<PathBuf>,
    /// Policy files or folders (default `policies/`, else the shipped default).
    #[serde(default)]
    pub policy: Vec<PathBuf>,
    /// The model, as `--model` takes it (default `none`).
    #[serde(default)]
    pub model: Option<String>,
    /// The Slack bot: incident channel, approvers (secrets from the environment).
    #[serde(default)]
    pub slack: Option<sopilot_server::slack::SlackSettings>,
    /// Repeats of a trigger within this window join its run (default 10m).
    #[serde(default)]
    pub dedup_window: Option<Span>,
    /// Runs this process carries at once (default 4); more wait in the run queue.
    #[serde(default = "default_concurrency")]
    pub max_concurrent_runs: usize,
    /// Runs that may wait in the store's run queue, shared by every replica on one store
    /// (default 64); a trigger finding it full is answered 429.
    #[serde(default = "default_queue")]
    pub queue_size: usize,
    #[serde(default = "default_body")]
    pub max_body_bytes: usize,
    /// Host names `/mcp` answers to besides loopback and the listen address (the `Host`
    /// and `Origin` checks against DNS rebinding), e.g. `[sopilot.internal]`.
    #[serde(default)]
    pub mcp_allowed_hosts: Vec<String>,
    /// The SNS subscription hook (`/hooks/sns`); off unless regions are named.
    #[serde(default)]
    pub sns: Option<SnsConfig>,
    /// The Kubernetes event trigger; off unless this section is present.
    #[serde(default)]
    pub kubernetes_events: Option<WatchConfig>,
    /// Cron schedules that start runs (e.g. a capacity check every 15 minutes).
    #[serde(default)]
    pub schedules: Vec<ScheduleConfig>,
    /// Named tokens of the HTTP API and `/mcp`, each with a role.
    #[serde(default)]
    pub api_tokens: Vec<ApiTokenConfig>,
    /// Run the schedules and the event watcher on one replica only (several replicas).
    #[serde(default)]
    pub leader_election: Option<LeaderElectionConfig>,
}

/// `serve.leader_election`: with several replicas, only the one holding a Kubernetes Lease
/// runs the schedules and the event watcher (docs/leader-election.md). Off by default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaderElectionConfig {
    #[serde(default)]
    pub enabled: bool,
    /// The Lease's namespace (default: the pod's own; out of a cluster, the kubeconfig
    /// context's).
    #[serde(default)]
    pub namespace: Option<String>,
    /// The Lease's name (default `sopilot-leader`).
    #[serde(default)]
    pub name: Option<String>,
    /// How long the others wait for a silent leader's lease to expire (default 15s).
    #[serde(default)]
    pub lease_duration: Option<Span>,
    /// How long a leader that cannot renew keeps leading (default 10s; < lease_duration).
    #[serde(default)]
    pub renew_deadline: Option<Span>,
    /// How often the leader renews and the others retry (default 2s).
    #[serde(default)]
    pub retry_period: Option<Span>,
}

impl LeaderElectionConfig {
    /// The elector's options, `None` when disabled; `identity` is this replica's.
    pub fn options(
        &self,
        identity: String,
    ) -> Result<Option<sopilot_server::leader::LeaderOptions>, String> {
        use sopilot_server::leader::{LeaderOptions, Timing};
        if !self.enabled {
            return Ok(None);
        }
        let d = Timing::default();
        let secs = |s: Option<Span>, d: Duration| s.map_or(d, |s| Duration::from_secs(s.seconds()));
        let timing = Timing {
            lease_duration: secs(self.lease_duration, d.lease_duration),
            renew_deadline: secs(self.renew_deadline, d.renew_deadline),
            retry_period: secs(self.retry_period, d.retry_period),
        };
        timing.check()?;
        Ok(Some(LeaderOptions {
            namespace: self.namespace.clone(),
            name: self.name.clone().unwrap_or_else(|| "sopilot-leader".into()),
            timing,
            identity,
        }))
    }
}

/// One `serve.api_tokens` entry: a name (recorded with every decision it makes), a role and
/// where its secret is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiTokenConfig {
    pub name: String,
    /// `viewer` (reads runs and approvals), `operator` (also starts runs and calls tools
    /// through `/mcp`) or `approver` (also decides approvals).
    pub role: sopilot_server::Role,
    /// The environment variable holding the secret.
    #[serde(default)]
    pub token_env: Option<String>,
    /// A file holding the secret (surrounding whitespace is ignored).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Never allowed: read only to say how to fix it.
    #[serde(default)]
    token: Option<serde_json::Value>,
}

/// The shortest secret a named token may have.
const MIN_SECRET: usize = 16;

/// The builtin servers' names (and SOPilot's own), which configured servers may not take.
pub const RESERVED_SERVER_NAMES: &[&str] =
    &["kubectl", "cloudwatch", "cost", "slack", "arc", "sopilot"];

impl ApiTokenConfig {
    /// Checks the entry's shape (not its secret, which is read when serving).
    fn check(&self) -> Result<(), String> {
        let name = &self.name;
        let ok_name = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok_name {
            return Err(format!(
                "serve.api_tokens: name {name:?} must be 1 to 64 letters, digits, '-', '_' or '.' (it is recorded as api:NAME with every decision)"
            ));
        }
        if self.token.is_some() {
            return Err(format!(
                "serve.api_tokens: token {name:?} writes its secret in the configuration file, which is refused; put the secret in an environment variable and write `token_env: VAR`, or in a file only SOPilot can read and write `token_file: PATH`"
            ));
        }
        match (&self.token_env, &self.token_file) {
            (Some(_), None) | (None, Some(_)) => Ok(()),
            _ => Err(format!(
                "serve.api_tokens: token {name:?} needs exactly one of `token_env: VAR` or `token_file: PATH`"
            )),
        }
    }

    /// The token with its secret, read from the environment or the file.
    fn resolve(&self) -> Result<sopilot_server::ApiToken, String> {
        let name = &self.name;
        let secret = match (&self.token_env, &self.token_file) {
            (Some(var), _) => std::env::var(var).map_err(|_| {
                format!("serve.api_tokens: token {name:?} reads its secret from ${var}, which is not set")
            })?,
            (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| {
                format!(
                    "serve.api_tokens: token {name:?}: token_file {}: {e}",
                    path.display()
                )
            })?,
            (None, None) => return Err(format!("serve.api_tokens: token {name:?} has no secret")),
        };
        let secret = secret.trim().to_owned();
        if secret.chars().count() < MIN_SECRET {
            return Err(format!(
                "serve.api_tokens: token {name:?}: its secret is shorter than {MIN_SECRET} characters; make one with `openssl rand -hex 32`"
            ));
        }
        Ok(sopilot_server::ApiToken {
            name: name.clone(),
            role: self.role,
            secret,
        })
    }
}

/// One `serve.schedules` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub name: String,
    /// Five cron fields (minute hour day-of-month month day-of-week), UTC; six with seconds.
    pub cron: String,
    /// The SOP to run (default: the SOP whose front matter has `schedule: {name: NAME}`).
    #[serde(default)]
    pub sop: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// The target its runs work on (one of `targets`).
    #[serde(default)]
    pub target: Option<String>,
}

impl ScheduleConfig {
    /// The parsed schedule; errors name the schedule.
    pub fn schedule(&self) -> Result<sopilot_server::schedule::Schedule, String> {
        sopilot_server::schedule::Schedule::parse(sopilot_server::schedule::ScheduleSpec {
            name: self.name.clone(),
            cron: self.cron.clone(),
            sop: self.sop.clone(),
            params: self.params.clone(),
            target: self.target.clone(),
        })
    }
}

/// `serve.kubernetes_events`: which Warning events start runs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchConfig {
    /// Event reasons (default: BackOff, CrashLoopBackOff, OOMKilling, OOMKilled,
    /// FailedScheduling, Unhealthy and the node pressure conditions).
    #[serde(default)]
    pub reasons: Option<Vec<String>>,
    /// Namespaces (default: all).
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// One run per object and reason within this window (default 10m).
    #[serde(default)]
    pub dedup_window: Option<Span>,
    /// Events older than this are ignored (default 5m).
    #[serde(default)]
    pub max_age: Option<Span>,
}

impl WatchConfig {
    /// The watcher's options.
    pub fn options(&self) -> sopilot_server::watch::WatchOptions {
        let d = sopilot_server::watch::WatchOptions::default();
        sopilot_server::watch::WatchOptions {
            reasons: self.reasons.clone().unwrap_or(d.reasons),
            namespaces: self.namespaces.clone(),
            dedup: self
                .dedup_window
                .map_or(d.dedup, |s| Duration::from_secs(s.seconds())),
            max_age: self
                .max_age
                .map_or(d.max_age, |s| Duration::from_secs(s.seconds())),
            // Set per leadership term (`serve.leader_election`).
            not_before: None,
            // Set per target.
            cluster: None,
        }
    }
}

/// `serve.sns`: whose SNS messages are trusted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnsConfig {
    /// Regions whose SNS endpoints may sign messages and confirm subscriptions.
    pub regions: Vec<String>,
    /// Topic ARNs accepted. `topics` or `accounts` is required.
    #[serde(default)]
    pub topics: Vec<String>,
    /// AWS account ids (12 digits) whose topics (in `regions`) are accepted.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// TESTS ONLY: trust `ca_file` for SNS hosts and connect them to `connect_to`.
    #[serde(default)]
    pub test_only: Option<SnsTestOnlyConfig>,
}

/// `serve.sns.test_only`, for tests against a local SNS stand-in. Never in production.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnsTestOnlyConfig {
    pub ca_file: PathBuf,
    pub connect_to: std::net::SocketAddr,
}

impl SnsConfig {
    /// Checks the section: regions, and topics or accounts, well formed.
    pub fn check(&self) -> Result<(), String> {
        if self.regions.is_empty() {
            return Err("serve.sns.regions is empty: name the regions of your SNS topics".into());
        }
        if self.topics.is_empty() && self.accounts.is_empty() {
            return Err("serve.sns needs `topics` (the ARNs of the topics your alarms publish to, e.g. arn:aws:sns:us-east-1:123456789012:ops-alerts) or `accounts` (the 12-digit ids of the AWS accounts owning them); without either, any AWS account's topic could start runs".into());
        }
        for a in &self.accounts {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "serve.sns.accounts: {a:?} is not a 12-digit AWS account id"
                ));
            }
        }
        for t in &self.topics {
            let region = t
                .strip_prefix("arn:aws:sns:")
                .and_then(|r| r.split(':').next())
                .ok_or_else(|| {
                    format!("serve.sns.topics: {t:?} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")
                })?;
            if !self.regions.iter().any(|r| r == region) {
                return Err(format!(
                    "serve.sns.topics: {t:?} is in region {region}, which is not in serve.sns.regions"
                ));
            }
        }
        Ok(())
    }

    /// The hook's options; reads the test CA if one is named.
    pub fn options(&self) -> Result<sopilot_server::hooks::sns::SnsOptions, String> {
        use sopilot_server::hooks::sns::{SnsOptions, SnsTestOnly, verify::Trust};
        self.check()?;
        let test_only = match &self.test_only {
            None => None,
            Some(t) => Some(SnsTestOnly {
                ca_pem: std::fs::read(&t.ca_file).map_err(|e| {
                    format!("serve.sns.test_only.ca_file {}: {e}", t.ca_file.display())
                })?,
                connect_to: t.connect_to,
            }),
        };
        Ok(SnsOptions {
            trust: Trust {
                regions: self.regions.clone(),
                topics: self.topics.clone(),
                accounts: self.accounts.clone(),
                any_port: false,
            },
            test_only,
        })
    }
}

impl ServeConfig {
    /// The tokens of the HTTP API and `/mcp`: `serve.api_tokens` with their secrets, and
    /// `legacy` (`SOPILOT_API_TOKEN`) as the approver `api`. Names and secrets are unique.
    pub fn api_tokens(
        &self,
        legacy: Option<String>,
    ) -> Result<Vec<sopilot_server::ApiToken>, String> {
        use sopilot_server::auth::LEGACY_TOKEN_NAME;
        let mut tokens = Vec::new();
        for t in &self.api_tokens {
            t.check()?;
            tokens.push(t.resolve()?);
        }
        if let Some(secret) = legacy {
            if tokens.iter().any(|t| t.name == LEGACY_TOKEN_NAME) {
                return Err(format!(
                    "serve.api_tokens names a token {LEGACY_TOKEN_NAME:?}, the name SOPILOT_API_TOKEN is known by; rename it or unset SOPILOT_API_TOKEN"
                ));
            }
            tokens.push(sopilot_server::ApiToken {
                name: LEGACY_TOKEN_NAME.into(),
                role: sopilot_server::Role::Approver,
                secret,
            });
        }
        for (i, a) in tokens.iter().enumerate() {
            for b in &tokens[i + 1..] {
                if a.name == b.name {
                    return Err(format!(
                        "serve.api_tokens: two tokens are named {:?}; names must be unique (decisions are recorded by name)",
                        a.name
                    ));
                }
                if a.secret == b.secret {
                    return Err(format!(
                        "serve.api_tokens: tokens {:?} and {:?} have the same secret; give each its own",
                        a.name, b.name
                    ));
                }
            }
        }
        Ok(tokens)
    }
}

/// Refuses configured server names that are a builtin server's (or SOPilot's) or another
/// configured server's, ignoring case.
fn check_server_names<'a>(names: impl Iterator<Item = &'a String>) -> Result<(), String> {
    let mut seen: Vec<&String> = Vec::new();
    for name in names {
        let lower = name.to_ascii_lowercase();
        if let Some(builtin) = RESERVED_SERVER_NAMES.iter().find(|b| **b == lower) {
            return Err(format!(
                "server {name:?} under `servers:` has the name of SOPilot's builtin server {builtin:?} (names are compared ignoring case); a configured server must not pass for a builtin one or shadow it: rename it, e.g. \"{lower}-extra\""
            ));
        }
        if let Some(other) = seen.iter().find(|o| o.to_ascii_lowercase() == lower) {
            return Err(format!(
                "servers {other:?} and {name:?} under `servers:` have the same name ignoring case; rename one"
            ));
        }
        seen.push(name);
    }
    Ok(())
}

fn default_listen() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_concurrency() -> usize {
    4
}

fn default_queue() -> usize {
    64
}

fn default_body() -> usize {
    256 * 1024
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: default_listen(),
            sops: Vec::new(),
            policy: Vec::new(),
            model: None,
            slack: None,
            dedup_window: None,
            max_concurrent_runs: default_concurrency(),
            queue_size: default_queue(),
            max_body_bytes: default_body(),
            mcp_allowed_hosts: Vec::new(),
            sns: None,
            kubernetes_events: None,
            schedules: Vec::new(),
            api_tokens: Vec::new(),
            leader_election: None,
        }
    }
}

/// One extra server: a command (stdio) or a URL (streamable HTTP).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// Run budgets.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    #[serde(default)]
    pub max_turns: Option<u32>,
    #[serde(default)]
    pub deadline: Option<Span>,
    #[serde(default)]
    pub max_tool_output_bytes: Option<usize>,
    /// Tool output the model reads from one call (default 8 KiB).
    #[serde(default)]
    pub max_tool_output_bytes_per_call: Option<usize>,
    /// The same for a named tool (`server.tool`).
    #[serde(default)]
    pub tool_output_bytes: BTreeMap<String, usize>,
}

impl BudgetConfig {
    /// Per-call and per-tool budgets name real tools and leave the model something to read.
    fn check(&self) -> Result<(), String> {
        let per_call = self
            .max_tool_output_bytes_per_call
            .and_then(|b| Budget::per_call_problem(b as u64));
        let per_tool = self
            .tool_output_bytes
            .iter()
            .flat_map(|(tool, bytes)| Budget::tool_budget_problems(tool, *bytes as u64));
        match per_call.into_iter().chain(per_tool).next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }
}

impl Config {
    /// Reads a configuration file; errors name the file and line.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--config {}: {e}", path.display()))?;
        let config: Config = sopilot_yaml::from_str(&text)
            .map_err(|e| format!("--config {}: {e}", path.display()))?;
        for (name, s) in &config.servers {
            match (s.command.is_empty(), &s.url) {
                (false, None) | (true, Some(_)) => {}
                _ => {
                    return Err(format!(
                        "--config {}: server {name:?} needs either `command` or `url`",
                        path.display()
                    ));
                }
            }
            if let Err(e) = sopilot_protocol::ToolRef::new(name, "x") {
                return Err(format!(
                    "--config {}: server name {name:?}: {e}",
                    path.display()
                ));
            }
        }
        config
            .check()
            .map_err(|e| format!("--config {}: {e}", path.display()))?;
        Ok(config)
    }

    /// What deserialising cannot check: server names, API token entries, the SNS section.
    fn check(&self) -> Result<(), String> {
        check_server_names(self.servers.keys())?;
        if let Some(b) = &self.budget {
            b.check()?;
        }
        for t in &self.serve.api_tokens {
            t.check()?;
        }
        if let Some(sns) = &self.serve.sns {
            sns.check()?;
        }
        crate::targets::check(&self.targets)?;
        if !self.targets.is_empty() && !self.servers.is_empty() {
            let names: Vec<&str> = self.servers.keys().map(String::as_str).collect();
            return Err(format!(
                "servers ({}) with targets: each target would get the same server, acting wherever that server is configured to, while the policy judged the call by the target's labels; per-target foreign servers are not supported yet, so remove `servers` or `targets`",
                names.join(", ")
            ));
        }
        for s in &self.serve.schedules {
            if let Some(t) = &s.target
                && !self.targets.iter().any(|c| &c.name == t)
            {
                return Err(format!(
                    "serve.schedules: {:?} runs on target {t:?}, which `targets` does not name",
                    s.name
                ));
            }
        }
        Ok(())
    }

    /// The servers of one environment: the builtin ones this configuration keeps, started
    /// with `env` added, then the configured (foreign) ones.
    pub fn all_servers(&self, env: &[(String, String)]) -> Result<Vec<ServerSpec>, String> {
        let mut servers = crate::session::builtin_servers(env)?;
        if let Some(keep) = &self.builtin {
            servers.retain(|s| keep.contains(&s.name));
        }
        servers.extend(self.servers());
        Ok(servers)
    }

    /// The configured targets, each with its own servers (`env` added to each); empty
    /// without `targets`.
    pub fn target_specs(
        &self,
        env: &[(String, String)],
    ) -> Result<Vec<sopilot_runtime::TargetSpec>, String> {
        crate::targets::specs(&self.targets, env, |env| self.all_servers(env))
    }

    /// The extra (foreign) servers.
    pub fn servers(&self) -> Vec<ServerSpec> {
        self.servers
            .iter()
            .filter_map(|(name, s)| {
                let source = match (&s.url, s.command.split_first()) {
                    (Some(url), _) => ServerSource::Http { url: url.clone() },
                    (None, Some((program, args))) => ServerSource::Command {
                        program: PathBuf::from(program),
                        args: args.to_vec(),
                        env: s.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                    },
                    (None, None) => return None,
                };
                Some(ServerSpec {
                    name: name.clone(),
                    source,
                    builtin: false,
                })
            })
            .collect()
    }

    /// The approval timeout (default 15 minutes).
    pub fn approval_timeout(&self) -> Duration {
        Duration::from_secs(self.approval_timeout.map_or(15 * 60, Span::seconds))
    }

    /// The configured model timeout, if any.
    pub fn model_timeout(&self) -> Option<Duration> {
        self.model_timeout.map(|s| Duration::from_secs(s.seconds()))
    }

    /// Budgets with the configured overrides.
    pub fn budgets(&self) -> Budgets {
        let mut b = Budgets::default();
        if let Some(c) = &self.budget {
            if let Some(t) = c.max_turns {
                b.max_turns = t;
            }
            if let Some(d) = c.deadline {
                b.deadline = Duration::from_secs(d.seconds());
            }
            if let Some(bytes) = c.max_tool_output_bytes {
                b.output_bytes_per_run = bytes;
            }
            if let Some(bytes) = c.max_tool_output_bytes_per_call {
                b.output_bytes_per_call = bytes;
            }
            b.output_bytes_by_tool.extend(c.tool_output_bytes.clone());
        }
        b
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn load(yaml: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sopilot.yaml");
        std::fs::write(&path, yaml).unwrap();
        Config::load(&path)
    }

    #[test]
    fn output_budgets_per_call_and_per_tool() {
        let c = load(
            "budget: {max_tool_output_bytes_per_call: 4096, tool_output_bytes: {kubectl.pod_logs: 12288}}\n",
        )
        .unwrap();
        let b = c.budgets();
        assert_eq!(b.per_call("kubectl.pod_logs"), 12288);
        assert_eq!(b.per_call("kubectl.describe_pod"), 4096);
        assert_eq!(Budgets::default().per_call("kubectl.pod_logs"), 8 * 1024);
        let e = load("budget: {tool_output_bytes: {kubectl.pod_logs: many}}\n").unwrap_err();
        assert!(e.contains("sopilot.yaml"), "{e}");
        let e = load("budget: {tool_output_bytes: {pod_logs: 4096}}\n").unwrap_err();
        assert!(e.contains("\"pod_logs\" is not a tool name"), "{e}");
        let e = load("budget: {tool_output_bytes: {kubectl.pod_logs: 0}}\n").unwrap_err();
        assert!(e.contains("budget of 0 bytes"), "{e}");
        let e = load("budget: {max_tool_output_bytes_per_call: 0}\n").unwrap_err();
        assert!(e.contains("no tool output"), "{e}");
    }

    #[test]
    fn a_configured_server_cannot_take_a_builtin_name() {
        for name in [
            "kubectl",
            "Kubectl",
            "SLACK",
            "cost",
            "cloudwatch",
            "sopilot",
        ] {
            let e = load(&format!("servers:\n  {name}: {{url: \"http://x/mcp\"}}\n")).unwrap_err();
            assert!(
                e.contains(&format!("{name:?}")) && e.contains("builtin server"),
                "{name}: {e}"
            );
        }
        let e =
            load("servers:\n  argo: {url: \"http://a/mcp\"}\n  ARGO: {url: \"http://b/mcp\"}\n")
                .unwrap_err();
        assert!(e.contains("\"ARGO\"") && e.contains("\"argo\""), "{e}");
        assert!(load("servers:\n  kubectl-extra: {url: \"http://x/mcp\"}\n").is_ok());
    }

    #[test]
    fn sns_needs_topics_or_accounts() {
        let e = load("serve:\n  sns: {regions: [us-east-1]}\n").unwrap_err();
        assert!(e.contains("topics") && e.contains("accounts"), "{e}");
        let e = load("serve:\n  sns: {regions: [us-east-1], accounts: [\"12345\"]}\n").unwrap_err();
        assert!(e.contains("12-digit"), "{e}");
        let e = load(
            "serve:\n  sns: {regions: [us-east-1], topics: [\"arn:aws:sns:eu-west-1:123456789012:x\"]}\n",
        )
        .unwrap_err();
        assert!(e.contains("eu-west-1"), "{e}");
        let c =
            load("serve:\n  sns: {regions: [us-east-1], accounts: [\"123456789012\"]}\n").unwrap();
        let o = c.serve.sns.unwrap().options().unwrap();
        assert_eq!(o.trust.accounts, ["123456789012"]);
    }

    #[test]
    fn api_tokens_never_inline_and_resolve_to_named_roles() {
        let e = load("serve:\n  api_tokens:\n    - {name: oncall, role: approver, token: s3cret-s3cret-s3cret}\n")
            .unwrap_err();
        assert!(e.contains("token_env") && e.contains("token_file"), "{e}");
        let e = load("serve:\n  api_tokens:\n    - {name: oncall, role: approver}\n").unwrap_err();
        assert!(e.contains("exactly one"), "{e}");
        let e = load(
            "serve:\n  api_tokens:\n    - {name: \"on call\", role: approver, token_env: X}\n",
        )
        .unwrap_err();
        assert!(e.contains("\"on call\""), "{e}");
        assert!(
            load("serve:\n  api_tokens:\n    - {name: x, role: admin, token_env: X}\n").is_err()
        );

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "approver-secret-0123456789\n").unwrap();
        let c = load(&format!(
            "serve:\n  api_tokens:\n    - {{name: oncall, role: approver, token_file: {}}}\n    - {{name: ci, role: operator, token_file: {}}}\n",
            file.display(),
            file.display()
        ))
        .unwrap();
        let e = c.serve.api_tokens(None).unwrap_err();
        assert!(e.contains("same secret"), "{e}");

        let c = load(&format!(
            "serve:\n  api_tokens:\n    - {{name: oncall, role: approver, token_file: {}}}\n",
            file.display()
        ))
        .unwrap();
        let tokens = c.serve.api_tokens(Some("legacy-token".into())).unwrap();
        let named: Vec<(&str, sopilot_server::Role)> =
            tokens.iter().map(|t| (t.name.as_str(), t.role)).collect();
        assert_eq!(
            named,
            [
                ("oncall", sopilot_server::Role::Approver),
                ("api", sopilot_server::Role::Approver)
            ]
        );
        assert_eq!(tokens[0].secret, "approver-secret-0123456789");
        std::fs::write(&file, "short").unwrap();
        assert!(c.serve.api_tokens(None).unwrap_err().contains("shorter"));
        std::fs::write(&file, "viewer-secret-0123456789").unwrap();
        let c = load(&format!(
            "serve:\n  api_tokens:\n    - {{name: api, role: viewer, token_file: {}}}\n",
            file.display()
        ))
        .unwrap();
        assert!(
            c.serve
                .api_tokens(Some("x".into()))
                .unwrap_err()
                .contains("SOPILOT_API_TOKEN")
        );
    }

    #[test]
    fn leader_election_is_off_unless_enabled_and_refuses_unsafe_timings() {
        let off = load("serve: {leader_election: {enabled: false, lease_duration: 3s}}\n").unwrap();
        let le = off.serve.leader_election.as_ref().unwrap();
        assert!(le.options("me".into()).unwrap().is_none());
        assert!(Config::default().serve.leader_election.is_none());
        let on = load("serve:\n  leader_election: {enabled: true, namespace: ops, lease_duration: 3s, renew_deadline: 2s, retry_period: 1s}\n").unwrap();
        let o = on
            .serve
            .leader_election
            .unwrap()
            .options("me".into())
            .unwrap()
            .unwrap();
        assert_eq!(
            (o.namespace.as_deref(), o.name.as_str(), o.identity.as_str()),
            (Some("ops"), "sopilot-leader", "me")
        );
        assert_eq!(o.timing.lease_duration, Duration::from_secs(3));
        let bad = load("serve: {leader_election: {enabled: true, lease_duration: 10s}}\n").unwrap();
        let e = bad
            .serve
            .leader_election
            .unwrap()
            .options("me".into())
            .unwrap_err();
        assert!(
            e.contains("renew_deadline (10s) must be shorter than lease_duration (10s)"),
            "{e}"
        );
        assert!(load("serve: {leader_election: {enable: true}}\n").is_err());
    }
}
