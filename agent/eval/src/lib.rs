//! `sopilot eval`: graded incident cases (`docs/eval.md`).
//!
//! The pure parts: [`case`] parses and checks a case folder, [`lint`] routes it as `sopilot
//! serve` would and checks what can be checked without running it, [`grade`] grades one
//! run's [`record::RunRecord`] against its case, [`results`] gathers rows and totals (JSON,
//! Markdown, the CI gate), [`html`] writes the self-contained report with [`svg`] charts.
//! The machinery: [`runner`] runs case × model × repeat jobs concurrently through an
//! [`runner::Executor`] (the binary's runs each in its own simulated environment), [`human`]
//! turns a case's human into an approver, and [`judge`] scores reports against rubrics.

pub mod case;
pub mod grade;
pub mod html;
pub mod human;
pub mod judge;
pub mod lint;
pub mod record;
pub mod results;
pub mod runner;
pub mod svg;

pub use case::{Case, CaseError, Human, load_case, load_cases};
pub use grade::{Grade, grade};
pub use lint::{Planned, lint, route_case};
pub use record::{CallItem, EvidenceItem, ObservedObject, RunRecord};
pub use results::{CaseResult, ModelTotals, REFERENCE, Results, WRONG};
pub use runner::{
    Executor, Job, ModelChoice, Named, Plan, Progress, heartbeat_line, progress_line, run,
};
