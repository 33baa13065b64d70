//! The run timeline: every event is stored before SOPilot acts on it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{CallOrigin, Decision, Impact, RootCause, ToolRef, Trigger};

/// How a run ended, or that it has not yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    /// Finished; nothing is waiting for a human.
    Succeeded,
    /// Finished with work waiting for a human (escalated, denied or pending approvals).
    NeedsHuman,
    /// Stopped by an error or a budget.
    Failed,
    /// Finished without a conclusion: the model was asked for its report and the request
    /// failed, returned nothing, or returned a report without a valid root-cause block.
    /// Never `succeeded`.
    Inconclusive,
    /// Stopped by a person (Ctrl-C, the API).
    Cancelled,
    /// Found unfinished after a restart.
    Interrupted,
}

impl RunStatus {
    /// Its name as the store, the API and the logs spell it (`needs_human`).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::NeedsHuman => "needs_human",
            RunStatus::Failed => "failed",
            RunStatus::Inconclusive => "inconclusive",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// Whether the run has ended.
    pub fn is_terminal(self) -> bool {
        match self {
            RunStatus::Running => false,
            RunStatus::Succeeded
            | RunStatus::NeedsHuman
            | RunStatus::Failed
            | RunStatus::Inconclusive
            | RunStatus::Cancelled
            | RunStatus::Interrupted => true,
        }
    }
}

/// The state of an approval record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    Pending,
    Approved,
    Denied,
    /// Nobody decided in time; counts as denied.
    Expired,
}

/// One entry of a run's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    pub run_id: String,
    /// Position in the run's timeline, from 0.
    pub seq: u64,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: RunEventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEventKind {
    RunStarted {
        sop: String,
        trigger: Trigger,
        params: serde_json::Map<String, serde_json::Value>,
        /// The target the run works on, when several are configured and the run is bound to
        /// one (by its trigger or by whoever started it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    StepStarted {
        step: u32,
        title: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<String>,
    },
    ToolCallProposed {
        call_id: String,
        tool: ToolRef,
        args: serde_json::Value,
        origin: CallOrigin,
    },
    ImpactAssessed {
        call_id: String,
        impact: Impact,
    },
    PolicyDecided {
        call_id: String,
        decision: Decision,
        rules: Vec<String>,
        reason: String,
    },
    ApprovalRequested {
        call_id: String,
        approval_id: String,
    },
    ApprovalResolved {
        approval_id: String,
        state: ApprovalState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
        channel: String,
    },
    ToolCallFinished {
        call_id: String,
        executed: bool,
        ok: bool,
        result_bytes: u64,
        duration_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    ModelTurn {
        turn: u32,
        input_tokens: u64,
        output_tokens: u64,
    },
    Note {
        message: String,
    },
    RunFinished {
        status: RunStatus,
        summary: String,
        /// The report's machine-readable root cause, when it had a valid one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        root_cause: Option<RootCause>,
    },
}

/// The root cause a run's timeline ended with (its `run_finished` event), if any.
pub fn root_cause_of(events: &[RunEvent]) -> Option<&RootCause> {
    events.iter().rev().find_map(|e| match &e.kind {
        RunEventKind::RunFinished { root_cause, .. } => root_cause.as_ref(),
        _ => None,
    })
}

/// The target a run's timeline says it was bound to (its `run_started` event), if any.
pub fn target_of(events: &[RunEvent]) -> Option<&str> {
    events.iter().find_map(|e| match &e.kind {
        RunEventKind::RunStarted { target, .. } => target.as_deref(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_named_as_it_is_serialised() {
        use RunStatus::*;
        for s in [
            Running,
            Succeeded,
            NeedsHuman,
            Failed,
            Inconclusive,
            Cancelled,
            Interrupted,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str(), "{s:?}");
        }
    }

    #[test]
    fn events_round_trip_with_a_flat_tag() {
        let at = DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let kinds = vec![
            RunEventKind::RunStarted {
                sop: "crashloop".into(),
                trigger: Trigger::Manual { by: None },
                params: serde_json::Map::new(),
                target: None,
            },
            RunEventKind::StepStarted {
                step: 1,
                title: "Assess".into(),
                phase: Some("assess".into()),
            },
            RunEventKind::ToolCallProposed {
                call_id: "c1".into(),
                tool: "kubectl.delete_pod".parse().unwrap(),
                args: serde_json::json!({"namespace": "payment", "name": "p"}),
                origin: CallOrigin::Model,
            },
            RunEventKind::ImpactAssessed {
                call_id: "c1".into(),
                impact: Impact {
                    action: "delete_pod".into(),
                    ..Impact::default()
                },
            },
            RunEventKind::PolicyDecided {
                call_id: "c1".into(),
                decision: Decision::Escalate,
                rules: vec![],
                reason: "no rule matched".into(),
            },
            RunEventKind::ApprovalRequested {
                call_id: "c1".into(),
                approval_id: "a1".into(),
            },
            RunEventKind::ApprovalResolved {
                approval_id: "a1".into(),
                state: ApprovalState::Approved,
                by: Some("alice".into()),
                channel: "slack".into(),
            },
            RunEventKind::ToolCallFinished {
                call_id: "c1".into(),
                executed: true,
                ok: true,
                result_bytes: 10,
                duration_ms: 3,
                error: None,
            },
            RunEventKind::ModelTurn {
                turn: 1,
                input_tokens: 100,
                output_tokens: 20,
            },
            RunEventKind::Note {
                message: "n".into(),
            },
            RunEventKind::RunFinished {
                status: RunStatus::NeedsHuman,
                summary: "s".into(),
                root_cause: None,
            },
            RunEventKind::RunFinished {
                status: RunStatus::Inconclusive,
                summary: "s".into(),
                root_cause: Some(RootCause {
                    class: crate::CauseClass::Dns,
                    summary: "CoreDNS is down".into(),
                    confidence: 0.5,
                }),
            },
        ];
        for (seq, kind) in kinds.into_iter().enumerate() {
            let e = RunEvent {
                run_id: "r1".into(),
                seq: seq as u64,
                at,
                kind,
            };
            let v = serde_json::to_value(&e).unwrap();
            assert!(v.get("event").and_then(|x| x.as_str()).is_some(), "{v}");
            assert_eq!(serde_json::from_value::<RunEvent>(v).unwrap(), e);
        }
    }

    #[test]
    fn terminal_statuses() {
        assert!(!RunStatus::Running.is_terminal());
        assert!(RunStatus::NeedsHuman.is_terminal());
        assert!(RunStatus::Inconclusive.is_terminal());
        assert_eq!(
            serde_json::to_value(RunStatus::Inconclusive).unwrap(),
            "inconclusive"
        );
    }
}
