//! SOPilot's runtime: the run loop, the gated tool gateway, approvals and the store.
//!
//! Every tool call — from the model, an SOP tool block or an IDE — goes through [`Gate`]:
//! the impact is measured by a dry run, the policy decides, escalations wait for a human
//! through an [`Approver`], and everything is stored before it is acted on.

pub mod approval;
mod assemble;
mod events;
mod gate;
mod gateway;
mod report;
mod runloop;
mod store;
mod targets;

pub use approval::{
    Answer, ApprovalRecord, Approver, DenyAll, Scripted, Terminal, canonical, digest, impact_digest,
};
pub use assemble::{DEFAULT_APPROVAL_TIMEOUT, Parts, assemble};
pub use events::{EventLog, Observer};
pub use gate::{
    ALREADY_EXECUTED, CALL_TIMEOUT, CallScope, DoneBefore, Gate, GateOutcome, HISTORY_WINDOW,
    IMPACT_UNKNOWN, MAX_APPROVAL_ROUNDS, NOT_OFFERED, WRONG_TARGET, outcome_json, resolve_name,
};
pub use gateway::{
    Gateway, GatewayError, ServerSource, ServerSpec, ToolInfo, ToolOutput, set_traceparent_source,
};
pub use report::{Evidence, ReportParts, RunReport, StopReason};
pub use runloop::{Budgets, RunError, RunInput, Runner, new_run_id, offered_tools, report_json};
pub use store::{
    ApprovalMessage, ApprovalRef, CallAudit, Enqueued, Lease, Location, Offer, PastChange,
    QueuedRun, Reuse, RunRow, SET_ASIDE, Store, StoreError, UnroutedTrigger, this_replica,
};
pub use targets::{Clash, Place, TargetSpec, Targets};
pub use tokio_util::sync::CancellationToken;
