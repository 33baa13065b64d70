//! Live progress on stderr: phases, each tool call with its decision and duration, approvals.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sopilot_protocol::{RunEvent, RunEventKind};
use sopilot_runtime::Observer;

#[derive(Default)]
struct Seen {
    tools: HashMap<String, String>,
    decisions: HashMap<String, String>,
}

/// An observer printing a line per event a person cares about.
pub fn terminal() -> Observer {
    let start = Instant::now();
    let seen = Arc::new(Mutex::new(Seen::default()));
    Arc::new(move |e: &RunEvent| {
        let Ok(mut s) = seen.lock() else { return };
        let t = start.elapsed().as_secs_f64();
        let line = match &e.kind {
            RunEventKind::RunStarted { sop, .. } => {
                Some(format!("run {} started: SOP {sop}", e.run_id))
            }
            RunEventKind::StepStarted { step, title, phase } => Some(format!(
                "step {step}: {title}{}",
                phase
                    .as_ref()
                    .map(|p| format!("  [{p}]"))
                    .unwrap_or_default()
            )),
            RunEventKind::ToolCallProposed { call_id, tool, .. } => {
                s.tools.insert(call_id.clone(), tool.to_string());
                None
            }
            RunEventKind::PolicyDecided {
                call_id,
                decision,
                rules,
                ..
            } => {
                let why = if rules.is_empty() {
                    "no rule matched".to_owned()
                } else {
                    rules.join(", ")
                };
                s.decisions
                    .insert(call_id.clone(), format!("{decision} ({why})"));
                None
            }
            RunEventKind::ApprovalRequested {
                call_id,
                approval_id,
            } => Some(format!(
                "  ? {} needs approval ({approval_id})",
                s.tools.get(call_id).cloned().unwrap_or_default()
            )),
            RunEventKind::ApprovalResolved {
                approval_id,
                state,
                by,
                channel,
            } => Some(format!(
                "  ! approval {approval_id}: {} by {} via {channel}",
                serde_json::to_value(state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                by.as_deref().unwrap_or("?")
            )),
            RunEventKind::ToolCallFinished {
                call_id,
                executed,
                ok,
                duration_ms,
                ..
            } => {
                let tool = s
                    .tools
                    .get(call_id)
                    .cloned()
                    .unwrap_or_else(|| call_id.clone());
                let decision = s
                    .decisions
                    .get(call_id)
                    .cloned()
                    .unwrap_or_else(|| "refused".into());
                let what = match (executed, ok) {
                    (true, true) => "ran",
                    (true, false) => "ran, FAILED",
                    (false, _) => "not executed",
                };
                Some(format!("  - {tool}: {decision}, {what}, {duration_ms} ms"))
            }
            RunEventKind::ModelTurn {
                turn,
                input_tokens,
                output_tokens,
            } => Some(format!(
                "  model turn {turn} ({input_tokens} in / {output_tokens} out tokens)"
            )),
            RunEventKind::Note { message } => Some(format!("  note: {message}")),
            RunEventKind::RunFinished { status, .. } => Some(format!(
                "run finished: {}",
                serde_json::to_value(status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            )),
            RunEventKind::ImpactAssessed { .. } => None,
        };
        if let Some(l) = line {
            let _ = writeln!(std::io::stderr(), "[{t:6.2}s] {l}");
        }
    })
}
