//! SOPilot's policy engine: pure, compiled once, evaluated for every tool call.
//!
//! A policy is a list of YAML rules. Each names the tools it covers (globs), an optional
//! `when` condition (a minijinja expression over `tool`, `args`, `impact`, `trigger`, `run`
//! and, for SOPilot's own servers only, `annotations`), a decision and a reason, plus examples
//! that must and must not match, checked when the policy loads.
//!
//! For one call every matching rule counts and the strictest wins (deny > escalate > allow).
//! No matching rule means escalate. With no approver reachable, escalate becomes deny. A
//! `when` that fails to evaluate matches deny and escalate rules and never allow rules. A call
//! that targets Secret data is denied before any rule is read. The model's words never reach
//! this crate: only the tool, its arguments, the measured impact and the run's facts do.

mod check;
mod error;
mod examples;
mod file;
mod fs;
mod functions;
mod guard;
mod policy;
mod request;

pub use check::{HandCheck, check_by_hand};
pub use error::{PolicyError, Problem};
pub use fs::{load_paths, policy_files};
pub use guard::{SECRET_GUARD, is_secret_kind};
pub use policy::{Policy, RuleExample, RuleInfo, WHEN_VARIABLES};
pub use request::{
    IMPACT_UNKNOWN, MatchedRule, Request, RunInfo, ServerTrust, SkippedRule, ToolAnnotations,
    Verdict,
};
