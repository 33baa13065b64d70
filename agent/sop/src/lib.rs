//! SOPilot's SOP format: parse, lint and render `.sop.md` files.
//!
//! A plain Strands Agent SOP (`# Title`, `## Overview`, `## Parameters` with
//! `- **name** (required|optional[, default: ...]): text` lines, `## Steps` with
//! `### N. Title` and `**Constraints:**` lists of RFC 2119 rules) is a valid SOPilot SOP.
//! SOPilot adds, all optional: YAML front matter (name, triggers, tools, budget, phases), a
//! phase per step (`### 1. Assess (phase: assess)`) and ```` ```tool ```` blocks holding one
//! call each, which run deterministically before the model is asked about their step.
//!
//! Pure: no I/O beyond what the caller hands in, no async runtime.

mod constraints;
mod front;
mod lint;
mod markdown;
mod model;
mod params;
mod parse;
mod render;
mod template;
mod toolblock;

pub use front::{
    AlarmMatch, AlertMatch, Budget, Duration, EventMatch, FrontMatter, InvestigationMatch, Phase,
    ScheduleMatch, SlackMatch, TriggerRule,
};
pub use model::{
    Constraint, Diagnostic, Level, Parameter, SectionInfo, Severity, Sop, Step, ToolBlock,
};
pub use parse::parse;
pub use render::{
    RenderError, Rendered, RenderedCall, RenderedStep, render, resolve_params, trigger_params,
};

/// An SOP with errors, as the loader reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {}", .errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct InvalidSop {
    pub name: String,
    pub errors: Vec<Diagnostic>,
}

/// Parses an SOP and refuses it if it has errors (warnings are returned alongside).
pub fn load(name_hint: &str, text: &str) -> Result<(Sop, Vec<Diagnostic>), InvalidSop> {
    let (sop, diags) = parse(name_hint, text);
    let (errors, warnings): (Vec<_>, Vec<_>) = diags
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    if errors.is_empty() {
        Ok((sop, warnings))
    } else {
        Err(InvalidSop {
            name: sop.name,
            errors,
        })
    }
}

/// The SOP name a file path implies: `sops/pod-crashloop.sop.md` → `pod-crashloop`.
pub fn name_from_path(path: &std::path::Path) -> String {
    let file = path
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or_default();
    file.strip_suffix(".sop.md")
        .or_else(|| file.strip_suffix(".md"))
        .unwrap_or(file)
        .to_owned()
}
