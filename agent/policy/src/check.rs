//! One call checked the way `sopilot policy check` and the web console's "what would the
//! policy say" form both check it: as the gate does, an impact that names no action or
//! target is not judged on, and such a call is never allowed.

use serde_json::Value;
use sopilot_protocol::{History, Impact, Resource, Target, ToolRef, Trigger};

use crate::{Policy, Request, RunInfo, ServerTrust, Verdict};

/// A call described by hand, with the facts of the run it would be made in.
#[derive(Debug, Clone, Copy)]
pub struct HandCheck<'a> {
    pub tool: &'a ToolRef,
    /// The call's arguments, a JSON object.
    pub args: &'a Value,
    pub impact: Option<&'a Impact>,
    pub resource: Option<&'a Resource>,
    /// What already happened to the target; `None`: a call nothing preceded
    /// ([`History::fresh`]).
    pub history: Option<&'a History>,
    pub trigger: Option<&'a Trigger>,
    pub run: &'a RunInfo,
    pub trust: ServerTrust,
    /// The call's target; `None`: the implicit `default`.
    pub target: Option<&'a Target>,
}

/// The policy's verdict on a call described by hand.
pub fn check_by_hand(policy: &Policy, call: &HandCheck<'_>) -> Verdict {
    let problem = call.impact.and_then(Impact::problem);
    let impact = call.impact.filter(|_| problem.is_none());
    let fresh;
    let history = match call.history {
        Some(h) => h,
        None => {
            fresh = History::fresh(
                call.impact,
                sopilot_protocol::DEFAULT_HISTORY_WINDOW_MINUTES,
            );
            &fresh
        }
    };
    let mut verdict = policy.evaluate(&Request {
        tool: call.tool,
        args: call.args,
        impact,
        resource: call.resource,
        history: Some(history),
        trigger: call.trigger,
        run: call.run,
        annotations: None,
        trust: call.trust,
        target: call.target,
    });
    if let Some(p) = problem {
        verdict.never_allow(p, call.run.unattended);
    }
    verdict
}
