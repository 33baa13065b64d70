//! Plain types shared by every SOPilot crate: the names of tools, tool calls, the impact a
//! mutating call reports, the gate's decisions, triggers, run events and the report's root
//! cause.
//!
//! No I/O and no async runtime: this crate is the vocabulary, not the machinery.

mod decision;
mod event;
mod history;
mod impact;
mod investigation;
mod resource;
mod root_cause;
mod target;
mod tool;
mod trigger;

pub use decision::{Decision, UnknownDecision};
pub use event::{ApprovalState, RunEvent, RunEventKind, RunStatus, root_cause_of, target_of};
pub use history::{DEFAULT_HISTORY_WINDOW_MINUTES, History, HpaBounds};
pub use impact::{
    HpaImpact, Impact, NodeImpact, ObjectRef, PdbImpact, PodImpact, RevisionImpact, Workload,
};
pub use investigation::{AIOPS_SOURCE, Investigation, InvestigationItem};
pub use resource::{Resource, is_secret_resource, may_name_secrets};
pub use root_cause::{CauseClass, RootCause, RootCauseError, UnknownCauseClass};
pub use target::{DEFAULT_TARGET, Routes, TARGET_ARG, Target, valid_target_name};
pub use tool::{CallOrigin, MAX_MODEL_NAME_LEN, ToolCall, ToolRef, ToolRefError};
pub use trigger::{
    Alarm, AlarmMetric, AlarmSource, Alert, AlertGroup, KubeEvent, KubeObject, ScheduleFire,
    SlackRequest, Trigger, TriggerError,
};
