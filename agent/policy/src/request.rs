//! What the gate asks the policy about, and what it answers.

use serde::Serialize;
use serde_json::Value;
use sopilot_protocol::{CallOrigin, Decision, History, Impact, Resource, Target, ToolRef, Trigger};

/// Whether a tool's server is one of SOPilot's own. Only the gateway, which knows what it
/// started, can say so; a server's own claims never make it builtin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTrust {
    /// `mcp-kubectl`, `mcp-cloudwatch`, `mcp-cost` or `mcp-slack`, started by SOPilot.
    Builtin,
    /// Anything else. Its annotations are hidden from policies: only explicit rules allow it.
    Foreign,
}

/// MCP tool annotations, as the server declared them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ToolAnnotations {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destructive: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_world: Option<bool>,
}

/// The run a call is made in; policies read it as `run.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunInfo {
    /// No approver can be reached: escalate becomes deny.
    pub unattended: bool,
    /// The run only dry-runs mutating calls.
    pub dry_run: bool,
    pub origin: CallOrigin,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sop: Option<String>,
}

impl Default for RunInfo {
    fn default() -> Self {
        Self {
            unattended: false,
            dry_run: false,
            origin: CallOrigin::Model,
            sop: None,
        }
    }
}

/// One call to decide about.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub tool: &'a ToolRef,
    /// The call's arguments, a JSON object.
    pub args: &'a Value,
    /// The impact its dry run reported; `None` for read-only tools or when it is unknown.
    pub impact: Option<&'a Impact>,
    /// The resource its `kind` argument resolves to on the cluster (`resource.*`), reads
    /// included; `None` for calls without one.
    pub resource: Option<&'a Resource>,
    /// What already happened to the call's target (`history.*`); `None` when unknown.
    pub history: Option<&'a History>,
    pub trigger: Option<&'a Trigger>,
    pub run: &'a RunInfo,
    pub annotations: Option<&'a ToolAnnotations>,
    pub trust: ServerTrust,
    /// The cluster and account the call acts on (`target.name`, `target.labels`); `None`:
    /// the implicit target of a deployment that configures none (`default`, no labels).
    pub target: Option<&'a Target>,
}

/// A rule that matched a call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchedRule {
    pub rule: String,
    pub decision: Decision,
    pub because: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Set when the rule counts as matching only because its `when` failed to evaluate
    /// (a deny or escalate rule fails closed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation_error: Option<String>,
}

/// An allow rule whose `when` failed to evaluate, counted as not matching (fail closed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedRule {
    pub rule: String,
    pub evaluation_error: String,
}

/// The policy's answer, with its explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub decision: Decision,
    /// Every matching rule, in policy order.
    pub matched: Vec<MatchedRule>,
    /// Allow rules that could not be evaluated and so did not allow.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedRule>,
    /// Escalate was turned into deny because no approver can be reached.
    pub unattended_downgrade: bool,
    /// One sentence a person can act on.
    pub reason: String,
}

/// The rule name of an escalation because the impact is unknown or malformed.
pub const IMPACT_UNKNOWN: &str = "builtin:impact-unknown";

impl Verdict {
    /// The names of the matching rules, in policy order.
    pub fn rule_names(&self) -> Vec<String> {
        self.matched.iter().map(|m| m.rule.clone()).collect()
    }

    /// A call whose impact is unknown or malformed (`problem`) is never allowed: an allow
    /// becomes escalate (deny when no approver can be reached), under [`IMPACT_UNKNOWN`].
    pub fn never_allow(&mut self, problem: &str, unattended: bool) {
        self.matched.push(MatchedRule {
            rule: IMPACT_UNKNOWN.to_owned(),
            decision: Decision::Escalate,
            because: format!("{problem}; a call whose impact is unknown is never allowed"),
            file: "builtin".to_owned(),
            line: None,
            evaluation_error: None,
        });
        if self.decision == Decision::Allow {
            self.decision = if unattended {
                Decision::Deny
            } else {
                Decision::Escalate
            };
            self.reason = format!(
                "{}: {problem}; a call whose impact is unknown is never allowed",
                self.decision.as_str()
            );
        }
    }
}
