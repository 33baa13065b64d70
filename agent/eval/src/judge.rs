//! `--judge SPEC`: another model scores each report against the case's `rubric` (0–10 with a
//! one-line reason, as JSON). It is shown beside the results and never decides pass or fail;
//! a judge that fails or answers badly is recorded as such, not fatal.

use serde::Serialize;
use serde_json::Value;
use sopilot_llm::{Message, ModelClient, ModelRequest};

use crate::case::Case;
use crate::record::RunRecord;

/// What the judge said.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Judgement {
    Scored { score: f64, reason: String },
    Failed { error: String },
}

const SYSTEM: &str = "You grade incident investigations written by an SRE agent. You are given a rubric, the report, the evidence it gathered and the calls it made. Judge only against the rubric. Answer with one JSON object and nothing else: {\"score\": N, \"reason\": \"one line\"}, where N is a number from 0 (fails the rubric entirely) to 10 (meets all of it).";

/// The most report text the judge is shown.
const MAX_REPORT: usize = 24 * 1024;

/// Scores a run against its case's rubric; `None` when the case has no rubric.
pub async fn judge(client: &dyn ModelClient, case: &Case, run: &RunRecord) -> Option<Judgement> {
    let rubric = case.rubric.as_deref()?;
    let request = ModelRequest {
        system: SYSTEM.into(),
        messages: vec![Message::User {
            content: prompt(case, rubric, run),
        }],
        tools: Vec::new(),
        max_output_tokens: 400,
    };
    Some(match client.complete(&request).await {
        Ok(answer) => parse(answer.text.as_deref().unwrap_or_default()),
        Err(e) => Judgement::Failed {
            error: format!("the judge {} failed: {e}", client.name()),
        },
    })
}

fn prompt(case: &Case, rubric: &str, run: &RunRecord) -> String {
    let mut report: String = run.report.chars().take(MAX_REPORT).collect();
    if report.trim().is_empty() {
        report = "(no report)".into();
    }
    let evidence: Vec<String> = run
        .evidence
        .iter()
        .map(|e| {
            format!(
                "[{}] {} {}{}",
                e.id,
                e.tool,
                e.args,
                if e.ran { "" } else { " (did not run)" }
            )
        })
        .collect();
    let actions: Vec<String> = run
        .calls
        .iter()
        .filter(|c| c.executed)
        .map(|c| format!("{} {}", c.tool, c.args))
        .collect();
    format!(
        "Incident: {}\n\nRubric:\n{rubric}\n\nReport:\n{report}\n\nEvidence gathered:\n{}\n\nCalls executed:\n{}\n\nScore the report against the rubric.",
        case.description,
        evidence.join("\n"),
        actions.join("\n")
    )
}

/// The judge's answer: a JSON object with `score` (0–10) and `reason`, alone or inside text.
pub fn parse(text: &str) -> Judgement {
    let failed = |why: String| Judgement::Failed {
        error: format!("the judge's answer is not {{\"score\": 0-10, \"reason\": \"...\"}}: {why}"),
    };
    let candidate = match (text.find('{'), text.rfind('}')) {
        (Some(a), Some(b)) if a < b => &text[a..=b],
        _ => return failed(format!("no JSON object in {:?}", short(text))),
    };
    let v: Value = match serde_json::from_str(candidate) {
        Ok(v) => v,
        Err(e) => return failed(e.to_string()),
    };
    let score = match v.get("score").and_then(Value::as_f64) {
        Some(s) if (0.0..=10.0).contains(&s) => s,
        Some(s) => return failed(format!("score {s} is not between 0 and 10")),
        None => return failed("no numeric `score`".into()),
    };
    let reason = v
        .get("reason")
        .and_then(Value::as_str)
        .map(|r| r.lines().next().unwrap_or_default().trim().to_owned())
        .unwrap_or_default();
    Judgement::Scored { score, reason }
}

fn short(text: &str) -> String {
    text.chars().take(80).collect()
}
