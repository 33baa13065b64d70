//! The configuration file (`--config FILE`): extra MCP servers, which builtin servers to
//! start, the store, approval timeout, prices and budgets. Everything is optional.
//!
//! ```yaml
//! store: /var/lib/sopilot/sopilot.db
//! approval_timeout: 15m
//! builtin: [kubectl]
//! servers:
//!   argocd: {command: [argocd-mcp, --read-only], env: {ARGOCD_SERVER: argocd.internal}}
//!   remote: {url: "http://mcp.internal:8811/mcp"}
//! prices:
//!   "openai:gpt-4.1": {input_per_mtok: 2.0, output_per_mtok: 8.0}
//! budget: {max_turns: 20, deadline: 10m, max_tool_output_bytes: 262144}
//! ```
//!
//! Servers named here are foreign: their annotations earn no trust and only explicit
//! policy rules allow their tools.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sopilot_llm::PriceTable;
use sopilot_runtime::{Budgets, ServerSource, ServerSpec};
use sopilot_sop::Duration as Span;

/// The file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub store: Option<PathBuf>,
    #[serde(default)]
    pub approval_timeout: Option<Span>,
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
    #[serde(default = "default_concurrency")]
    pub max_concurrent_runs: usize,
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
}

impl ScheduleConfig {
    /// The parsed schedule; errors name the schedule.
    pub fn schedule(&self) -> Result<sopilot_server::schedule::Schedule, String> {
        sopilot_server::schedule::Schedule::parse(sopilot_server::schedule::ScheduleSpec {
            name: self.name.clone(),
            cron: self.cron.clone(),
            sop: self.sop.clone(),
            params: self.params.clone(),
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
        }
    }
}

/// `serve.sns`: whose SNS messages are trusted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnsConfig {
    /// Regions whose SNS endpoints may sign messages and confirm subscriptions.
    pub regions: Vec<String>,
    /// Topic ARNs accepted (default: any topic of those regions).
    #[serde(default)]
    pub topics: Vec<String>,
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
    /// The hook's options; reads the test CA if one is named.
    pub fn options(&self) -> Result<sopilot_server::hooks::sns::SnsOptions, String> {
        use sopilot_server::hooks::sns::{SnsOptions, SnsTestOnly, verify::Trust};
        if self.regions.is_empty() {
            return Err("serve.sns.regions is empty: name the regions of your SNS topics".into());
        }
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
                any_port: false,
            },
            test_only,
        })
    }
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
        Ok(config)
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
        }
        b
    }
}
