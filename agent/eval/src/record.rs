//! What one run showed, as grading needs it: status, root cause, the report's text, the
//! evidence and every call, turns, tokens, cost, context and wall time, and the objects of
//! the simulated cluster the case asks about, read after the run. Plain data, so grading is
//! testable on hand-built records.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use sopilot_protocol::{CallOrigin, Decision, RootCause, RunStatus};
use sopilot_runtime::RunReport;

/// One evidence item of a report, cited as `[E3]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceItem {
    /// `E3`.
    pub id: String,
    pub tool: String,
    pub args: Value,
    /// The call executed and succeeded.
    pub ran: bool,
}

/// One call through the gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallItem {
    pub tool: String,
    /// `model` or `tool_block` (the SOP's own deterministic calls).
    pub origin: CallOrigin,
    /// The arguments as executed (pinned by the gate: `kind` fully qualified).
    pub args: Value,
    pub decision: Option<Decision>,
    pub executed: bool,
    pub ok: bool,
    /// The gate's reason, or why the tool refused (credentials masked).
    pub reason: String,
}

/// An object of the simulated cluster after the run (`None`: it does not exist).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservedObject {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub object: Option<Value>,
}

/// What a run showed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    pub run_id: String,
    pub status: RunStatus,
    pub stopped_by: Option<String>,
    pub root_cause: Option<RootCause>,
    /// The model's report, where evidence is cited.
    pub report: String,
    pub summary: String,
    pub evidence: Vec<EvidenceItem>,
    pub calls: Vec<CallItem>,
    pub turns: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: Option<f64>,
    /// Tool output the model was given to read, in bytes.
    pub context_bytes: u64,
    /// `context_bytes` per tool.
    pub context_by_tool: BTreeMap<String, u64>,
    /// The system prompt and tool schemas every turn starts with, in bytes.
    pub prompt_bytes: u64,
    #[serde(skip)]
    pub wall: Duration,
    pub objects: Vec<ObservedObject>,
    pub notes: Vec<String>,
}

impl RunRecord {
    /// The record of a finished run, its wall time and the objects read after it.
    pub fn from_report(r: &RunReport, wall: Duration, objects: Vec<ObservedObject>) -> RunRecord {
        let calls: Vec<CallItem> = r
            .calls
            .iter()
            .map(|c| CallItem {
                tool: c.tool.clone(),
                origin: c.origin,
                args: c.args.clone(),
                decision: c.decision,
                executed: c.executed,
                ok: c.ok,
                reason: c.reason.clone(),
            })
            .collect();
        // The run loop records each call's evidence and outcome together, in order.
        let paired = calls.len() == r.evidence.len();
        let evidence = r
            .evidence
            .iter()
            .enumerate()
            .map(|(i, e)| EvidenceItem {
                id: e.id.clone(),
                tool: e.tool.clone(),
                args: e.args.clone(),
                ran: match calls.get(i) {
                    Some(c) if paired => c.executed && c.ok,
                    _ => e.ok,
                },
            })
            .collect();
        RunRecord {
            run_id: r.run_id.clone(),
            status: r.status,
            stopped_by: r.stopped_by.as_ref().map(ToString::to_string),
            root_cause: r.root_cause.clone(),
            report: r.analysis.clone().unwrap_or_default(),
            summary: r.summary.clone(),
            evidence,
            calls,
            turns: r.turns,
            input_tokens: r.tokens.input,
            output_tokens: r.tokens.output,
            cost_usd: r.cost_usd,
            context_bytes: r.context_bytes,
            context_by_tool: r.context_by_tool.clone(),
            prompt_bytes: r.prompt_bytes,
            wall,
            objects,
            notes: r.notes.clone(),
        }
    }

    /// Input plus output tokens.
    pub fn tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}
