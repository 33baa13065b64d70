//! The run report: what was found (evidence, cited by id), what the model concluded (kept
//! apart from the facts), what was done, what waits for a human, and what it cost.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use sopilot_llm::Usage;
use sopilot_protocol::{ApprovalState, RootCause, RunStatus};

use crate::gate::GateOutcome;

/// One piece of evidence: a tool call's result, cited as `[E3]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    pub id: String,
    pub tool: String,
    pub args: Value,
    pub ok: bool,
    pub excerpt: String,
}

/// Why a run stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// Ctrl-C, a shutdown, the API.
    Cancelled,
    TurnBudget {
        max_turns: u32,
    },
    Deadline {
        seconds: u64,
    },
    OutputBudget {
        bytes: usize,
    },
    /// The model repeated one call (tool and arguments) more than allowed.
    Repeated {
        call: String,
        limit: u32,
    },
    ModelFailed(String),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Cancelled => write!(f, "cancelled"),
            StopReason::TurnBudget { max_turns } => {
                write!(f, "the turn budget ({max_turns} model turns) is spent")
            }
            StopReason::Deadline { seconds } => {
                write!(f, "the run's deadline ({seconds} s) passed")
            }
            StopReason::OutputBudget { bytes } => {
                write!(f, "the run's tool-output budget ({bytes} bytes) is spent")
            }
            StopReason::Repeated { call, limit } => write!(
                f,
                "the model repeated the same call ({call}) more than {limit} times"
            ),
            StopReason::ModelFailed(e) => write!(f, "the model failed: {e}"),
        }
    }
}

/// Everything a report is made of, as the run loop collected it.
#[derive(Debug, Clone)]
pub struct ReportParts {
    pub run_id: String,
    pub sop: String,
    /// The target the run was bound to, when several are configured.
    pub target: Option<String>,
    pub model: String,
    pub status: RunStatus,
    pub stopped_by: Option<StopReason>,
    /// The model's report, verbatim.
    pub analysis: Option<String>,
    /// The report's machine-readable root cause, when it had a valid one.
    pub root_cause: Option<RootCause>,
    pub evidence: Vec<Evidence>,
    pub calls: Vec<GateOutcome>,
    pub tokens: Usage,
    pub cost_usd: Option<f64>,
    pub duration: Duration,
    /// Model turns taken, the report included.
    pub turns: u32,
    /// Bytes of tool output the model was given to read.
    pub context_bytes: u64,
    /// `context_bytes` per tool (`server.tool`).
    pub context_by_tool: BTreeMap<String, u64>,
    /// What every model turn starts with: the system prompt (SOP included) and the tool
    /// schemas offered, in bytes.
    pub prompt_bytes: u64,
    pub notes: Vec<String>,
    /// No model was configured (`--model none`).
    pub no_model: bool,
}

/// A finished run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub sop: String,
    /// The target (cluster and account) the run worked on, when several are configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub model: String,
    pub status: RunStatus,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_text")]
    pub stopped_by: Option<StopReason>,
    pub summary: String,
    /// The model's report, verbatim: conclusions, not facts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis: Option<String>,
    /// The report's machine-readable root cause (its fenced JSON block), when valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<RootCause>,
    pub evidence: Vec<Evidence>,
    #[serde(skip)]
    pub calls: Vec<GateOutcome>,
    pub tokens: Usage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    #[serde(serialize_with = "millis")]
    pub duration: Duration,
    /// Model turns taken, the report included.
    pub turns: u32,
    /// Bytes of tool output the model was given to read (its context, beyond the SOP).
    pub context_bytes: u64,
    /// `context_bytes` per tool (`server.tool`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub context_by_tool: BTreeMap<String, u64>,
    /// What every model turn starts with: the system prompt (SOP included) and the tool
    /// schemas offered, in bytes.
    pub prompt_bytes: u64,
    pub notes: Vec<String>,
}

fn as_text<S: serde::Serializer>(r: &Option<StopReason>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.collect_str(r),
        None => s.serialize_none(),
    }
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// The first paragraph of the model's Summary section (or of its report).
fn summary_of(analysis: &str) -> Option<String> {
    let mut lines = analysis.lines().skip_while(|l| {
        !l.trim_start_matches('#')
            .trim()
            .eq_ignore_ascii_case("summary")
    });
    let mut body: Vec<&str> = Vec::new();
    if lines.next().is_some() {
        for l in lines {
            if l.trim_start().starts_with('#') {
                break;
            }
            if l.trim().is_empty() && !body.is_empty() {
                break;
            }
            if !l.trim().is_empty() {
                body.push(l.trim());
            }
        }
    }
    if body.is_empty() {
        body = analysis
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .take(2)
            .collect();
    }
    (!body.is_empty()).then(|| body.join(" "))
}

impl RunReport {
    /// Assembles the report of a run.
    pub fn build(parts: ReportParts) -> RunReport {
        let ReportParts {
            run_id,
            sop,
            target,
            model,
            status,
            stopped_by,
            analysis,
            root_cause,
            evidence,
            calls,
            tokens,
            cost_usd,
            duration,
            turns,
            context_bytes,
            context_by_tool,
            prompt_bytes,
            notes,
            no_model,
        } = parts;
        // The model's words and the notes reach Slack, the store and the terminal: no
        // credential shape survives into them (tool outputs were masked at the gate).
        let mask = |t: String| sopilot_redact::redact(&t).into_owned();
        let analysis = analysis.map(mask);
        let root_cause = root_cause.map(|mut rc| {
            rc.summary = mask(rc.summary);
            rc
        });
        let notes: Vec<String> = notes.into_iter().map(mask).collect();
        let executed = calls.iter().filter(|c| c.executed).count();
        let waiting = calls.iter().filter(|c| c.needs_human()).count();
        let inconclusive = status == RunStatus::Inconclusive;
        let summary = match (&stopped_by, analysis.as_deref().and_then(summary_of)) {
            (Some(why), _) => format!("stopped: {why}"),
            (None, Some(s)) if inconclusive => {
                format!("inconclusive (the report states no valid root cause): {s}")
            }
            (None, Some(s)) => s,
            (None, None) if inconclusive => format!(
                "inconclusive: the model wrote {} ({} tool call(s), {executed} executed)",
                if analysis.is_some() {
                    "a report without a valid root cause"
                } else {
                    "no report"
                },
                calls.len()
            ),
            (None, None) if no_model => format!(
                "evidence gathered by {} tool block call(s); no model is configured, so the diagnosis and every decision are left to a human",
                calls.len()
            ),
            (None, None) => format!(
                "{} tool call(s), {executed} executed, {waiting} waiting for a human",
                calls.len()
            ),
        };
        RunReport {
            run_id,
            sop,
            target,
            model,
            status,
            stopped_by,
            summary,
            analysis,
            root_cause,
            evidence,
            calls,
            tokens,
            cost_usd,
            duration,
            turns,
            context_bytes,
            context_by_tool,
            prompt_bytes,
            notes,
        }
    }

    /// Actions that changed something.
    pub fn actions_taken(&self) -> Vec<&GateOutcome> {
        self.calls
            .iter()
            .filter(|c| c.executed && c.impact.is_some())
            .collect()
    }

    /// Calls a human must look at: escalated (approved or not) or denied.
    pub fn waiting_for_human(&self) -> Vec<&GateOutcome> {
        self.calls.iter().filter(|c| c.needs_human()).collect()
    }

    /// The report for a person.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "\n== SOPilot report: {} ({}) ==", self.sop, self.run_id);
        let _ = writeln!(
            o,
            "status:  {}",
            serde_json::to_value(self.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        );
        if let Some(t) = &self.target {
            let _ = writeln!(o, "target:  {t}");
        }
        let _ = writeln!(o, "summary: {}", self.summary);
        if let Some(rc) = &self.root_cause {
            let _ = writeln!(
                o,
                "root cause: {} (confidence {:.2}): {}",
                rc.class, rc.confidence, rc.summary
            );
        }
        if let Some(a) = &self.analysis {
            let _ = writeln!(
                o,
                "\n-- analysis (the model's conclusions; check them against the evidence) --\n{}",
                a.trim()
            );
        }
        let _ = writeln!(o, "\n-- evidence (facts from tool results) --");
        for e in &self.evidence {
            let _ = writeln!(
                o,
                "[{}] {}{}  {}",
                e.id,
                e.tool,
                if e.ok { "" } else { " (failed)" },
                e.excerpt
            );
        }
        let taken = self.actions_taken();
        let _ = writeln!(o, "\n-- actions taken --");
        if taken.is_empty() {
            let _ = writeln!(o, "none");
        }
        for c in taken {
            let _ = writeln!(
                o,
                "{} {} — {} by {}",
                c.tool,
                compact(&c.args),
                if c.ok { "done" } else { "FAILED" },
                c.rules.join(", ")
            );
        }
        let waiting = self.waiting_for_human();
        let _ = writeln!(o, "\n-- waiting for a human --");
        if waiting.is_empty() {
            let _ = writeln!(o, "none");
        }
        for c in waiting {
            let approval = match &c.approval {
                Some((id, ApprovalState::Approved, by)) => format!("approved by {by} ({id})"),
                Some((id, ApprovalState::Denied, by)) => format!("denied by {by} ({id})"),
                Some((id, ApprovalState::Expired, _)) => format!("expired ({id})"),
                Some((id, ApprovalState::Pending, _)) => format!("pending ({id})"),
                None => "not asked".into(),
            };
            let _ = writeln!(
                o,
                "{} {} — {}; {approval}",
                c.tool,
                compact(&c.args),
                c.reason
            );
        }
        if !self.notes.is_empty() {
            let _ = writeln!(o, "\n-- notes --");
            for n in &self.notes {
                let _ = writeln!(o, "{n}");
            }
        }
        let _ = writeln!(
            o,
            "\nmodel {}: {} input + {} output tokens{}; {:.1} s",
            self.model,
            self.tokens.input,
            self.tokens.output,
            self.cost_usd
                .map(|c| format!(" (${c:.4})"))
                .unwrap_or_default(),
            self.duration.as_secs_f64()
        );
        o
    }
}

fn compact(v: &Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_default();
    if s.len() > 160 {
        format!(
            "{}…",
            &s[..s
                .char_indices()
                .take_while(|(i, _)| *i < 160)
                .last()
                .map_or(0, |(i, _)| i)]
        )
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_come_from_the_summary_section() {
        let a =
            "# Report\n\n## Summary\nRevision 15 broke the pool.\nRolled back.\n\n## Root cause\nx";
        assert_eq!(
            summary_of(a).as_deref(),
            Some("Revision 15 broke the pool. Rolled back.")
        );
        assert_eq!(
            summary_of("Just text.\nMore.").as_deref(),
            Some("Just text. More.")
        );
        assert_eq!(summary_of("").as_deref(), None);
    }
}
