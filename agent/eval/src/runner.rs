//! Running an evaluation: every case × model × repeat as a job, at most `concurrency` at a
//! time, each made by an [`Executor`] (the binary's: a fresh simulated environment per job,
//! the same gate and runner as `sopilot run`), graded, optionally judged, reported as it
//! finishes, and gathered into [`Results`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use sopilot_llm::{LlmError, ModelClient, ModelRequest, ModelResponse};

use crate::case::{Case, REFERENCE_FILE, WRONG_FILE};
use crate::grade::grade;
use crate::judge::judge;
use crate::record::RunRecord;
use crate::results::{CaseResult, Header, REFERENCE, Results, WRONG};

/// The model of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelChoice {
    /// Each case's own `reference.yaml`, served by its simulated model.
    Reference,
    /// Each case's own `wrong.yaml`, served by its simulated model.
    Wrong,
    /// A `--model` spec (`openai:gpt-4.1`, `bedrock:...`, `scripted:FILE`).
    Spec(String),
}

impl ModelChoice {
    /// `scripted:reference` and `scripted:wrong` are the cases' own scripts; anything else
    /// is a model spec.
    pub fn parse(spec: &str) -> ModelChoice {
        match spec {
            REFERENCE => ModelChoice::Reference,
            WRONG => ModelChoice::Wrong,
            other => ModelChoice::Spec(other.to_owned()),
        }
    }

    /// The name results use.
    pub fn label(&self) -> String {
        match self {
            ModelChoice::Reference => REFERENCE.into(),
            ModelChoice::Wrong => WRONG.into(),
            ModelChoice::Spec(s) => s.clone(),
        }
    }

    /// The case's script file this choice plays, if it is one of the cases' own.
    pub fn script_file(&self) -> Option<&'static str> {
        match self {
            ModelChoice::Reference => Some(REFERENCE_FILE),
            ModelChoice::Wrong => Some(WRONG_FILE),
            ModelChoice::Spec(_) => None,
        }
    }
}

/// One run to make.
#[derive(Debug, Clone)]
pub struct Job {
    pub case: Arc<Case>,
    pub model: ModelChoice,
    /// 1-based.
    pub repeat: u32,
}

/// Makes one job's run.
#[async_trait::async_trait]
pub trait Executor: Send + Sync {
    /// Runs the job's case with its model in a fresh environment and reports what it
    /// showed; `Err` when the run could not be made (its environment, its model client).
    async fn execute(&self, job: &Job) -> Result<RunRecord, String>;
}

/// A finished job, as progress reports it.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// Jobs finished so far, this one included.
    pub done: usize,
    pub total: usize,
    pub result: &'a CaseResult,
}

/// `[12/62] crashloop-config-change scripted:reference PASS 3.1 s`.
pub fn progress_line(p: &Progress<'_>) -> String {
    let r = p.result;
    let repeat = if r.repeat > 1 {
        format!(" #{}", r.repeat)
    } else {
        String::new()
    };
    let verdict = match (&r.error, r.pass) {
        (Some(e), _) => format!("ERROR ({e})"),
        (None, true) => "PASS".into(),
        (None, false) => "FAIL".into(),
    };
    format!(
        "[{}/{}] {} {}{repeat} {verdict} {:.1} s",
        p.done, p.total, r.case, r.model, r.wall_seconds
    )
}

/// A line for the wait between finished runs (a real model can take minutes per case):
/// `... 2 running; 3/7 done (1 passed); 6m05s elapsed, about 8m07s left`. The estimate
/// (wall time so far per finished run, times the runs left) appears once a run has finished.
pub fn heartbeat_line(
    done: usize,
    passed: usize,
    total: usize,
    running: usize,
    elapsed: Duration,
) -> String {
    let left = total.saturating_sub(done);
    let eta = (done > 0 && left > 0).then(|| {
        let per_run = elapsed.as_secs_f64() / done as f64;
        let secs = per_run * left as f64;
        format!(
            ", about {} left",
            clock(Duration::from_secs_f64(secs.max(0.0)))
        )
    });
    format!(
        "... {running} running; {done}/{total} done ({passed} passed); {} elapsed{}",
        clock(elapsed),
        eta.unwrap_or_default()
    )
}

/// `45s`, `6m05s`, `1h02m`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// What to evaluate.
pub struct Plan {
    pub cases: Vec<Case>,
    pub models: Vec<ModelChoice>,
    /// Runs per case and model (at least 1).
    pub repeat: u32,
    /// Runs at once (at least 1).
    pub concurrency: usize,
    /// Scores reports against rubrics; never decides pass or fail.
    pub judge: Option<Arc<dyn ModelClient>>,
    /// The cases folder, for the results.
    pub scenarios: String,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("cases", &self.cases.len())
            .field("models", &self.models)
            .field("repeat", &self.repeat)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

/// Runs every job of the plan and gathers the results; `progress` hears of each job as it
/// finishes.
pub async fn run(
    plan: Plan,
    executor: &dyn Executor,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Results {
    let cases: Vec<Arc<Case>> = plan.cases.iter().cloned().map(Arc::new).collect();
    let repeat = plan.repeat.max(1);
    let mut jobs = Vec::new();
    for case in &cases {
        for model in &plan.models {
            for r in 1..=repeat {
                jobs.push(Job {
                    case: case.clone(),
                    model: model.clone(),
                    repeat: r,
                });
            }
        }
    }
    let total = jobs.len();
    let judge = plan.judge.clone();
    let mut stream = futures::stream::iter(jobs)
        .map(|job| one(job, executor, judge.clone()))
        .buffer_unordered(plan.concurrency.max(1));
    let mut results = Vec::with_capacity(total);
    while let Some(result) = stream.next().await {
        results.push(result);
        if let Some(last) = results.last() {
            progress(Progress {
                done: results.len(),
                total,
                result: last,
            });
        }
    }
    let header = Header {
        scenarios: plan.scenarios,
        models: plan.models.iter().map(ModelChoice::label).collect(),
        repeat,
        judge: plan.judge.as_ref().map(|j| j.name()),
    };
    Results::new(header, &plan.cases, results)
}

/// One job: run, grade, judge.
async fn one(
    job: Job,
    executor: &dyn Executor,
    judge_model: Option<Arc<dyn ModelClient>>,
) -> CaseResult {
    let started = Instant::now();
    let label = job.model.label();
    match executor.execute(&job).await {
        Ok(record) => {
            let verdict = grade(&job.case, &record);
            let mut result = CaseResult::graded(&job.case, &label, job.repeat, &record, verdict);
            if let Some(j) = &judge_model {
                result.judge = judge(j.as_ref(), &job.case, &record).await;
            }
            result
        }
        Err(e) => CaseResult::errored(&job.case, &label, job.repeat, e, started.elapsed()),
    }
}

/// A model client under another name (`scripted:reference` for the simulated model playing
/// a case's reference script), so reports, the store and prices say which model it was.
#[derive(Debug)]
pub struct Named {
    pub inner: Arc<dyn ModelClient>,
    pub name: String,
}

#[async_trait::async_trait]
impl ModelClient for Named {
    async fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, LlmError> {
        self.inner.complete(request).await
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}
