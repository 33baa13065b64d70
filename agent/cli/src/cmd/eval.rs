//! `sopilot eval`: every case of `eval/cases/` (docs/eval.md) with every `--model`, each run
//! in its own simulated environment (Kubernetes, AWS, Slack and model on loopback) with the
//! real MCP servers, the same gate and runner assembly as `sopilot run`, a fresh in-memory
//! store and the case's human as the approver; then graded, and written as a Markdown table
//! (stdout), JSON and a self-contained HTML report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sopilot_eval::case::SCENARIO_FILE;
use sopilot_eval::{Executor, Job, ModelChoice, Named, ObservedObject, Plan, RunRecord};
use sopilot_llm::{ModelClient, ModelSpec, PriceTable};
use sopilot_runtime::{Budgets, CancellationToken, RunInput, Store};
use sopilot_sim_env::{RunningSim, Scenario, SimOptions};
use sopilot_sop::Sop;

use crate::cmd::serve::load_library;
use crate::config::Config;
use crate::model::model_timeout;
use crate::session::{Session, SessionOptions, builtin_servers, load_policy};
use crate::{EvalArgs, Outcome};

/// How long the simulated model playing a case's script may take for one turn (it answers
/// at once; this only bounds a wedged connection).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an escalation may wait for the case's human (who answers at once).
const APPROVAL_TIMEOUT: Duration = Duration::from_secs(60);

/// `sopilot eval ...`
pub fn eval(args: &EvalArgs) -> Outcome {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Outcome::fail(format!("cannot start the async runtime: {e}")),
    };
    let out = rt.block_on(eval_async(args));
    rt.shutdown_background();
    out.unwrap_or_else(Outcome::fail)
}

/// Everything a run needs besides its case, shared by every job.
struct SimExecutor {
    sops: Vec<Sop>,
    policy: Vec<PathBuf>,
    prices: PriceTable,
    budgets: Budgets,
    /// `--model-timeout`, then `model_timeout:` of the configuration.
    timeout_flag: Option<Duration>,
    timeout_configured: Option<Duration>,
    cancel: CancellationToken,
}

async fn eval_async(args: &EvalArgs) -> Result<Outcome, String> {
    let config = args
        .config
        .as_deref()
        .map(Config::load)
        .transpose()?
        .unwrap_or_default();
    let sops = load_library(if args.sops.is_empty() {
        &config.serve.sops
    } else {
        &args.sops
    })?;
    let cases = match sopilot_eval::load_cases(&args.scenarios, &args.cases) {
        Ok(c) if c.is_empty() => {
            return Err(format!(
                "no cases in {}: a case is a folder with a case.yaml (docs/eval.md)",
                args.scenarios.display()
            ));
        }
        Ok(c) => c,
        Err(errors) => return Ok(bad_input(errors.iter().map(ToString::to_string))),
    };
    let check_scenario = |p: &Path| {
        Scenario::from_file(p)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let problems: Vec<String> = cases
        .iter()
        .flat_map(|c| sopilot_eval::lint(c, &sops, &check_scenario))
        .map(|e| e.to_string())
        .collect();
    if args.lint {
        return Ok(lint_outcome(&cases, problems));
    }
    if !problems.is_empty() {
        return Ok(bad_input(problems));
    }
    if args.models.is_empty() {
        return Err("name at least one --model (e.g. --model scripted:reference --model openai:gpt-4.1), or use --lint".into());
    }
    let models: Vec<ModelChoice> = args.models.iter().map(|m| ModelChoice::parse(m)).collect();
    for m in &models {
        if let ModelChoice::Spec(s) = m {
            s.parse::<ModelSpec>().map_err(|e| e.to_string())?;
        }
    }
    let judge = match &args.judge {
        Some(spec) => Some(judge_client(spec, args.model_timeout, config.model_timeout()).await?),
        None => None,
    };
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ncancelling the evaluation (Ctrl-C)...");
            on_ctrl_c.cancel();
        }
    });
    let executor = SimExecutor {
        sops,
        policy: args.policy.clone(),
        prices: config.prices.clone(),
        budgets: config.budgets(),
        timeout_flag: args.model_timeout,
        timeout_configured: config.model_timeout(),
        cancel: cancel.clone(),
    };
    let plan = Plan {
        cases,
        models,
        repeat: args.repeat,
        concurrency: usize::try_from(args.concurrency).unwrap_or(1),
        judge,
        scenarios: args.scenarios.display().to_string(),
    };
    let ticker = Ticker::new(
        plan.cases.len() * plan.models.len() * plan.repeat.max(1) as usize,
        plan.concurrency.max(1),
    );
    let heartbeat = tokio::spawn(ticker.clone().beat(HEARTBEAT));
    let progress = |p: sopilot_eval::Progress<'_>| {
        ticker.finished(p.result.pass);
        eprintln!("{}", sopilot_eval::progress_line(&p));
    };
    let results = sopilot_eval::run(plan, &executor, &progress).await;
    heartbeat.abort();
    watcher.abort();
    write_outputs(args, &results)
        .map(|stdout| finish(args, &results, stdout, cancel.is_cancelled()))
}

/// How long the evaluation may be silent before a heartbeat line says it is still working.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// Counts finished runs, and says on stderr how far along the evaluation is whenever it has
/// been quiet for a while (a real model can take minutes per case).
#[derive(Clone)]
struct Ticker(Arc<std::sync::Mutex<TickerState>>);

struct TickerState {
    started: Instant,
    last_line: Instant,
    done: usize,
    passed: usize,
    total: usize,
    concurrency: usize,
}

impl Ticker {
    fn new(total: usize, concurrency: usize) -> Self {
        let now = Instant::now();
        Ticker(Arc::new(std::sync::Mutex::new(TickerState {
            started: now,
            last_line: now,
            done: 0,
            passed: 0,
            total,
            concurrency,
        })))
    }

    fn finished(&self, pass: bool) {
        let mut t = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        t.done += 1;
        t.passed += usize::from(pass);
        t.last_line = Instant::now();
    }

    async fn beat(self, every: Duration) {
        loop {
            tokio::time::sleep(every / 3).await;
            let mut t = self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if t.last_line.elapsed() >= every && t.done < t.total {
                let running = t.concurrency.min(t.total - t.done);
                eprintln!(
                    "{}",
                    sopilot_eval::heartbeat_line(
                        t.done,
                        t.passed,
                        t.total,
                        running,
                        t.started.elapsed()
                    )
                );
                t.last_line = Instant::now();
            }
        }
    }
}

/// Exit 1 with every problem, one a line.
fn bad_input(problems: impl IntoIterator<Item = String>) -> Outcome {
    let list: Vec<String> = problems.into_iter().collect();
    Outcome {
        stdout: String::new(),
        stderr: format!(
            "error: {} problem(s) in the cases:\n{}\n",
            list.len(),
            list.iter()
                .map(|p| format!("  {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        code: 1,
    }
}

/// `--lint`: each case ok, or its problems.
fn lint_outcome(cases: &[sopilot_eval::Case], problems: Vec<String>) -> Outcome {
    if !problems.is_empty() {
        return bad_input(problems);
    }
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    Outcome::ok(format!("{} cases ok: {}\n", cases.len(), names.join(", ")))
}

/// Writes `--json`, `--markdown` and `--html`; returns what goes to stdout (the Markdown
/// tables unless `--markdown` names a file).
fn write_outputs(args: &EvalArgs, results: &sopilot_eval::Results) -> Result<String, String> {
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(results).map_err(|e| e.to_string())?;
        write(path, &format!("{json}\n"))?;
    }
    if let Some(path) = &args.html {
        write(path, &sopilot_eval::html::html(results))?;
    }
    let markdown = results.markdown();
    match &args.markdown {
        Some(path) => write(path, &markdown).map(|()| String::new()),
        None => Ok(markdown),
    }
}

/// Exit 0 when the evaluation ran (whatever the pass rate), 1 when `--require-pass-rate`
/// does not hold or the evaluation was cancelled.
fn finish(
    args: &EvalArgs,
    results: &sopilot_eval::Results,
    stdout: String,
    cancelled: bool,
) -> Outcome {
    let mut stderr = String::new();
    let mut code = 0;
    if cancelled {
        stderr.push_str("error: the evaluation was cancelled; the results are partial\n");
        code = 1;
    }
    if let Some(rate) = args.require_pass_rate {
        let failures = results.requirement_failures(rate);
        if !failures.is_empty() {
            stderr.push_str(&format!(
                "error: --require-pass-rate {rate} does not hold:\n{}\n",
                failures
                    .iter()
                    .map(|f| format!("  {f}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
            code = 1;
        }
    }
    Outcome {
        stdout,
        stderr,
        code,
    }
}

/// The judge's client.
async fn judge_client(
    spec: &str,
    flag: Option<Duration>,
    configured: Option<Duration>,
) -> Result<Arc<dyn ModelClient>, String> {
    let spec: ModelSpec = spec
        .parse()
        .map_err(|e: sopilot_llm::LlmError| format!("--judge: {e}"))?;
    let timeout = model_timeout(flag, configured, &spec);
    crate::model::build_client(&spec, timeout)
        .await
        .map_err(|e| format!("--judge: {e}"))?
        .ok_or_else(|| "--judge none judges nothing: name a model".to_owned())
}

#[async_trait::async_trait]
impl Executor for SimExecutor {
    async fn execute(&self, job: &Job) -> Result<RunRecord, String> {
        if self.cancel.is_cancelled() {
            return Err("cancelled (Ctrl-C) before it started".into());
        }
        let planned = sopilot_eval::route_case(&job.case, &self.sops).map_err(|e| e.to_string())?;
        let file = job.case.dir.join(SCENARIO_FILE);
        let mut scenario =
            Scenario::from_file(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        if let Some(script) = job.model.script_file() {
            let script =
                sopilot_eval::lint::script(&job.case, script).map_err(|e| e.to_string())?;
            scenario.model = Some(serde_json::to_value(&script).map_err(|e| e.to_string())?);
        }
        let env = sopilot_sim_env::start(scenario, SimOptions::default())
            .await
            .map_err(|e| format!("the simulated environment did not start: {e}"))?;
        let record = self.run_in(&env, job, planned).await;
        env.shutdown().await;
        record
    }
}

impl SimExecutor {
    /// The run itself, in a started environment: assembled as `sopilot run` assembles it.
    async fn run_in(
        &self,
        env: &RunningSim,
        job: &Job,
        planned: sopilot_eval::Planned,
    ) -> Result<RunRecord, String> {
        let model = self.model(env, &job.model).await?;
        let session = Session::start(
            builtin_servers(&env.server_env())?,
            load_policy(&self.policy, true)?,
            model,
            sopilot_eval::human::approver(&job.case.human),
            Arc::new(Store::in_memory().map_err(|e| e.to_string())?),
            None,
            SessionOptions {
                approval_timeout: Some(APPROVAL_TIMEOUT),
                prices: self.prices.clone(),
                budgets: Some(self.budgets.clone()),
                targets: Vec::new(),
            },
        )
        .await;
        let input = RunInput {
            sop: planned.sop,
            params: planned.params,
            trigger: Some(planned.trigger),
            budgets: session.budgets.clone(),
            dry_run: false,
            target: None,
            carries_on: None,
            run_id: None,
        };
        let started = Instant::now();
        let report = session.runner.run(input, self.cancel.child_token()).await;
        let wall = started.elapsed();
        let objects = observe(env, &job.case.expect.final_state);
        if let Ok(gateway) = Arc::try_unwrap(session.runner.gate.gateway) {
            gateway.shutdown().await;
        }
        let report = report.map_err(|e| format!("the run could not start: {e}"))?;
        Ok(RunRecord::from_report(&report, wall, objects))
    }

    /// The job's model: a case's own script through the simulated model and the real
    /// OpenAI-compatible client (as `rehearse` plays a scenario's), or a `--model` spec.
    async fn model(
        &self,
        env: &RunningSim,
        choice: &ModelChoice,
    ) -> Result<Option<Arc<dyn ModelClient>>, String> {
        match choice {
            ModelChoice::Reference | ModelChoice::Wrong => {
                let client = sopilot_llm::OpenAiClient::new(
                    "sopilot-sim",
                    Some(env.model_url()),
                    Some("sim".into()),
                    self.timeout_flag.unwrap_or(SCRIPT_TIMEOUT),
                );
                Ok(Some(Arc::new(Named {
                    inner: Arc::new(client),
                    name: choice.label(),
                })))
            }
            ModelChoice::Spec(s) => {
                let spec: ModelSpec = s
                    .parse()
                    .map_err(|e: sopilot_llm::LlmError| e.to_string())?;
                let timeout = model_timeout(self.timeout_flag, self.timeout_configured, &spec);
                crate::model::build_client(&spec, timeout)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }
}

/// The objects the case's `final_state` asks about, as the simulated cluster has them now.
fn observe(env: &RunningSim, asked: &[sopilot_eval::case::FinalState]) -> Vec<ObservedObject> {
    asked
        .iter()
        .map(|f| ObservedObject {
            kind: f.kind.clone(),
            namespace: f.namespace.clone(),
            name: f.name.clone(),
            object: env.get(&f.kind, f.namespace.as_deref(), &f.name),
        })
        .collect()
}

/// Parses `--require-pass-rate`: a fraction (0.95) or a percentage (95%).
pub(crate) fn parse_rate(s: &str) -> Result<f64, String> {
    let (number, scale) = match s.trim().strip_suffix('%') {
        Some(p) => (p.trim(), 100.0),
        None => (s.trim(), 1.0),
    };
    let v: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a rate: write a fraction such as 0.95, or 95%"))?;
    let rate = v / scale;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{s:?} is not between 0 and 1 (0 % and 100 %)"))
    }
}
