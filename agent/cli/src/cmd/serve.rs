//! `sopilot serve`: the webhooks, the API and the MCP gateway, with runs in the background.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sopilot_runtime::{CancellationToken, DenyAll, Gate, Parts, Store};
use sopilot_server::hooks::sns::SnsHook;
use sopilot_server::{AppState, ApprovalHub, Metrics, RunManager, RunManagerOptions, ServeOptions};
use sopilot_sim_env::{RunningSim, SimOptions};
use sopilot_sop::Sop;

use crate::config::{Config, ServeConfig};
use crate::session::{load_policy, store_path};
use crate::{Outcome, ServeArgs, assets, progress};

/// Every SOP under `paths` (files or folders), then the shipped ones not overridden.
pub fn load_library(paths: &[PathBuf]) -> Result<Vec<Sop>, String> {
    load_library_linted(paths).map(|(sops, _)| sops)
}

/// [`load_library`], and the lint warnings of the SOPs loaded (`ORIGIN:LINE: message`).
pub fn load_library_linted(paths: &[PathBuf]) -> Result<(Vec<Sop>, Vec<String>), String> {
    let mut sops: Vec<Sop> = Vec::new();
    let mut warnings = Vec::new();
    let mut add = |name: String, text: &str, origin: &str| -> Result<(), String> {
        let (sop, diags) = sopilot_sop::load(&name, text).map_err(|e| format!("{origin}: {e}"))?;
        if !sops.iter().any(|s| s.name == sop.name) {
            sops.push(sop);
            warnings.extend(
                diags
                    .iter()
                    .map(|d| format!("{origin}:{}: {}", d.line, d.message)),
            );
        }
        Ok(())
    };
    let defaults = [PathBuf::from("sops")];
    let paths: Vec<&Path> = if paths.is_empty() {
        defaults
            .iter()
            .filter(|p| p.is_dir())
            .map(PathBuf::as_path)
            .collect()
    } else {
        paths.iter().map(PathBuf::as_path).collect()
    };
    for p in paths {
        let files: Vec<PathBuf> = if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.to_string_lossy().ends_with(".sop.md"))
                .collect();
            v.sort();
            v
        } else {
            vec![p.to_owned()]
        };
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            add(
                sopilot_sop::name_from_path(&f),
                &text,
                &f.display().to_string(),
            )?;
        }
    }
    for (name, text) in assets::SOPS {
        add(name.to_owned(), text, &format!("shipped SOP {name}"))?;
    }
    Ok((sops, warnings))
}

/// `sopilot serve [--config FILE] [--listen ADDR]`
pub fn serve(args: &ServeArgs) -> Outcome {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Outcome::fail(format!("cannot start the async runtime: {e}")),
    };
    match rt.block_on(serve_async(args)) {
        Ok(()) => Outcome::default(),
        Err(e) => Outcome::fail(e),
    }
}

async fn serve_async(args: &ServeArgs) -> Result<(), String> {
    sopilot_mcp_common::init_logging();
    let config = args
        .config
        .as_deref()
        .map(Config::load)
        .transpose()?
        .unwrap_or_default();
    let sc = &config.serve;
    let policy_paths = if sc.policy.is_empty() {
        vec![PathBuf::from("policies/")]
    } else {
        sc.policy.clone()
    };
    let policy = load_policy(&policy_paths, false)?;
    let sops = load_library(&sc.sops)?;
    let spec: sopilot_llm::ModelSpec = sc
        .model
        .as_deref()
        .unwrap_or("none")
        .parse()
        .map_err(|e: sopilot_llm::LlmError| e.to_string())?;
    let model = crate::model::build_client(
        &spec,
        crate::model::model_timeout(None, config.model_timeout(), &spec),
    )
    .await
    .map_err(|e| e.to_string())?;
    let sim = match &args.simulate {
        Some(path) => Some(simulate(path, &config).await?),
        None => None,
    };
    let model = match &sim {
        Some(env) if sc.model.is_none() && env.scenario().model.is_some() => {
            Some(Arc::new(sopilot_llm::OpenAiClient::new(
                "sopilot-sim",
                Some(env.model_url()),
                Some("sim".into()),
                Duration::from_secs(30),
            )) as Arc<dyn sopilot_llm::ModelClient>)
        }
        _ => model,
    };
    let store = Arc::new(
        Store::open(&store_path(None, config.store.as_deref())).map_err(|e| e.to_string())?,
    );
    let sim_env = sim.as_ref().map(RunningSim::server_env).unwrap_or_default();
    let servers = config.all_servers(&sim_env)?;
    let targets = config.target_specs(&sim_env)?;
    let (runner, failures) = sopilot_runtime::assemble(Parts {
        servers,
        targets,
        policy,
        model,
        // Runs started by serve get the approval hub's approver (see RunManager).
        approver: Arc::new(DenyAll),
        approval_timeout: config.approval_timeout(),
        store: store.clone(),
        prices: config.prices.clone(),
        observer: Some(progress::terminal()),
    })
    .await;
    for f in failures {
        tracing::warn!("{f}");
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let slack = slack_bot(
        sc.slack.as_ref(),
        &store,
        sim.as_ref().map(|env| {
            let slack = env.slack();
            (env.slack_url(), slack.token(), slack.app_token())
        }),
    )?;
    let api_tokens = sc.api_tokens(env("SOPILOT_API_TOKEN"))?;
    for t in &api_tokens {
        tracing::info!("API token {} (role {})", t.name, t.role);
    }
    let options = ServeOptions {
        listen: args.listen.unwrap_or(sc.listen),
        api_tokens,
        eventbridge_secret: env("SOPILOT_EVENTBRIDGE_SECRET"),
        alertmanager_token: env("SOPILOT_ALERTMANAGER_TOKEN"),
        max_body_bytes: sc.max_body_bytes,
        mcp_allowed_hosts: sc.mcp_allowed_hosts.clone(),
        slack: slack.clone(),
    };
    // The API can decide escalations only if some token may approve.
    let api_approves = options
        .api_tokens
        .iter()
        .any(|t| t.role >= sopilot_server::Role::Approver);
    // Approvals decided after a restart are carried out through the same gate, never asked
    // again.
    let resuming = Gate {
        approver: Arc::new(sopilot_server::approvals::AlreadyDecided),
        ..runner.gate.clone()
    };
    let hub = Arc::new(ApprovalHub::new(
        store.clone(),
        Some(resuming),
        api_approves,
    ));
    if let Some(bot) = slack.as_ref().filter(|b| b.can_approve()) {
        hub.add_channel(Arc::new(bot.clone()));
    }
    let metrics = Arc::new(Metrics::default());
    let runs = RunManager::new(
        sops,
        runner,
        hub.clone(),
        metrics.clone(),
        RunManagerOptions {
            max_concurrent: sc.max_concurrent_runs,
            queue_size: sc.queue_size,
            dedup_window: Duration::from_secs(
                sc.dedup_window.map_or(600, sopilot_sop::Duration::seconds),
            ),
            budgets: config.budgets(),
        },
        slack
            .iter()
            .map(|b| Arc::new(b.clone()) as Arc<dyn sopilot_server::runs::RunListener>)
            .collect(),
    );
    let sns = match &sc.sns {
        None => None,
        Some(c) => Some(Arc::new(SnsHook::new(c.options()?, runs.store().clone())?)),
    };
    let state = AppState {
        options: Arc::new(options),
        runs: runs.clone(),
        approvals: hub,
        metrics,
        sns,
    };
    let stop = sopilot_runtime::CancellationToken::new();
    if let Some(bot) = &slack {
        tokio::spawn(bot.clone().keep_approval_messages_current(stop.clone()));
        if bot.uses_socket_mode() {
            let timing = sopilot_server::slack::socket::Timing::default();
            tokio::spawn(sopilot_server::slack::socket::run(
                state.clone(),
                timing,
                stop.clone(),
            ));
        }
    }
    let elector = start_run_once(&config, sim.as_ref(), &runs, &state.metrics, &stop).await?;
    // Runs of dead replicas (their leases ran out) are carried on here.
    tokio::spawn(sopilot_server::runs::keep_taking_over(
        runs.clone(),
        stop.clone(),
    ));
    // Runs queued by any replica (a busy one, or one that died) are taken here when a slot
    // is free.
    tokio::spawn(sopilot_server::runs::keep_dispatching(
        runs.clone(),
        stop.clone(),
    ));
    let shutdown = async move {
        stop_requested().await;
        tracing::info!("shutting down");
        stop.cancel();
        runs.shutdown();
    };
    let served = sopilot_server::serve(state, shutdown)
        .await
        .map_err(|e| format!("serve: {e}"));
    // The elector releases the lease on the way out (bounded: it expires anyway).
    if let Some(task) = elector {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    if let Some(env) = sim {
        env.shutdown().await;
    }
    served
}

/// Resolves on Ctrl-C, or on SIGTERM (what Kubernetes sends a pod it stops): serve then
/// finishes in-flight requests and, under leader election, releases the lease for the next
/// leader.
async fn stop_requested() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

/// Starts what must run on one replica only, the schedules and the Kubernetes event
/// watcher: under leader election when `serve.leader_election.enabled` (each term runs them
/// until it ends), else at once until `stop`. Returns the elector's task, which releases the
/// lease once `stop` is cancelled.
async fn start_run_once(
    config: &Config,
    sim: Option<&RunningSim>,
    runs: &RunManager,
    metrics: &Arc<Metrics>,
    stop: &CancellationToken,
) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    use sopilot_server::leader::{Elector, Leadership, RunOnce, while_leading};
    let sc = &config.serve;
    let schedules = checked_schedules(sc, runs)?;
    let identity = sopilot_server::leader::identity();
    let election = match &sc.leader_election {
        Some(le) => le.options(identity.clone())?,
        None => None,
    };
    // With targets, each target's watcher has its own cluster's client.
    let watch_here = sc.kubernetes_events.is_some() && config.targets.is_empty();
    let client = kube_client_if_needed(watch_here, election.is_some(), sim).await?;
    let (leadership, elector) = match (election, &client) {
        (Some(options), Some(client)) => {
            let clock = Arc::new(sopilot_server::schedule::TokioClock::starting_at(
                chrono::Utc::now(),
            ));
            let (elector, leadership) =
                Elector::new(client.clone(), &options, clock, metrics.clone());
            (leadership, Some(tokio::spawn(elector.run(stop.clone()))))
        }
        _ => {
            metrics
                .leader
                .store(1, std::sync::atomic::Ordering::Relaxed);
            (Leadership::always(&identity, stop), None)
        }
    };
    let watches = match &sc.kubernetes_events {
        None => Vec::new(),
        Some(w) if config.targets.is_empty() => client
            .clone()
            .map(|c| (c, w.options()))
            .into_iter()
            .collect(),
        Some(w) => {
            let base = sim.map(RunningSim::server_env).unwrap_or_default();
            target_watches(&config.targets, w, &base).await?
        }
    };
    let work = RunOnce {
        schedules,
        watches,
        runs: runs.clone(),
        metrics: metrics.clone(),
    };
    tokio::spawn(while_leading(leadership, stop.clone(), move |term| {
        work.start(&term);
        std::future::ready(())
    }));
    Ok(elector)
}

/// One event watcher per target, on the target's own cluster; its events bind their runs to
/// the target. `base` is the environment this process adds to every target's servers (a
/// simulator's endpoints).
async fn target_watches(
    targets: &[crate::targets::TargetConfig],
    w: &crate::config::WatchConfig,
    base: &[(String, String)],
) -> Result<Vec<(kube::Client, sopilot_server::watch::WatchOptions)>, String> {
    let mut watches = Vec::new();
    for t in targets {
        let client = target_client(t, base)
            .await
            .map_err(|e| format!("serve.kubernetes_events: target {}: {e}", t.name))?;
        let options = sopilot_server::watch::WatchOptions {
            cluster: Some(t.name.clone()),
            ..w.options()
        };
        watches.push((client, options));
    }
    Ok(watches)
}

/// A client of target `t`'s cluster: its kubeconfig and context, or its EKS cluster reached
/// with the target's own AWS settings (region, profile, role, endpoint: the environment its
/// servers get), never this process's.
async fn target_client(
    t: &crate::targets::TargetConfig,
    base: &[(String, String)],
) -> Result<kube::Client, String> {
    let kube = t.kubernetes.as_ref();
    if let Some(cluster) = kube.and_then(|k| k.eks_cluster.as_deref()) {
        let env: std::collections::BTreeMap<String, String> =
            t.server_env(base).into_iter().collect();
        let (config, tokens) = mcp_kubectl::eks::configure_for(cluster, |k| env.get(k).cloned())
            .await
            .map_err(|e| e.to_string())?;
        return mcp_kubectl::eks::client(config, tokens).map_err(|e| e.to_string());
    }
    mcp_kubectl::connect(
        kube.and_then(|k| k.kubeconfig.clone()),
        kube.and_then(|k| k.context.clone()),
    )
    .await
    .map_err(|e| e.to_string())
}

/// `serve.schedules`, parsed, each checked to route to a SOP.
fn checked_schedules(
    sc: &ServeConfig,
    runs: &RunManager,
) -> Result<Vec<sopilot_server::schedule::Schedule>, String> {
    let mut schedules = Vec::new();
    for c in &sc.schedules {
        let schedule = c.schedule()?;
        let (sop, _) = runs
            .plan(&schedule.request(chrono::Utc::now()))
            .map_err(|e| format!("schedule {:?}: {e}", c.name))?;
        tracing::info!("schedule {} ({}) runs {}", c.name, c.cron, sop.name);
        schedules.push(schedule);
    }
    Ok(schedules)
}

/// The Kubernetes client of the event watcher and the elector, when either is on; the error
/// names the sections that need it.
async fn kube_client_if_needed(
    watch: bool,
    election: bool,
    sim: Option<&RunningSim>,
) -> Result<Option<kube::Client>, String> {
    let needs: Vec<&str> = [
        ("serve.kubernetes_events", watch),
        ("serve.leader_election", election),
    ]
    .into_iter()
    .filter_map(|(section, on)| on.then_some(section))
    .collect();
    if needs.is_empty() {
        return Ok(None);
    }
    match sim {
        Some(env) => kube_client_for(env.kubeconfig()).await,
        None => kube::Client::try_default().await.map_err(|e| e.to_string()),
    }
    .map(Some)
    .map_err(|e| {
        format!(
            "{}: cannot reach the Kubernetes API (KUBECONFIG or in-cluster): {e}",
            needs.join(" and ")
        )
    })
}

/// Starts the simulated environment of `--simulate`. A simulation never reaches a real
/// system: configured MCP servers (which would) are refused.
pub(crate) async fn simulate(path: &Path, config: &Config) -> Result<RunningSim, String> {
    let real: Vec<String> = config.servers().into_iter().map(|s| s.name).collect();
    if !real.is_empty() {
        return Err(format!(
            "--simulate: the configuration adds MCP servers ({}) that would act on real systems; remove `servers:` from the configuration or run without --simulate",
            real.join(", ")
        ));
    }
    let scenario = sopilot_sim_env::Scenario::from_file(path)
        .map_err(|e| format!("--simulate {}: {e}", path.display()))?;
    let env = sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("simulating {}: {}", path.display(), env.urls());
    Ok(env)
}

/// A Kubernetes client for one kubeconfig file (the simulator's).
pub(crate) async fn kube_client_for(path: &Path) -> Result<kube::Client, String> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|e| e.to_string())?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .map_err(|e| e.to_string())?;
    kube::Client::try_from(config).map_err(|e| e.to_string())
}

/// The Slack bot: in Socket Mode with the app-level token `SLACK_APP_TOKEN` (when it is set,
/// or `serve.slack.socket_mode: true` demands it), else over HTTP when `SLACK_SIGNING_SECRET`
/// is set. It posts only with `SLACK_BOT_TOKEN` (Web API at `SLACK_API_URL`, default
/// Slack's). `simulated` (Web API URL, bot token, app token) replaces them under
/// `--simulate`, so a simulation never talks to the real Slack.
fn slack_bot(
    settings: Option<&sopilot_server::slack::SlackSettings>,
    store: &Arc<Store>,
    simulated: Option<(String, String, String)>,
) -> Result<Option<sopilot_server::slack::SlackBot>, String> {
    use sopilot_server::slack::socket::{APP_TOKEN_ENV, app_client};
    use sopilot_server::slack::{SlackBot, SlackClient, client::DEFAULT_API_URL};
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let socket_mode = settings
        .and_then(|s| s.socket_mode)
        .unwrap_or_else(|| env(APP_TOKEN_ENV).is_some());
    let secret = env("SLACK_SIGNING_SECRET");
    if !socket_mode && secret.is_none() {
        if settings.is_some() {
            tracing::warn!(
                "serve.slack is configured but neither SLACK_APP_TOKEN (Socket Mode) nor SLACK_SIGNING_SECRET (HTTP) is set: the Slack bot is off"
            );
        }
        return Ok(None);
    }
    let (base, bot_token, app_token) = match simulated {
        Some((base, bot, app)) => (base, Some(bot), Some(app)),
        None => (
            env("SLACK_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_owned()),
            env("SLACK_BOT_TOKEN"),
            env(APP_TOKEN_ENV),
        ),
    };
    let client = match bot_token {
        Some(token) => {
            Some(SlackClient::new(&base, &token).map_err(|e| format!("Slack client: {e}"))?)
        }
        None => {
            tracing::warn!("SLACK_BOT_TOKEN is not set: the Slack bot answers but posts nothing");
            None
        }
    };
    let settings = settings.cloned().unwrap_or_default();
    if settings.approvers.is_empty() {
        tracing::warn!("serve.slack.approvers is empty: nobody can approve from Slack");
    }
    if !socket_mode {
        let secret = secret.unwrap_or_default();
        return Ok(Some(SlackBot::new(
            settings,
            &secret,
            client,
            store.clone(),
        )));
    }
    let token = app_token.ok_or(
        "serve.slack.socket_mode is true but SLACK_APP_TOKEN is not set: create an app-level token with the connections:write scope (the Slack app's Basic Information > App-Level Tokens) and set SLACK_APP_TOKEN to it, or set socket_mode: false to receive Slack over HTTP",
    )?;
    let app = app_client(&base, &token).map_err(|e| e.to_string())?;
    Ok(Some(SlackBot::socket_mode(
        settings,
        app,
        client,
        store.clone(),
    )))
}
