//! Evaluating one call: the built-in Secret guard, then every rule whose tools cover the
//! call, strictest wins, explained.

use std::collections::BTreeMap;

use minijinja::Value as JValue;
use sopilot_protocol::Decision;

use crate::error::Problem;
use crate::guard::{SECRET_GUARD, secret_target};
use crate::request::{MatchedRule, Request, ServerTrust, SkippedRule, Verdict};

use super::{Outcome, Policy, RuleInfo};

impl Policy {
    /// Decides one call. Pure and deterministic: the same request always gets the same
    /// verdict, with the same explanation.
    pub fn evaluate(&self, req: &Request<'_>) -> Verdict {
        let mut matched = Vec::new();
        if let Some(why) = secret_target(req) {
            matched.push(MatchedRule {
                rule: SECRET_GUARD.to_owned(),
                decision: Decision::Deny,
                because: format!("{why}; SOPilot never reads or changes Secret data"),
                file: "builtin".to_owned(),
                line: None,
                evaluation_error: None,
            });
        }
        let tool = req.tool.to_string();
        let mut candidates: Vec<usize> = self
            .globs
            .matches(&tool)
            .into_iter()
            .map(|g| self.glob_rule[g])
            .collect();
        candidates.sort_unstable();
        candidates.dedup();

        let needs_context = candidates.iter().any(|&i| self.rules[i].template.is_some());
        let ctx = if needs_context {
            context(req)
        } else {
            JValue::UNDEFINED
        };
        let mut skipped = Vec::new();
        for i in candidates {
            let rule = &self.rules[i];
            let outcome = self.outcome(i, &ctx);
            if outcome.counts_as_match(rule.decision) {
                matched.push(MatchedRule {
                    rule: rule.name.clone(),
                    decision: rule.decision,
                    because: rule.because.clone(),
                    file: rule.file.clone(),
                    line: rule.line,
                    evaluation_error: match outcome {
                        Outcome::Error(e) => Some(e),
                        Outcome::Match | Outcome::NoMatch => None,
                    },
                });
            } else if let Outcome::Error(e) = outcome {
                skipped.push(SkippedRule {
                    rule: rule.name.clone(),
                    evaluation_error: e,
                });
            }
        }
        let decided = matched
            .iter()
            .map(|m| m.decision)
            .max()
            .unwrap_or(Decision::Escalate);
        let decision = if req.run.unattended {
            decided.without_approver()
        } else {
            decided
        };
        let unattended_downgrade = decision != decided;
        let reason = explain(&tool, decided, &matched, &skipped, unattended_downgrade);
        Verdict {
            decision,
            matched,
            skipped,
            unattended_downgrade,
            reason,
        }
    }

    /// Evaluates rule `i` against a prepared context.
    pub(crate) fn outcome(&self, i: usize, ctx: &JValue) -> Outcome {
        let Some(name) = &self.rules[i].template else {
            return Outcome::Match;
        };
        let rendered = self.env.get_template(name).and_then(|t| t.render(ctx));
        match rendered {
            Ok(out) if out == "1" => Outcome::Match,
            Ok(_) => Outcome::NoMatch,
            Err(e) => Outcome::Error(error_text(&e)),
        }
    }

    /// Whether rule `i`'s tool patterns cover `tool`.
    pub(crate) fn covers(&self, i: usize, tool: &str) -> bool {
        self.globs
            .matches(tool)
            .into_iter()
            .any(|g| self.glob_rule[g] == i)
    }

    /// The rules, in evaluation order.
    pub fn rules(&self) -> Vec<RuleInfo> {
        self.rules
            .iter()
            .map(|r| RuleInfo {
                name: r.name.clone(),
                tools: r.tools.clone(),
                decision: r.decision,
                file: r.file.clone(),
                line: r.line,
                when: r.when.clone(),
                because: r.because.clone(),
                examples: r.examples.clone(),
            })
            .collect()
    }

    /// Non-fatal findings (rules without examples).
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// How many examples were checked when the policy loaded.
    pub fn examples_checked(&self) -> usize {
        self.examples_checked
    }

    /// Whether some rule would deny `tool` whatever its arguments (used to hide such tools
    /// from the model). Rules with a `when` never count.
    pub fn denies_outright(&self, tool: &sopilot_protocol::ToolRef) -> bool {
        let name = tool.to_string();
        self.globs
            .matches(&name)
            .into_iter()
            .map(|g| &self.rules[self.glob_rule[g]])
            .any(|r| r.decision == Decision::Deny && r.when.is_none())
    }
}

/// The minijinja error text, with the cause chain but without the template source dump.
fn error_text(e: &minijinja::Error) -> String {
    let mut text = e
        .detail()
        .map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind()));
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// The variables a `when` sees.
pub(crate) fn context(req: &Request<'_>) -> JValue {
    let mut map: BTreeMap<&str, JValue> = BTreeMap::new();
    map.insert("tool", JValue::from(req.tool.to_string()));
    map.insert("server", JValue::from(req.tool.server()));
    map.insert("tool_name", JValue::from(req.tool.tool()));
    map.insert("args", JValue::from(minijinja::value::Serde(req.args)));
    map.insert("run", JValue::from(minijinja::value::Serde(req.run)));
    if let Some(impact) = req.impact {
        map.insert("impact", JValue::from(minijinja::value::Serde(impact)));
    }
    if let Some(resource) = req.resource {
        map.insert("resource", JValue::from(minijinja::value::Serde(resource)));
    }
    if let Some(history) = req.history {
        map.insert("history", JValue::from(minijinja::value::Serde(history)));
    }
    if let Some(trigger) = req.trigger {
        map.insert("trigger", JValue::from(minijinja::value::Serde(trigger)));
    }
    let implicit;
    let target = match req.target {
        Some(t) => t,
        None => {
            implicit = sopilot_protocol::Target::implicit();
            &implicit
        }
    };
    map.insert("target", JValue::from(minijinja::value::Serde(target)));
    // A foreign server's annotations are its own claims; policies never see them.
    if let (Some(a), ServerTrust::Builtin) = (req.annotations, req.trust) {
        map.insert("annotations", JValue::from(minijinja::value::Serde(a)));
    }
    JValue::from(map)
}

fn explain(
    tool: &str,
    decided: Decision,
    matched: &[MatchedRule],
    skipped: &[SkippedRule],
    downgraded: bool,
) -> String {
    let mut reason = if matched.is_empty() {
        format!("no rule matches {tool}, so a human decides (add a rule to allow or deny it)")
    } else {
        let deciding: Vec<&MatchedRule> =
            matched.iter().filter(|m| m.decision == decided).collect();
        let names: Vec<String> = deciding.iter().map(|m| m.rule.clone()).collect();
        let mut r = format!(
            "by {}: {}",
            names.join(", "),
            deciding.first().map_or("", |m| m.because.as_str())
        );
        for m in deciding.iter().filter(|m| m.evaluation_error.is_some()) {
            r.push_str(&format!(
                " [{} counted as matching because its condition failed: {}]",
                m.rule,
                m.evaluation_error.as_deref().unwrap_or_default()
            ));
        }
        let overridden: Vec<String> = matched
            .iter()
            .filter(|m| m.decision < decided)
            .map(|m| format!("{} by {}", m.decision, m.rule))
            .collect();
        if !overridden.is_empty() {
            r.push_str(&format!(" (overrides {})", overridden.join(", ")));
        }
        r
    };
    if !skipped.is_empty() {
        let names: Vec<&str> = skipped.iter().map(|s| s.rule.as_str()).collect();
        reason.push_str(&format!(
            "; not allowed by {} because its condition could not be evaluated",
            names.join(", ")
        ));
    }
    if downgraded {
        reason.push_str("; unattended: no approver can be reached, so escalate becomes deny");
        return format!("deny: {reason}");
    }
    format!("{decided}: {reason}")
}
