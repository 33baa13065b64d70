//! The human of a case, as the approver its run is given: `unattended` is nobody (the
//! policy's escalations become denials, as for `--on-escalate deny`), `deny-all` and
//! `{approve: [...]}` a person answering by a fixed list, `approve-all` one who approves
//! everything they are asked.

use std::sync::Arc;

use sopilot_protocol::ApprovalState;
use sopilot_runtime::{Answer, ApprovalRecord, Approver, DenyAll, Scripted};

use crate::case::Human;

/// The approver a case's run gets.
pub fn approver(human: &Human) -> Arc<dyn Approver> {
    match human {
        Human::Unattended => Arc::new(DenyAll),
        Human::ApproveAll => Arc::new(ApproveAll),
        Human::DenyAll => Arc::new(Scripted {
            name: "eval human (deny-all)".into(),
            approve: Vec::new(),
        }),
        Human::Approve(tools) => Arc::new(Scripted {
            name: "eval human".into(),
            approve: tools.clone(),
        }),
    }
}

/// A person who approves every escalation they are asked about.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApproveAll;

#[async_trait::async_trait]
impl Approver for ApproveAll {
    async fn ask(&self, _record: &ApprovalRecord) -> Option<Answer> {
        Some(Answer {
            state: ApprovalState::Approved,
            by: "eval human (approve-all)".into(),
            channel: "scripted".into(),
        })
    }

    fn reachable(&self) -> bool {
        true
    }
}
