//! `sopilot run` and `sopilot rehearse`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use sopilot_runtime::{Approver, DenyAll, Scripted, Store, Terminal, report_json};
use sopilot_sim_env::SimOptions;

use crate::cmd::sop::read_trigger;
use crate::config::Config;
use crate::model::model_timeout;
use crate::session::{
    Session, SessionOptions, builtin_servers, exit_code, load_policy, load_sop, params_for,
    store_path,
};
use crate::{Outcome, RehearseArgs, RunArgs, progress};

pub(crate) fn parse_params(raw: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for p in raw {
        let (k, v) = p.split_once('=').ok_or_else(|| {
            format!("--param {p:?} must be NAME=VALUE, e.g. --param namespace=payment")
        })?;
        out.insert(k.trim().to_owned(), v.to_owned());
    }
    Ok(out)
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Runs `work` to its end on a fresh runtime, then leaves without waiting for a terminal
/// prompt still reading stdin (a run cancelled with Ctrl-C at an approval prompt).
fn block_on<F: std::future::Future<Output = Result<Outcome, String>>>(work: F) -> Outcome {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return Outcome::fail(e),
    };
    let out = rt.block_on(work);
    rt.shutdown_background();
    match out {
        Ok(o) => o,
        Err(e) => Outcome::fail(e),
    }
}

/// What to print for a finished run.
pub(crate) fn finish(report: &sopilot_runtime::RunReport, json: bool) -> Outcome {
    let stdout = if json {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&report_json(report)).unwrap_or_default()
        )
    } else {
        report.render()
    };
    Outcome {
        stdout,
        stderr: String::new(),
        code: exit_code(report.status),
    }
}

/// `sopilot run SOP [--param ...] [--model ...] ...`
pub fn run(args: &RunArgs) -> Outcome {
    block_on(run_async(args))
}

async fn run_async(args: &RunArgs) -> Result<Outcome, String> {
    let sop = load_sop(&args.sop)?;
    let trigger = args.trigger.as_deref().map(read_trigger).transpose()?;
    let params = params_for(&sop, trigger.as_ref(), parse_params(&args.params)?)?;
    // Fail on missing parameters before starting anything.
    sopilot_sop::resolve_params(&sop, &params).map_err(|e| e.to_string())?;
    let policy = load_policy(&args.policy, false)?;
    let config = args
        .config
        .as_deref()
        .map(Config::load)
        .transpose()?
        .unwrap_or_default();
    let spec: sopilot_llm::ModelSpec = args
        .model
        .parse()
        .map_err(|e: sopilot_llm::LlmError| e.to_string())?;
    let timeout = model_timeout(args.model_timeout, config.model_timeout(), &spec);
    let model = crate::model::build_client(&spec, timeout)
        .await
        .map_err(|e| e.to_string())?;
    let prompt = match args.on_escalate.as_deref() {
        Some("prompt") => true,
        Some("deny") => false,
        Some(other) => return Err(format!("--on-escalate {other:?}: use prompt or deny")),
        None => std::io::stdin().is_terminal(),
    };
    let timeout = config.approval_timeout();
    let approver: Arc<dyn Approver> = if prompt {
        Arc::new(Terminal { timeout })
    } else {
        Arc::new(DenyAll)
    };
    let store_file = store_path(args.store.as_deref(), config.store.as_deref());
    let store = Arc::new(Store::open(&store_file).map_err(|e| e.to_string())?);
    let servers = config.all_servers(&[])?;
    let options = SessionOptions {
        approval_timeout: Some(timeout),
        prices: config.prices.clone(),
        budgets: Some(config.budgets()),
        targets: config.target_specs(&[])?,
    };
    let session = Session::start(
        servers,
        policy,
        model,
        approver,
        store,
        Some(progress::terminal()),
        options,
    )
    .await;
    let report = session
        .run(sop, params, trigger, args.dry_run, args.target.clone())
        .await?;
    Ok(finish(&report, args.json))
}

/// `sopilot rehearse SOP --scenario FILE [...]`: the SOP against a simulated environment.
pub fn rehearse(args: &RehearseArgs) -> Outcome {
    block_on(rehearse_async(args))
}

async fn rehearse_async(args: &RehearseArgs) -> Result<Outcome, String> {
    let sop = load_sop(&args.sop)?;
    let scenario =
        sopilot_sim_env::Scenario::from_file(&args.scenario).map_err(|e| e.to_string())?;
    let has_script = scenario.model.is_some();
    let trigger = args.trigger.as_deref().map(read_trigger).transpose()?;
    let params = params_for(&sop, trigger.as_ref(), parse_params(&args.params)?)?;
    sopilot_sop::resolve_params(&sop, &params).map_err(|e| e.to_string())?;
    let policy = load_policy(&args.policy, false)?;
    let env = sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let model: Option<Arc<dyn sopilot_llm::ModelClient>> = match args.model.as_deref() {
        Some(m) => {
            let spec: sopilot_llm::ModelSpec = m
                .parse()
                .map_err(|e: sopilot_llm::LlmError| e.to_string())?;
            let timeout = model_timeout(args.model_timeout, None, &spec);
            crate::model::build_client(&spec, timeout)
                .await
                .map_err(|e| e.to_string())?
        }
        None if has_script => Some(Arc::new(sopilot_llm::OpenAiClient::new(
            "sopilot-sim",
            Some(env.model_url()),
            Some("sim".into()),
            args.model_timeout.unwrap_or(Duration::from_secs(30)),
        ))),
        None => None,
    };
    let approver: Arc<dyn Approver> = Arc::new(Scripted {
        name: "rehearsal approver".into(),
        approve: args.approve.clone(),
    });
    let dir = std::env::temp_dir().join(format!("sopilot-rehearse-{}", std::process::id()));
    let store = Arc::new(Store::open(&dir.join("sopilot.db")).map_err(|e| e.to_string())?);
    let session = Session::start(
        builtin_servers(&env.server_env())?,
        policy,
        model,
        approver,
        store,
        Some(progress::terminal()),
        SessionOptions::default(),
    )
    .await;
    let report = session.run(sop, params, trigger, args.dry_run, None).await;
    env.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(finish(&report?, args.json))
}
