//! What a run carries from stage to stage: the conversation, the evidence it collected,
//! the budgets it has spent, and why it stopped.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use sopilot_llm::{Message, ToolSpec, Usage};
use sopilot_protocol::RunEventKind;
use sopilot_sop::Rendered;

use super::{Budgets, StopReason};
use crate::events::EventLog;
use crate::gate::{CallScope, GateOutcome};
use crate::report::Evidence;
use crate::store::StoreError;

/// A run in progress.
pub(crate) struct Run {
    pub run_id: String,
    pub model_name: String,
    pub rendered: Rendered,
    pub tools: Vec<ToolSpec>,
    pub system: String,
    pub messages: Vec<Message>,
    pub budgets: Budgets,
    /// Deadlines of the SOP's phases, in seconds from the start.
    pub phase_deadlines: BTreeMap<String, u64>,
    pub st: State,
}

/// The run's accounts.
pub(crate) struct State {
    pub log: EventLog,
    pub scope: CallScope,
    pub started: Instant,
    pub evidence: Vec<Evidence>,
    pub calls: Vec<GateOutcome>,
    pub usage: Usage,
    pub turns: u32,
    pub run_bytes: usize,
    pub repeats: HashMap<String, u32>,
    pub stopped_by: Option<StopReason>,
    pub notes: Vec<String>,
}

impl State {
    pub fn note(&mut self, message: String) -> Result<(), StoreError> {
        self.log.emit(RunEventKind::Note {
            message: message.clone(),
        })?;
        self.notes.push(message);
        Ok(())
    }

    /// Records a call's outcome as evidence; returns the text the model reads.
    pub fn evidence(
        &mut self,
        o: &GateOutcome,
        turn_budget: &mut usize,
        run_budget: usize,
    ) -> String {
        let id = format!("E{}", self.evidence.len() + 1);
        let header = format!(
            "[{id}] {} {}",
            o.tool,
            serde_json::to_string(&o.args).unwrap_or_default()
        );
        let room = (*turn_budget).min(run_budget.saturating_sub(self.run_bytes));
        let body = if o.text.len() <= room {
            o.text.clone()
        } else {
            let mut end = room;
            while end > 0 && !o.text.is_char_boundary(end) {
                end -= 1;
            }
            format!(
                "{}\n[truncated: {} more bytes not shown; this turn's tool-output budget is spent — narrow the query]",
                &o.text[..end],
                o.text.len() - end
            )
        };
        *turn_budget = turn_budget.saturating_sub(body.len());
        self.run_bytes += body.len();
        self.evidence.push(Evidence {
            id: id.clone(),
            tool: o.tool.clone(),
            args: o.args.clone(),
            ok: o.ok,
            excerpt: excerpt(&o.text),
        });
        self.calls.push(o.clone());
        format!("{header}\n{}{body}", status_line(o))
    }

    /// The budget this run has run out of, if any.
    pub fn over_budget(&self, b: &Budgets) -> Option<StopReason> {
        if self.turns >= b.max_turns {
            return Some(StopReason::TurnBudget {
                max_turns: b.max_turns,
            });
        }
        if self.started.elapsed() >= b.deadline {
            return Some(StopReason::Deadline {
                seconds: b.deadline.as_secs(),
            });
        }
        if self.run_bytes >= b.output_bytes_per_run {
            return Some(StopReason::OutputBudget {
                bytes: b.output_bytes_per_run,
            });
        }
        None
    }

    /// Whether the phase's deadline has passed.
    pub fn past(&self, deadline: Option<Duration>) -> Option<Duration> {
        deadline.filter(|d| self.started.elapsed() >= *d)
    }
}

fn status_line(o: &GateOutcome) -> String {
    match (o.decision, o.executed, o.ok) {
        (Some(sopilot_protocol::Decision::Allow), true, true) => String::new(),
        (Some(sopilot_protocol::Decision::Allow), true, false) => {
            "(the tool ran and failed)\n".into()
        }
        _ => format!("(gate: {})\n", o.reason),
    }
}

fn excerpt(text: &str) -> String {
    let first: String = text.lines().take(3).collect::<Vec<_>>().join(" | ");
    first.chars().take(240).collect()
}
