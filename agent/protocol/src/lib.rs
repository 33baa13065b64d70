//! Plain types shared by every SOPilot crate: the names of tools, tool calls, the impact a
//! mutating call reports, the gate's decisions, triggers and run events.
//!
//! No I/O and no async runtime: this crate is the vocabulary, not the machinery.

mod decision;
mod event;
mod history;
mod impact;
mod resource;
mod tool;
mod trigger;

pub use decision::{Decision, UnknownDecision};
pub use event::{ApprovalState, RunEvent, RunEventKind, RunStatus};
pub use history::{DEFAULT_HISTORY_WINDOW_MINUTES, History, HpaBounds};
pub use impact::{
    HpaImpact, Impact, NodeImpact, ObjectRef, PdbImpact, PodImpact, RevisionImpact, Workload,
};
pub use resource::{Resource, is_secret_resource, may_name_secrets};
pub use tool::{CallOrigin, MAX_MODEL_NAME_LEN, ToolCall, ToolRef, ToolRefError};
pub use trigger::{
    Alarm, AlarmMetric, AlarmSource, Alert, AlertGroup, KubeEvent, KubeObject, ScheduleFire,
    SlackRequest, Trigger, TriggerError,
};
