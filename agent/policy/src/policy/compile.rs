//! Compiling policy files: rules into globs and strict, fuel-bounded minijinja templates;
//! every rule's examples checked; every problem reported with its file and line.

use std::collections::HashSet;

use globset::{GlobBuilder, GlobSetBuilder};
use minijinja::{Environment, UndefinedBehavior};
use sopilot_protocol::Decision;
use sopilot_yaml::Seg;

use crate::error::{PolicyError, Problem};
use crate::examples::check_examples;
use crate::file::{ExampleSpec, PolicyFile, RuleSpec};

use super::{FUEL, Policy, Rule, WHEN_VARIABLES};

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
            examples: Vec::new(),
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
                policy.rules[rule_idx].examples = listed(must, not);
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
}

/// A rule's examples as listings show them.
fn listed(must: &[ExampleSpec], not: &[ExampleSpec]) -> Vec<super::RuleExample> {
    let one = |matches: bool, e: &ExampleSpec| super::RuleExample {
        matches,
        call: serde_json::to_value(e).unwrap_or_default(),
    };
    must.iter()
        .map(|e| one(true, e))
        .chain(not.iter().map(|e| one(false, e)))
        .collect()
}
