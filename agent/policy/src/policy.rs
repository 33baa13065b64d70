//! Compiling a policy once and evaluating calls against it.

use std::collections::{BTreeMap, HashSet};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use minijinja::{Environment, UndefinedBehavior, Value as JValue};
use sopilot_protocol::Decision;
use sopilot_yaml::Seg;

use crate::error::{PolicyError, Problem};
use crate::examples::check_examples;
use crate::file::{PolicyFile, RuleSpec};
use crate::guard::{SECRET_GUARD, secret_target};
use crate::request::{MatchedRule, Request, ServerTrust, SkippedRule, Verdict};

/// The names a `when` expression may use.
pub const WHEN_VARIABLES: [&str; 10] = [
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
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    crate::functions::register(&mut env);
    env
}

fn compile_glob(pattern: &str) -> Result<globset::Glob, String> {
    if pattern != "*" && !pattern.contains('.') {
        return Err(format!(
            "tool pattern {pattern:?} has no server part; write SERVER.TOOL (globs allowed), e.g. kubectl.delete_pod or kubectl.*"
        ));
    }
    GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .map_err(|e| format!("tool pattern {pattern:?} is not a valid glob: {e}"))
}

fn valid_rule_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        && !name.starts_with("builtin:")
}

struct Compiler {
    env: Environment<'static>,
    rules: Vec<Rule>,
    names: HashSet<String>,
    globs: GlobSetBuilder,
    glob_rule: Vec<usize>,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Compiler {
    fn problem(&mut self, file: &str, line: Option<usize>, rule: Option<&str>, message: String) {
        self.problems.push(Problem {
            file: file.to_owned(),
            line,
            rule: rule.map(str::to_owned),
            message,
        });
    }

    fn compile_rule(&mut self, file: &str, doc: &sopilot_yaml::Node, index: usize, spec: RuleSpec) {
        let at = |field: Option<&str>| {
            let mut path = vec![Seg::Key("rules".into()), Seg::Index(index)];
            if let Some(f) = field {
                path.push(Seg::Key(f.into()));
            }
            Some(doc.nearest(&path).line)
        };
        let line = at(None);
        let name = spec.name.clone();
        let before = self.problems.len();
        if !valid_rule_name(&name) {
            self.problem(file, at(Some("name")), Some(&name),
                "rule names use letters, digits, '-', '_', '.' and ':' (and may not start with \"builtin:\")".into());
        }
        if !self.names.insert(name.clone()) {
            self.problem(
                file,
                at(Some("name")),
                Some(&name),
                "duplicate rule name; rule names must be unique across all policy files".into(),
            );
        }
        let decision = match spec.decision.parse::<Decision>() {
            Ok(d) => d,
            Err(e) => {
                self.problem(file, at(Some("decision")), Some(&name), e.to_string());
                Decision::Deny
            }
        };
        if spec.because.trim().is_empty() {
            self.problem(
                file,
                at(Some("because")),
                Some(&name),
                "`because` must say why, for the people who read explanations".into(),
            );
        }
        let tools = spec.tools.into_vec();
        if tools.is_empty() {
            self.problem(
                file,
                at(Some("tools")),
                Some(&name),
                "`tools` lists no tool; name at least one SERVER.TOOL pattern".into(),
            );
        }
        let mut globs = Vec::new();
        for pattern in &tools {
            match compile_glob(pattern) {
                Ok(g) => globs.push(g),
                Err(msg) => self.problem(file, at(Some("tools")), Some(&name), msg),
            }
        }
        let when = spec
            .when
            .map(|w| w.trim().to_owned())
            .filter(|w| !w.is_empty());
        if decision == Decision::Allow
            && when.is_none()
            && tools.iter().any(|t| t == "*" || t == "*.*")
        {
            self.problem(file, line, Some(&name),
                "an allow rule for every tool without `when` would allow everything; narrow `tools` or add a condition".into());
        }
        let template = when
            .as_deref()
            .and_then(|expr| self.compile_when(file, at(Some("when")), &name, expr));
        if self.problems.len() > before {
            return;
        }
        let rule_index = self.rules.len();
        for g in globs {
            self.globs.add(g);
            self.glob_rule.push(rule_index);
        }
        self.rules.push(Rule {
            name,
            tools,
            when,
            template,
            decision,
            because: spec.because.trim().to_owned(),
            file: file.to_owned(),
            line,
        });
    }

    /// Validates a `when` and compiles it into a template; `None` after recording a problem.
    fn compile_when(
        &mut self,
        file: &str,
        line: Option<usize>,
        name: &str,
        expr: &str,
    ) -> Option<String> {
        let unknown = match self.env.compile_expression(expr) {
            Ok(compiled) => {
                let mut unknown: Vec<String> = compiled
                    .undeclared_variables(false)
                    .into_iter()
                    .filter(|v| {
                        !WHEN_VARIABLES.contains(&v.as_str())
                            && !crate::functions::NAMES.contains(&v.as_str())
                    })
                    .collect();
                unknown.sort();
                unknown
            }
            Err(e) => {
                self.problem(
                    file,
                    line,
                    Some(name),
                    format!("`when` is not a valid expression: {e}"),
                );
                return None;
            }
        };
        if !unknown.is_empty() {
            self.problem(
                file,
                line,
                Some(name),
                format!(
                    "`when` uses unknown variable{} {}; available: {}",
                    if unknown.len() == 1 { "" } else { "s" },
                    unknown.join(", "),
                    WHEN_VARIABLES.join(", ")
                ),
            );
            return None;
        }
        let template = format!("when:{name}");
        // The expression compiled on its own above, so it cannot close this block early.
        let source = format!("{{% if ({expr}) %}}1{{% endif %}}");
        match self.env.add_template_owned(template.clone(), source) {
            Ok(()) => Some(template),
            Err(e) => {
                self.problem(
                    file,
                    line,
                    Some(name),
                    format!("`when` is not a valid expression: {e}"),
                );
                None
            }
        }
    }
}

impl Policy {
    /// Compiles policy sources (`(name, YAML text)` pairs, e.g. file paths and contents) and
    /// checks every rule's examples. Every problem is reported, not just the first.
    pub fn from_sources(sources: &[(String, String)]) -> Result<Policy, PolicyError> {
        let mut c = Compiler {
            env: environment(),
            rules: Vec::new(),
            names: HashSet::new(),
            globs: GlobSetBuilder::new(),
            glob_rule: Vec::new(),
            problems: Vec::new(),
            warnings: Vec::new(),
        };
        let mut docs = Vec::new();
        for (file, text) in sources {
            let doc = match sopilot_yaml::parse(text) {
                Ok(doc) => doc,
                Err(e) => {
                    c.problem(
                        file,
                        Some(e.line),
                        None,
                        format!("not valid YAML: {}", e.message),
                    );
                    continue;
                }
            };
            if !doc.is_map() {
                c.problem(
                    file,
                    Some(doc.line),
                    None,
                    "a policy file is a mapping with a `rules:` list".into(),
                );
                continue;
            }
            let parsed: PolicyFile = match sopilot_yaml::from_node(&doc) {
                Ok(p) => p,
                Err(e) => {
                    c.problem(file, Some(e.line), None, e.message);
                    continue;
                }
            };
            if let Some(v) = parsed.version.filter(|v| *v != 1) {
                c.problem(
                    file,
                    doc.get("version").map(|n| n.line),
                    None,
                    format!("unknown policy format version {v}; this SOPilot reads version 1"),
                );
                continue;
            }
            let mut specs = Vec::new();
            for (i, spec) in parsed.rules.into_iter().enumerate() {
                specs.push((
                    spec.name.clone(),
                    i,
                    spec.examples.must_match.clone(),
                    spec.examples.not_match.clone(),
                ));
                c.compile_rule(file, &doc, i, spec);
            }
            docs.push((file.clone(), doc, specs));
        }
        let globs = c.globs.build().map_err(|e| {
            PolicyError::Invalid(vec![Problem {
                file: "policy".into(),
                line: None,
                rule: None,
                message: e.to_string(),
            }])
        })?;
        let mut policy = Policy {
            rules: c.rules,
            globs,
            glob_rule: c.glob_rule,
            env: c.env,
            warnings: c.warnings,
            examples_checked: 0,
        };
        let mut problems = c.problems;
        for (file, doc, specs) in &docs {
            for (rule_name, index, must, not) in specs {
                // Examples of a rule that failed to compile cannot be checked.
                let Some(rule_idx) = policy
                    .rules
                    .iter()
                    .position(|r| &r.name == rule_name && &r.file == file)
                else {
                    continue;
                };
                if must.is_empty() && not.is_empty() {
                    policy.warnings.push(Problem {
                        file: file.clone(),
                        line: policy.rules[rule_idx].line,
                        rule: Some(rule_name.clone()),
                        message: "rule has no examples; add `examples: {match: [...], not_match: [...]}` so its meaning is tested".into(),
                    });
                }
                let (checked, failures) = check_examples(&policy, rule_idx, doc, *index, must, not);
                policy.examples_checked += checked;
                problems.extend(failures);
            }
        }
        if problems.is_empty() {
            Ok(policy)
        } else {
            Err(PolicyError::Invalid(problems))
        }
    }

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
