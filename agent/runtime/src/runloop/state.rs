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
    /// `run_bytes` per tool (`server.tool`).
    pub bytes_by_tool: BTreeMap<String, u64>,
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

    /// Records a call's outcome as evidence; returns the text the model reads, within the
    /// call's, the turn's and the run's budgets.
    pub fn evidence(&mut self, o: &GateOutcome, turn_budget: &mut usize, b: &Budgets) -> String {
        let id = format!("E{}", self.evidence.len() + 1);
        let header = format!(
            "[{id}] {} {}",
            o.tool,
            serde_json::to_string(&o.args).unwrap_or_default()
        );
        let run_left = b.output_bytes_per_run.saturating_sub(self.run_bytes);
        let per_call = b.per_call(&o.tool);
        let room = (*turn_budget).min(run_left).min(per_call);
        let body = if o.text.len() <= room {
            o.text.clone()
        } else if room == per_call {
            shorten(
                &o.text,
                room,
                "one call's output budget; narrow the query (a filter, a shorter window, fewer lines) to see the rest",
            )
        } else if room == run_left {
            shorten(
                &o.text,
                room,
                "the run's tool-output budget is nearly spent",
            )
        } else {
            shorten(
                &o.text,
                room,
                "this turn's tool-output budget is spent; ask again next turn, narrower",
            )
        };
        *turn_budget = turn_budget.saturating_sub(body.len());
        self.run_bytes += body.len();
        *self.bytes_by_tool.entry(o.tool.clone()).or_default() += body.len() as u64;
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

/// `text` in about `room` bytes: two thirds from its head (tools print their summary first),
/// one third from its tail (the newest lines of a log), the middle replaced by a line saying
/// how much was left out and why. Cuts move to a line end when one is within `SNAP` bytes,
/// and never fall inside a character.
pub(crate) fn shorten(text: &str, room: usize, why: &str) -> String {
    const SNAP: usize = 256;
    if text.len() <= room {
        return text.to_owned();
    }
    let head_room = room / 3 * 2;
    let tail_room = room - head_room;
    let mut head = text.floor_char_boundary(head_room);
    if let Some(nl) = text[..head].rfind('\n').filter(|nl| head - nl <= SNAP) {
        head = nl + 1;
    }
    let mut tail = text.ceil_char_boundary(text.len().saturating_sub(tail_room).max(head));
    let at_line_start = tail == head || text.as_bytes().get(tail.wrapping_sub(1)) == Some(&b'\n');
    if !at_line_start && let Some(nl) = text[tail..].find('\n').filter(|nl| *nl < SNAP) {
        tail += nl + 1;
    }
    let omitted = tail - head;
    let sep = if head == 0 || text[..head].ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!(
        "{}{sep}[... {omitted} bytes not shown: {why} ...]\n{}",
        &text[..head],
        &text[tail..]
    )
}

fn excerpt(text: &str) -> String {
    let first: String = text.lines().take(3).collect::<Vec<_>>().join(" | ");
    first.chars().take(240).collect()
}

#[cfg(test)]
mod tests {
    use super::shorten;

    fn log(lines: usize) -> String {
        (1..=lines).map(|i| format!("line {i:04} ok\n")).collect()
    }

    #[test]
    fn shortening_keeps_the_head_and_the_tail_on_line_ends() {
        let text = format!("SUMMARY: 3 errors\n{}", log(1000));
        let short = shorten(&text, 1200, "one call's output budget");
        assert!(short.len() < 1300, "{}", short.len());
        assert!(short.starts_with("SUMMARY: 3 errors\n"));
        assert!(short.ends_with("line 1000 ok\n"), "{short}");
        let marker = short.lines().find(|l| l.starts_with("[... ")).unwrap();
        assert!(
            marker.contains("bytes not shown: one call's output budget"),
            "{marker}"
        );
        // Whole lines on both sides of the cut.
        for l in short.lines().filter(|l| l.starts_with("line")) {
            assert_eq!(l.len(), "line 0001 ok".len(), "{l}");
        }
        let omitted: usize = marker
            .trim_start_matches("[... ")
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let kept = short.len() - marker.len() - 1;
        assert_eq!(kept + omitted, text.len());
    }

    #[test]
    fn shortening_never_cuts_a_character_and_handles_no_room() {
        let text = "é".repeat(5000);
        for room in [0, 1, 2, 3, 7, 100, 1001] {
            let s = shorten(&text, room, "budget");
            assert!(s.contains("bytes not shown"), "{room}");
        }
        assert!(shorten("abc", 0, "spent").starts_with("[... 3 bytes not shown: spent"));
        assert_eq!(shorten("short", 100, "unused"), "short");
    }

    #[test]
    fn one_long_line_gets_the_marker_on_a_line_of_its_own() {
        let text = "x".repeat(10_000);
        let s = shorten(&text, 3000, "budget");
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 3, "{s}");
        assert!(lines[1].starts_with("[... "), "{}", lines[1]);
        assert_eq!(lines[0].len() + lines[2].len(), 3000);
    }
}
