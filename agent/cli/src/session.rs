//! Assembling a run from flags: servers, policy, model, approver, store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sopilot_llm::{ModelClient, PriceTable};
use sopilot_policy::Policy;
use sopilot_protocol::{RunStatus, Trigger};
use sopilot_runtime::{
    Approver, Budgets, CancellationToken, Parts, RunInput, RunReport, Runner, ServerSource,
    ServerSpec, Store,
};
use sopilot_sop::Sop;

use crate::assets;

/// The builtin servers this binary can start (`sopilot mcp-server NAME`).
pub const BUILTIN: [&str; 7] = [
    "kubectl",
    "slack",
    "cloudwatch",
    "cost",
    "prometheus",
    "jira",
    "arc",
];

/// The Jira projects SOPilot's Jira tools may use (keys, comma-separated).
const JIRA_PROJECTS: &str = "SOPILOT_JIRA_PROJECTS";

/// The Slack channels SOPilot may post to (`SOPILOT_SLACK_CHANNELS`, default `#incidents`).
fn slack_channels() -> String {
    std::env::var("SOPILOT_SLACK_CHANNELS").unwrap_or_else(|_| "#incidents".to_owned())
}

/// The builtin servers, started from this very binary with writes enabled: the gate stands
/// in front of them. `env` is added to each server's environment. Slack is started only
/// when a bot token is available, CloudWatch, Cost Explorer and ARC zonal shift only when an
/// AWS region is configured (in `env` or the environment: `AWS_REGION`, `AWS_DEFAULT_REGION`
/// or a profile named by `AWS_PROFILE`), Prometheus only when `PROMETHEUS_URL` is set, Jira only
/// when `JIRA_URL` is set (confined to the projects of `SOPILOT_JIRA_PROJECTS`).
pub fn builtin_servers(env: &[(String, String)]) -> Result<Vec<ServerSpec>, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find the sopilot binary to start the MCP servers: {e}"))?;
    let has = |k: &str| env.iter().any(|(n, _)| n == k) || std::env::var_os(k).is_some();
    let spec = |name: &str, args: Vec<String>| ServerSpec {
        name: name.to_owned(),
        source: ServerSource::Command {
            program: exe.clone(),
            args: [vec!["mcp-server".to_owned(), name.to_owned()], args].concat(),
            env: env.to_vec(),
        },
        builtin: true,
    };
    let mut servers = vec![spec("kubectl", vec!["--allow-write".into()])];
    if has("SLACK_BOT_TOKEN") {
        servers.push(spec(
            "slack",
            vec!["--allow-post".into(), "--channels".into(), slack_channels()],
        ));
    }
    if has("AWS_REGION") || has("AWS_DEFAULT_REGION") || has("AWS_PROFILE") {
        servers.push(spec("cloudwatch", Vec::new()));
        servers.push(spec("cost", Vec::new()));
        // ARC zonal shift (its zone names from SOPILOT_AZ_IDS, when set).
        servers.push(spec("arc", Vec::new()));
    }
    // Prometheus or Amazon Managed Prometheus, when its URL is configured (auth from the
    // PROMETHEUS_* variables and, for SigV4, the AWS chain).
    if has("PROMETHEUS_URL") {
        servers.push(spec("prometheus", Vec::new()));
    }
    if has("JIRA_URL") {
        let projects = env
            .iter()
            .find(|(k, _)| k == JIRA_PROJECTS)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(JIRA_PROJECTS).ok())
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| {
                format!("JIRA_URL is set but {JIRA_PROJECTS} is not: name the Jira projects SOPilot may use, e.g. {JIRA_PROJECTS}=OPS,PAY (or unset JIRA_URL)")
            })?;
        servers.push(spec("jira", vec!["--projects".into(), projects]));
    }
    Ok(servers)
}

/// Loads the policy from paths, or the embedded default when `paths` is the default
/// `policies/` folder and it does not exist here.
pub fn load_policy(paths: &[PathBuf], quiet_default: bool) -> Result<Policy, String> {
    let default = paths.len() == 1 && paths[0] == Path::new("policies/") && !paths[0].exists();
    if default {
        if !quiet_default {
            eprintln!("note: ./policies/ not found; using the shipped default policy");
        }
        return Policy::from_sources(&[(
            "default.yaml (shipped)".into(),
            assets::DEFAULT_POLICY.into(),
        )])
        .map_err(|e| e.to_string());
    }
    sopilot_policy::load_paths(paths).map_err(|e| e.to_string())
}

/// Finds an SOP by file path, by name under `./sops/`, or among the shipped SOPs.
pub fn load_sop(what: &str) -> Result<Sop, String> {
    let path = Path::new(what);
    let (name, text) = if path.exists() {
        (
            sopilot_sop::name_from_path(path),
            std::fs::read_to_string(path).map_err(|e| format!("{what}: {e}"))?,
        )
    } else if let Ok(t) = std::fs::read_to_string(Path::new("sops").join(format!("{what}.sop.md")))
    {
        (what.to_owned(), t)
    } else if let Some(t) = assets::sop(what) {
        (what.to_owned(), t.to_owned())
    } else {
        let shipped: Vec<&str> = assets::SOPS.iter().map(|(n, _)| *n).collect();
        return Err(format!(
            "no SOP {what:?}: not a file, not ./sops/{what}.sop.md, not a shipped SOP ({})",
            shipped.join(", ")
        ));
    };
    sopilot_sop::load(&name, &text)
        .map(|(sop, _)| sop)
        .map_err(|e| format!("{what} is not a valid SOP: {e}"))
}

/// The store's file: `--store`, else `SOPILOT_STORE`, else the configuration's `store:`,
/// else `$XDG_STATE_HOME/sopilot/sopilot.db` (`~/.local/state/...`). A `postgres://…` URL
/// there is a PostgreSQL store ([`sopilot_runtime::Location::of`]).
pub fn store_path(flag: Option<&Path>, configured: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_owned();
    }
    if let Ok(p) = std::env::var("SOPILOT_STORE") {
        return PathBuf::from(p);
    }
    if let Some(p) = configured {
        return p.to_owned();
    }
    let base = std::env::var("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|_| PathBuf::from("."));
    base.join("sopilot").join("sopilot.db")
}

/// One run, fully assembled.
pub struct Session {
    pub runner: Runner,
    pub budgets: Budgets,
}

/// What the configuration adds to a session.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    pub approval_timeout: Option<Duration>,
    pub prices: PriceTable,
    pub budgets: Option<Budgets>,
    /// The configured targets; when not empty, the servers given to [`Session::start`] are
    /// not used.
    pub targets: Vec<sopilot_runtime::TargetSpec>,
}

impl Session {
    /// Starts the servers and assembles the runner. Servers that fail to start are reported
    /// on stderr; their tools are simply absent.
    pub async fn start(
        servers: Vec<ServerSpec>,
        policy: Policy,
        model: Option<Arc<dyn ModelClient>>,
        approver: Arc<dyn Approver>,
        store: Arc<Store>,
        observer: Option<sopilot_runtime::Observer>,
        options: SessionOptions,
    ) -> Session {
        let (runner, failures) = sopilot_runtime::assemble(Parts {
            servers,
            targets: options.targets,
            policy,
            model,
            approver,
            approval_timeout: options
                .approval_timeout
                .unwrap_or(sopilot_runtime::DEFAULT_APPROVAL_TIMEOUT),
            store,
            prices: options.prices,
            observer,
        })
        .await;
        for f in failures {
            eprintln!("warning: {f}");
        }
        Session {
            runner,
            budgets: options.budgets.unwrap_or_default(),
        }
    }

    /// Runs the SOP; Ctrl-C cancels it cleanly (recorded as cancelled) and expires its
    /// pending approvals, so nobody can carry out later what the user stopped.
    pub async fn run(
        &self,
        sop: Sop,
        params: BTreeMap<String, String>,
        trigger: Option<Trigger>,
        dry_run: bool,
        target: Option<String>,
    ) -> Result<RunReport, String> {
        let cancel = CancellationToken::new();
        let on_ctrl_c = cancel.clone();
        let watcher = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ncancelling the run (Ctrl-C)...");
                on_ctrl_c.cancel();
            }
        });
        let run_id = sopilot_runtime::new_run_id();
        let input = RunInput {
            sop,
            params,
            trigger,
            budgets: self.budgets.clone(),
            dry_run,
            run_id: Some(run_id.clone()),
            target,
            carries_on: None,
        };
        let result = self
            .runner
            .run(input, cancel.clone())
            .await
            .map_err(|e| e.to_string());
        watcher.abort();
        if cancel.is_cancelled() {
            match self
                .runner
                .store
                .expire_pending_of_run(&run_id, "the user (Ctrl-C)")
            {
                Ok(0) => {}
                Ok(n) => eprintln!("expired the run's {n} pending approval(s)"),
                Err(e) => eprintln!("could not expire the run's pending approvals: {e}"),
            }
        }
        result
    }
}

/// The exit code a run's status calls for (the design's CONTRACTS.md).
pub fn exit_code(status: RunStatus) -> u8 {
    match status {
        RunStatus::Succeeded => 0,
        RunStatus::NeedsHuman => 2,
        RunStatus::Failed
        | RunStatus::Inconclusive
        | RunStatus::Cancelled
        | RunStatus::Interrupted
        | RunStatus::Running => 1,
    }
}

/// Parameters for a run: the trigger's (through the SOP's trigger rules), then `--param`.
pub fn params_for(
    sop: &Sop,
    trigger: Option<&Trigger>,
    given: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut params = BTreeMap::new();
    if let Some(t) = trigger {
        match sopilot_sop::trigger_params(sop, t) {
            Some(Ok(p)) => params.extend(p),
            Some(Err(e)) => return Err(e.to_string()),
            None => {}
        }
    }
    params.extend(given);
    Ok(params)
}
