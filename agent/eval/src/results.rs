//! Results: one row per case × model × repeat, totals per model (pass rate, root-cause
//! rate, safety violations, latency percentiles, tokens, cost and context per
//! investigation, pass rate by cause class), the Markdown tables, and the CI gate of
//! `--require-pass-rate`. The JSON shape is documented in `docs/eval.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use sopilot_protocol::{CauseClass, RootCause, RunStatus};

use crate::case::Case;
use crate::grade::Grade;
use crate::judge::Judgement;
use crate::record::{CallItem, RunRecord};

/// The model label of each case's own `reference.yaml`.
pub const REFERENCE: &str = "scripted:reference";
/// The model label of each case's own `wrong.yaml`.
pub const WRONG: &str = "scripted:wrong";

/// One run of one case with one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseResult {
    pub case: String,
    pub class: CauseClass,
    pub model: String,
    /// 1-based, up to `--repeat`.
    pub repeat: u32,
    pub pass: bool,
    pub root_cause_right: bool,
    pub safety_violations: u32,
    /// `None` when the run could not start (see `error`).
    pub status: Option<RunStatus>,
    pub root_cause: Option<RootCause>,
    pub tool_calls: usize,
    pub turns: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: Option<f64>,
    pub wall_seconds: f64,
    /// Tool output the model read, in bytes.
    pub context_bytes: u64,
    /// `context_bytes` per tool (`server.tool`).
    pub context_by_tool: BTreeMap<String, u64>,
    /// The system prompt (the SOP included) and tool schemas every model turn starts with.
    pub prompt_bytes: u64,
    /// One line per failed expectation.
    pub failed_checks: Vec<String>,
    /// Every call the run made through the gate: tool, arguments, decision, whether it ran
    /// and succeeded, and the reason.
    pub calls: Vec<CallItem>,
    /// The run's notes (a malformed root cause, an empty report, a refused call ...).
    pub notes: Vec<String>,
    pub judge: Option<Judgement>,
    /// Why the run could not start or finish (the environment, the model client).
    pub error: Option<String>,
    pub run_id: Option<String>,
}

impl CaseResult {
    /// A graded run.
    pub fn graded(case: &Case, model: &str, repeat: u32, run: &RunRecord, grade: Grade) -> Self {
        CaseResult {
            case: case.name.clone(),
            class: case.class,
            model: model.to_owned(),
            repeat,
            pass: grade.pass,
            root_cause_right: grade.root_cause_right,
            safety_violations: grade.safety_violations,
            status: Some(run.status),
            root_cause: run.root_cause.clone(),
            tool_calls: run.calls.len(),
            turns: run.turns,
            input_tokens: run.input_tokens,
            output_tokens: run.output_tokens,
            cost_usd: run.cost_usd,
            wall_seconds: run.wall.as_secs_f64(),
            context_bytes: run.context_bytes,
            context_by_tool: run.context_by_tool.clone(),
            prompt_bytes: run.prompt_bytes,
            failed_checks: grade.failed,
            calls: run.calls.clone(),
            notes: run.notes.clone(),
            judge: None,
            error: None,
            run_id: Some(run.run_id.clone()),
        }
    }

    /// A run that could not be made: a failure, with why.
    pub fn errored(case: &Case, model: &str, repeat: u32, error: String, wall: Duration) -> Self {
        CaseResult {
            case: case.name.clone(),
            class: case.class,
            model: model.to_owned(),
            repeat,
            pass: false,
            root_cause_right: false,
            safety_violations: 0,
            status: None,
            root_cause: None,
            tool_calls: 0,
            turns: 0,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: None,
            wall_seconds: wall.as_secs_f64(),
            context_bytes: 0,
            context_by_tool: BTreeMap::new(),
            prompt_bytes: 0,
            failed_checks: vec![format!("the run could not be made: {error}")],
            calls: Vec::new(),
            notes: Vec::new(),
            judge: None,
            error: Some(error),
            run_id: None,
        }
    }

    /// `succeeded`, `needs_human`, ... or `error`.
    pub fn status_text(&self) -> String {
        self.status
            .and_then(|s| serde_json::to_value(s).ok())
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "error".into())
    }
}

/// Runs and passes of one cause class.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClassTotals {
    pub runs: u32,
    pub passed: u32,
}

/// Totals of one model over every case and repeat.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelTotals {
    pub model: String,
    pub runs: u32,
    pub passed: u32,
    pub pass_rate: f64,
    pub root_cause_rate: f64,
    pub safety_violations: u32,
    /// Runs that could not be made.
    pub errors: u32,
    pub latency_p50_seconds: f64,
    pub latency_p95_seconds: f64,
    pub input_tokens_per_run: f64,
    pub output_tokens_per_run: f64,
    /// Mean over priced runs; `None` when no run had a price.
    pub cost_per_run_usd: Option<f64>,
    pub context_bytes_per_run: f64,
    /// Mean tool output per run, per tool (`server.tool`), over every run.
    pub context_bytes_per_run_by_tool: BTreeMap<String, f64>,
    /// The system prompt and tool schemas every turn starts with, mean over runs, in bytes.
    pub prompt_bytes_per_turn: f64,
    /// Mean judge score (0–10) over scored runs.
    pub judge_mean: Option<f64>,
    pub by_class: BTreeMap<String, ClassTotals>,
}

/// A case, as the results list it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseInfo {
    pub name: String,
    pub class: CauseClass,
    pub description: String,
    pub tags: Vec<String>,
}

/// Everything an evaluation produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Results {
    /// The shape's version (`docs/eval.md`).
    pub version: u32,
    pub generated_at: String,
    /// The cases folder.
    pub scenarios: String,
    pub models: Vec<String>,
    pub repeat: u32,
    pub judge: Option<String>,
    pub cases: Vec<CaseInfo>,
    /// Sorted by case, model and repeat.
    pub results: Vec<CaseResult>,
    /// One per model, in `models` order.
    pub totals: Vec<ModelTotals>,
}

/// What an evaluation was asked to do, for the results' header.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub scenarios: String,
    pub models: Vec<String>,
    pub repeat: u32,
    pub judge: Option<String>,
}

impl Results {
    /// Sorts the rows and computes the totals.
    pub fn new(header: Header, cases: &[Case], mut results: Vec<CaseResult>) -> Results {
        let order = |m: &str| {
            header
                .models
                .iter()
                .position(|x| x == m)
                .unwrap_or(usize::MAX)
        };
        results.sort_by(|a, b| {
            (a.case.as_str(), order(&a.model), a.repeat).cmp(&(
                b.case.as_str(),
                order(&b.model),
                b.repeat,
            ))
        });
        let totals = header
            .models
            .iter()
            .map(|m| totals(m, results.iter().filter(|r| &r.model == m)))
            .collect();
        Results {
            version: 1,
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            scenarios: header.scenarios,
            models: header.models,
            repeat: header.repeat,
            judge: header.judge,
            cases: cases
                .iter()
                .map(|c| CaseInfo {
                    name: c.name.clone(),
                    class: c.class,
                    description: c.description.clone(),
                    tags: c.tags.clone(),
                })
                .collect(),
            results,
            totals,
        }
    }

    /// Why `--require-pass-rate RATE` fails, one line each (empty: it holds). Every model
    /// but `scripted:wrong` must pass at least `rate` of its runs; `scripted:reference` must
    /// pass every case and `scripted:wrong` none.
    pub fn requirement_failures(&self, rate: f64) -> Vec<String> {
        let mut out = Vec::new();
        for t in self.totals.iter().filter(|t| t.model != WRONG) {
            if t.pass_rate + 1e-9 < rate {
                out.push(format!(
                    "{}: pass rate {:.1} % is below the required {:.1} %",
                    t.model,
                    t.pass_rate * 100.0,
                    rate * 100.0
                ));
            }
        }
        for r in &self.results {
            match (r.model.as_str(), r.pass) {
                (REFERENCE, false) => out.push(format!(
                    "{} fails with its reference script: {}",
                    r.case,
                    r.failed_checks.join("; ")
                )),
                (WRONG, true) => out.push(format!(
                    "{} passes with its wrong script: the case does not tell a wrong investigation from a right one",
                    r.case
                )),
                _ => {}
            }
        }
        out
    }

    /// The Markdown tables: totals per model, then one row per run.
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "## SOPilot eval: {} cases × {} models\n",
            self.cases.len(),
            self.models.len()
        );
        let _ = writeln!(
            o,
            "| model | pass rate | root cause | safety violations | p50 s | p95 s | tokens in / out per run | cost per run | context bytes per run | judge |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for t in &self.totals {
            let _ = writeln!(
                o,
                "| {} | {} ({}/{}) | {} | {} | {:.1} | {:.1} | {:.0} / {:.0} | {} | {:.0} | {} |",
                cell(&t.model),
                pct(t.pass_rate),
                t.passed,
                t.runs,
                pct(t.root_cause_rate),
                t.safety_violations,
                t.latency_p50_seconds,
                t.latency_p95_seconds,
                t.input_tokens_per_run,
                t.output_tokens_per_run,
                money(t.cost_per_run_usd),
                t.context_bytes_per_run,
                t.judge_mean.map_or("—".into(), |j| format!("{j:.1}")),
            );
        }
        self.context_table(&mut o);
        let _ = writeln!(
            o,
            "\n| case | class | model | # | result | root cause | safety | calls | turns | tokens in / out | cost | wall s | status | failed checks |"
        );
        let _ = writeln!(
            o,
            "|---|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---|---|"
        );
        for r in &self.results {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {:.1} | {} | {} |",
                cell(&r.case),
                r.class,
                cell(&r.model),
                r.repeat,
                if r.pass { "PASS" } else { "FAIL" },
                if r.root_cause_right { "right" } else { "wrong" },
                r.safety_violations,
                r.tool_calls,
                r.turns,
                r.input_tokens,
                r.output_tokens,
                money(r.cost_usd),
                r.wall_seconds,
                r.status_text(),
                cell(&r.failed_checks.join("; ")),
            );
        }
        o
    }

    /// Where each model's context goes: the prompt every turn starts with, then the tools
    /// whose output it read most (the top five), in bytes per run.
    fn context_table(&self, o: &mut String) {
        let _ = writeln!(
            o,
            "\n| model | prompt bytes per turn | tool output bytes per run, top tools |"
        );
        let _ = writeln!(o, "|---|---:|---|");
        for t in &self.totals {
            let mut tools: Vec<(&String, &f64)> = t.context_bytes_per_run_by_tool.iter().collect();
            tools.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
            let top: Vec<String> = tools
                .iter()
                .take(5)
                .map(|(tool, b)| format!("{} {b:.0}", cell(tool)))
                .collect();
            let _ = writeln!(
                o,
                "| {} | {:.0} | {} |",
                cell(&t.model),
                t.prompt_bytes_per_turn,
                if top.is_empty() {
                    "—".into()
                } else {
                    top.join(", ")
                }
            );
        }
    }
}

/// Totals of one model's rows.
fn totals<'a>(model: &str, rows: impl Iterator<Item = &'a CaseResult>) -> ModelTotals {
    let rows: Vec<&CaseResult> = rows.collect();
    let n = rows.len() as f64;
    let mean = |f: &dyn Fn(&CaseResult) -> f64| {
        if rows.is_empty() {
            0.0
        } else {
            rows.iter().map(|r| f(r)).sum::<f64>() / n
        }
    };
    let rate = |f: &dyn Fn(&CaseResult) -> bool| {
        if rows.is_empty() {
            0.0
        } else {
            rows.iter().filter(|r| f(r)).count() as f64 / n
        }
    };
    let mut walls: Vec<f64> = rows.iter().map(|r| r.wall_seconds).collect();
    walls.sort_by(f64::total_cmp);
    let costs: Vec<f64> = rows.iter().filter_map(|r| r.cost_usd).collect();
    let scores: Vec<f64> = rows
        .iter()
        .filter_map(|r| match &r.judge {
            Some(Judgement::Scored { score, .. }) => Some(*score),
            _ => None,
        })
        .collect();
    let mut by_class: BTreeMap<String, ClassTotals> = BTreeMap::new();
    for r in &rows {
        let c = by_class.entry(r.class.to_string()).or_default();
        c.runs += 1;
        c.passed += u32::from(r.pass);
    }
    ModelTotals {
        model: model.to_owned(),
        runs: rows.len() as u32,
        passed: rows.iter().filter(|r| r.pass).count() as u32,
        pass_rate: rate(&|r| r.pass),
        root_cause_rate: rate(&|r| r.root_cause_right),
        safety_violations: rows.iter().map(|r| r.safety_violations).sum(),
        errors: rows.iter().filter(|r| r.error.is_some()).count() as u32,
        latency_p50_seconds: percentile(&walls, 0.50),
        latency_p95_seconds: percentile(&walls, 0.95),
        input_tokens_per_run: mean(&|r| r.input_tokens as f64),
        output_tokens_per_run: mean(&|r| r.output_tokens as f64),
        cost_per_run_usd: (!costs.is_empty())
            .then(|| costs.iter().sum::<f64>() / costs.len() as f64),
        context_bytes_per_run: mean(&|r| r.context_bytes as f64),
        context_bytes_per_run_by_tool: by_tool(&rows),
        prompt_bytes_per_turn: mean(&|r| r.prompt_bytes as f64),
        judge_mean: (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64),
        by_class,
    }
}

/// Mean bytes per run of each tool, over every run (a run that never called it counts 0).
fn by_tool(rows: &[&CaseResult]) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    for r in rows {
        for (tool, bytes) in &r.context_by_tool {
            *sums.entry(tool.clone()).or_default() += *bytes as f64;
        }
    }
    let n = rows.len().max(1) as f64;
    sums.into_iter().map(|(t, b)| (t, b / n)).collect()
}

/// The nearest-rank percentile of sorted values (0 for none).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn pct(rate: f64) -> String {
    format!("{:.0} %", rate * 100.0)
}

fn money(cost: Option<f64>) -> String {
    cost.map_or("—".into(), |c| format!("${c:.4}"))
}

/// Text safe in a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
