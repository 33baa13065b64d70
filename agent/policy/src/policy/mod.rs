//! A policy: its rules, compiled once ([`compile`]: YAML files into globs and strict
//! minijinja templates, examples checked), and evaluated for every call ([`evaluate`]).

mod compile;
mod evaluate;

pub(crate) use evaluate::context;

use globset::GlobSet;
use minijinja::Environment;
use sopilot_protocol::Decision;

use crate::error::Problem;

/// The names a `when` expression may use.
pub const WHEN_VARIABLES: [&str; 11] = [
    "tool",
    "server",
    "tool_name",
    "args",
    "impact",
    "resource",
    "history",
    "trigger",
    "run",
    "annotations",
    "target",
];

/// Bounds the work one `when` may do, so a policy cannot stall the gate.
const FUEL: u64 = 20_000;

/// A compiled rule.
#[derive(Debug)]
pub(crate) struct Rule {
    pub name: String,
    pub tools: Vec<String>,
    pub when: Option<String>,
    /// Name of the compiled `when` template in the environment.
    template: Option<String>,
    pub decision: Decision,
    pub because: String,
    pub file: String,
    pub line: Option<usize>,
    /// The rule's examples as written, for listings.
    pub examples: Vec<RuleExample>,
}

/// What one rule says about one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Match,
    NoMatch,
    /// The `when` failed to evaluate.
    Error(String),
}

impl Outcome {
    /// Fail closed: an error matches deny and escalate rules and never matches allow rules.
    pub fn counts_as_match(&self, decision: Decision) -> bool {
        match self {
            Outcome::Match => true,
            Outcome::NoMatch => false,
            Outcome::Error(_) => match decision {
                Decision::Allow => false,
                Decision::Escalate | Decision::Deny => true,
            },
        }
    }
}

/// A loaded, compiled policy. Build it once; evaluate many calls.
#[derive(Debug)]
pub struct Policy {
    pub(crate) rules: Vec<Rule>,
    globs: GlobSet,
    /// For each glob in `globs`, the rule it belongs to.
    glob_rule: Vec<usize>,
    env: Environment<'static>,
    warnings: Vec<Problem>,
    examples_checked: usize,
}

/// Summary of one rule, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    pub name: String,
    pub tools: Vec<String>,
    pub decision: Decision,
    pub file: String,
    pub line: Option<usize>,
    /// The condition, as written.
    pub when: Option<String>,
    pub because: String,
    pub examples: Vec<RuleExample>,
}

/// One example of a rule, as written in the policy: a call it must match (`matches`) or must
/// not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleExample {
    pub matches: bool,
    /// The example's `tool`, `args`, `impact`... as JSON.
    pub call: serde_json::Value,
}
