//! `sopilot mcp`: the MCP gateway over stdio, for IDE configs. stdout is the protocol; every
//! log line goes to stderr.
//!
//! It starts the same MCP servers and loads the same policy and SOPs as `sopilot run`, then
//! serves one MCP session (recorded as a run). `run_sop` runs in process and answers with the
//! report; escalations are asked through the client's elicitation, or refused when it has none.
//! The caller is the OS user running it (`$USER`): decisions are recorded as `local:<user>`,
//! never as a name the client reports.

use std::path::PathBuf;
use std::sync::Arc;

use sopilot_runtime::{DenyAll, Parts, Store};
use sopilot_server::mcp::{McpContext, serve_stdio};

use crate::cmd::serve::load_library;
use crate::config::Config;
use crate::session::{load_policy, store_path};
use crate::{McpArgs, Outcome};

/// `sopilot mcp [--config FILE] [--policy PATH] [--sops PATH] [--model M] [--store PATH]`
pub fn mcp(args: &McpArgs) -> Outcome {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Outcome::fail(format!("cannot start the async runtime: {e}")),
    };
    match rt.block_on(mcp_async(args)) {
        Ok(()) => Outcome::default(),
        Err(e) => Outcome::fail(e),
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
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

async fn mcp_async(args: &McpArgs) -> Result<(), String> {
    sopilot_mcp_common::init_logging();
    let config = args
        .config
        .as_deref()
        .map(Config::load)
        .transpose()?
        .unwrap_or_default();
    let sc = &config.serve;
    let policy_paths = match (&args.policy[..], &sc.policy[..]) {
        ([], []) => vec![PathBuf::from("policies/")],
        ([], configured) => configured.to_vec(),
        (given, _) => given.to_vec(),
    };
    let policy = load_policy(&policy_paths, false)?;
    let sops = load_library(if args.sops.is_empty() {
        &sc.sops
    } else {
        &args.sops
    })?;
    let spec: sopilot_llm::ModelSpec = args
        .model
        .as_deref()
        .or(sc.model.as_deref())
        .unwrap_or("none")
        .parse()
        .map_err(|e: sopilot_llm::LlmError| e.to_string())?;
    let model = crate::model::build_client(
        &spec,
        crate::model::model_timeout(None, config.model_timeout(), &spec),
    )
    .await
    .map_err(|e| e.to_string())?;
    let store_file = store_path(args.store.as_deref(), config.store.as_deref());
    let store = Arc::new(Store::open(&store_file).map_err(|e| e.to_string())?);
    let servers = config.all_servers(&[])?;
    let targets = config.target_specs(&[])?;
    let (runner, failures) = sopilot_runtime::assemble(Parts {
        servers,
        targets,
        policy,
        model,
        // Replaced per session by the elicitation approver or the refusing one.
        approver: Arc::new(DenyAll),
        approval_timeout: config.approval_timeout(),
        store,
        prices: config.prices.clone(),
        observer: None,
    })
    .await;
    for f in failures {
        tracing::warn!("{f}");
    }
    tracing::info!(
        tools = runner.gate.gateway.tools().count(),
        store = %sopilot_runtime::Location::of(&store_file),
        "sopilot mcp serving on stdio"
    );
    // Every call on stdio is the local user's: their decisions are recorded as local:USER.
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    let ctx = McpContext::local(runner, sops, config.budgets(), &user);
    serve_stdio(ctx, shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}
