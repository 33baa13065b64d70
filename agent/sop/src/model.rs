//! The parsed shape of an SOP.

use serde::Serialize;
use serde_json::Value;
use sopilot_protocol::ToolRef;

use crate::front::FrontMatter;

/// A parsed SOP. Parsing is best effort: a `Sop` exists even when diagnostics say it is
/// invalid, so the linter can report everything at once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sop {
    /// The front matter's `name`, or the file name without `.sop.md`.
    pub name: String,
    pub title: String,
    pub front: FrontMatter,
    pub overview: String,
    pub parameters: Vec<Parameter>,
    /// The "Constraints for parameter acquisition" list of the Parameters section.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameter_constraints: Vec<Constraint>,
    pub steps: Vec<Step>,
    /// Every `##` section in order (Overview, Parameters, Steps, Examples, ...).
    pub sections: Vec<SectionInfo>,
    /// The body after the front matter, as written; what rendering starts from.
    #[serde(skip)]
    pub body: String,
    /// Line of `body`'s first line in the file.
    #[serde(skip)]
    pub body_line: usize,
}

impl Sop {
    /// The number of tool blocks in all steps.
    pub fn tool_block_count(&self) -> usize {
        self.steps.iter().map(|s| s.tool_blocks.len()).sum()
    }

    /// The parameter with this name.
    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }
}

/// A `##` section heading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionInfo {
    pub title: String,
    pub line: usize,
}

/// `- **name** (required|optional[, default: ...]): description`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parameter {
    pub name: String,
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    pub description: String,
    pub line: usize,
}

/// `### N. Title (phase: name)` and what follows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub number: u32,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    pub line: usize,
    pub constraints: Vec<Constraint>,
    pub tool_blocks: Vec<ToolBlock>,
}

/// RFC 2119 requirement levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Level {
    Must,
    MustNot,
    Should,
    ShouldNot,
    May,
}

impl Level {
    /// Whether the constraint forbids something (and so must give a reason).
    pub fn is_negative(self) -> bool {
        match self {
            Level::MustNot | Level::ShouldNot => true,
            Level::Must | Level::Should | Level::May => false,
        }
    }
}

/// One bullet of a `**Constraints:**` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Constraint {
    pub line: usize,
    /// `None` when the bullet has no RFC 2119 keyword (a warning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    pub text: String,
}

/// A ```` ```tool ```` block: one call, run before the model is asked about its step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolBlock {
    /// Line of the opening fence.
    pub line: usize,
    pub tool: ToolRef,
    /// Arguments as written; string values may hold `{{ templates }}`.
    pub args: Value,
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A lint finding, located.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub line: usize,
    pub severity: Severity,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "line {}: {sev}: {}", self.line, self.message)
    }
}
