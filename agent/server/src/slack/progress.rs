//! The one status message of a run's thread: a fold of the run's events into a few lines,
//! re-rendered and edited in place as the run proceeds.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sopilot_protocol::{ApprovalState, Decision, RunEvent, RunEventKind, RunStatus};

use super::blocks::{clip, escape, status_word};

/// What the status message says about a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub run_id: String,
    pub sop: String,
    /// Who or what started it, e.g. "<@U1>" or "alertmanager".
    pub started_by: String,
    pub status: RunStatus,
    pub queued: bool,
    pub step: Option<String>,
    /// Tool names by call id, for the lines below.
    tools: BTreeMap<String, String>,
    pub calls: u32,
    pub executed: u32,
    pub denied: u32,
    /// Approvals waiting: id → tool.
    pub pending: BTreeMap<String, String>,
    /// The latest thing that happened, in a line.
    pub last: Option<String>,
    pub summary: Option<String>,
}

impl Progress {
    /// A run that is queued and has not started.
    pub fn new(run_id: &str, sop: &str, started_by: &str) -> Progress {
        Progress {
            run_id: run_id.to_owned(),
            sop: sop.to_owned(),
            started_by: started_by.to_owned(),
            status: RunStatus::Running,
            queued: true,
            step: None,
            tools: BTreeMap::new(),
            calls: 0,
            executed: 0,
            denied: 0,
            pending: BTreeMap::new(),
            last: None,
            summary: None,
        }
    }

    fn tool(&self, call_id: &str) -> String {
        self.tools.get(call_id).cloned().unwrap_or_default()
    }

    /// Folds one event in.
    pub fn apply(&mut self, e: &RunEvent) {
        self.queued = false;
        match &e.kind {
            RunEventKind::RunStarted { .. } => self.last = Some("started".into()),
            RunEventKind::StepStarted { step, title, phase } => {
                self.step = Some(match phase {
                    Some(p) => format!("{step}. {title} ({p})"),
                    None => format!("{step}. {title}"),
                });
            }
            RunEventKind::ToolCallProposed { call_id, tool, .. } => {
                self.calls += 1;
                self.tools.insert(call_id.clone(), tool.to_string());
            }
            RunEventKind::PolicyDecided {
                call_id, decision, ..
            } => match decision {
                Decision::Allow => {}
                Decision::Escalate => {
                    self.last = Some(format!("`{}` needs an approval", self.tool(call_id)));
                }
                Decision::Deny => {
                    self.denied += 1;
                    self.last = Some(format!("`{}` denied by the policy", self.tool(call_id)));
                }
            },
            RunEventKind::ApprovalRequested {
                call_id,
                approval_id,
            } => {
                self.pending.insert(approval_id.clone(), self.tool(call_id));
            }
            RunEventKind::ApprovalResolved {
                approval_id, state, ..
            } => {
                let tool = self.pending.remove(approval_id).unwrap_or_default();
                let word = match state {
                    ApprovalState::Approved => "approved",
                    ApprovalState::Denied => "denied",
                    ApprovalState::Expired => "expired",
                    ApprovalState::Pending => "pending",
                };
                self.last = Some(format!("`{tool}` {word}"));
            }
            RunEventKind::ToolCallFinished {
                call_id,
                executed,
                ok,
                ..
            } => {
                if *executed {
                    self.executed += 1;
                    self.last = Some(format!(
                        "`{}` {}",
                        self.tool(call_id),
                        if *ok { "done" } else { "failed" }
                    ));
                }
            }
            RunEventKind::ImpactAssessed { .. }
            | RunEventKind::ModelTurn { .. }
            | RunEventKind::Note { .. } => {}
            RunEventKind::RunFinished {
                status, summary, ..
            } => {
                self.status = *status;
                self.summary = Some(summary.clone());
            }
        }
    }

    /// The notification text.
    pub fn text(&self) -> String {
        super::blocks::mask_approval_ids(&self.text_unmasked())
    }

    fn text_unmasked(&self) -> String {
        format!(
            "SOPilot {} ({}): {}",
            self.sop,
            self.run_id,
            if self.queued {
                "queued"
            } else {
                status_word(self.status)
            }
        )
    }

    /// The message's blocks.
    pub fn blocks(&self) -> Value {
        let state = if self.queued {
            ":inbox_tray: queued".to_owned()
        } else {
            status_word(self.status).to_owned()
        };
        let mut lines = vec![format!("*SOPilot* `{}` — {state}", self.sop)];
        if let Some(step) = &self.step
            && self.status == RunStatus::Running
        {
            lines.push(format!("Step {}", escape(step)));
        }
        lines.push(format!(
            "{} tool call(s) · {} executed · {} denied · {} waiting for approval",
            self.calls,
            self.executed,
            self.denied,
            self.pending.len()
        ));
        if let Some(last) = &self.last
            && self.status == RunStatus::Running
        {
            lines.push(format!("Latest: {last}"));
        }
        if let Some(summary) = &self.summary {
            lines.push(format!("*Summary*: {}", escape(summary)));
        }
        let mut blocks = json!([
            {"type": "section", "block_id": "sopilot_status",
             "text": {"type": "mrkdwn", "text": clip(&lines.join("\n"), 2_900)}},
            {"type": "context", "elements": [{"type": "mrkdwn",
             "text": format!("run `{}` · started by {}", self.run_id, self.started_by)}]},
        ]);
        // Everyone in the channel reads it: no approval ids, whatever the summary says.
        super::blocks::mask_ids_in(&mut blocks);
        blocks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: RunEventKind) -> RunEvent {
        RunEvent {
            run_id: "run-1".into(),
            seq: 0,
            at: chrono::Utc::now(),
            kind,
        }
    }

    #[test]
    fn a_run_folds_into_one_message() {
        let mut p = Progress::new("run-1", "pod-crashloop", "alertmanager");
        assert!(p.text().contains("queued"));
        p.apply(&ev(RunEventKind::StepStarted {
            step: 3,
            title: "Restart".into(),
            phase: Some("remediate".into()),
        }));
        p.apply(&ev(RunEventKind::ToolCallProposed {
            call_id: "c1".into(),
            tool: "kubectl.patch_hpa".parse().unwrap(),
            args: json!({}),
            origin: sopilot_protocol::CallOrigin::Model,
        }));
        p.apply(&ev(RunEventKind::PolicyDecided {
            call_id: "c1".into(),
            decision: Decision::Escalate,
            rules: vec![],
            reason: String::new(),
        }));
        p.apply(&ev(RunEventKind::ApprovalRequested {
            call_id: "c1".into(),
            approval_id: "a1".into(),
        }));
        let text = p.blocks().to_string();
        assert!(text.contains("Step 3. Restart (remediate)"), "{text}");
        assert!(text.contains("1 waiting for approval"), "{text}");
        p.apply(&ev(RunEventKind::ApprovalResolved {
            approval_id: "a1".into(),
            state: ApprovalState::Approved,
            by: Some("U1".into()),
            channel: "slack".into(),
        }));
        p.apply(&ev(RunEventKind::ToolCallFinished {
            call_id: "c1".into(),
            executed: true,
            ok: true,
            result_bytes: 1,
            duration_ms: 1,
            error: None,
        }));
        assert!(p.blocks().to_string().contains("`kubectl.patch_hpa` done"));
        p.apply(&ev(RunEventKind::RunFinished {
            status: RunStatus::Succeeded,
            summary: "all good".into(),
            root_cause: None,
        }));
        let text = p.blocks().to_string();
        assert!(
            text.contains("succeeded") && text.contains("all good"),
            "{text}"
        );
        assert!(text.contains("0 waiting for approval"));
        assert!(
            !text.contains("Latest"),
            "a finished run shows no latest step"
        );
    }
}
