//! Checks that need the whole SOP: required sections, constraints, phases, tool blocks and
//! front matter against the parameters.

use std::collections::BTreeSet;

use globset::GlobBuilder;
use sopilot_yaml::{Node, Seg};

use crate::model::{Constraint, Diagnostic, Severity, Sop};
use crate::{constraints, template, toolblock};

fn err(line: usize, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        line,
        severity: Severity::Error,
        message: message.into(),
    }
}

fn warn(line: usize, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        line,
        severity: Severity::Warning,
        message: message.into(),
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_constraints(list: &[Constraint], diags: &mut Vec<Diagnostic>) {
    for c in list {
        match c.level {
            None => diags.push(warn(c.line, "constraint has no RFC 2119 keyword (MUST, SHOULD, MAY, MUST NOT, SHOULD NOT)")),
            Some(level) if level.is_negative() && !constraints::has_reason(&c.text) => diags.push(warn(
                c.line,
                "negative constraint without a reason; say why (\"You MUST NOT ... because ...\")",
            )),
            Some(_) => {}
        }
    }
}

/// The parameter names templates may use.
pub fn parameter_names(sop: &Sop) -> BTreeSet<String> {
    sop.parameters.iter().map(|p| p.name.clone()).collect()
}

/// Structure, constraints, phases and tool blocks.
pub fn check_sop(sop: &Sop, title_line: Option<usize>, diags: &mut Vec<Diagnostic>) {
    let at = title_line.unwrap_or(sop.body_line);
    if title_line.is_none() {
        diags.push(err(sop.body_line, "missing the `# Title` heading"));
    }
    for required in ["Overview", "Parameters", "Steps"] {
        if !sop
            .sections
            .iter()
            .any(|s| s.title.eq_ignore_ascii_case(required))
        {
            diags.push(err(at, format!("missing required section `## {required}`")));
        }
    }
    if let Some(steps) = sop
        .sections
        .iter()
        .find(|s| s.title.eq_ignore_ascii_case("Steps"))
        && sop.steps.is_empty()
    {
        diags.push(err(
            steps.line,
            "`## Steps` has no steps; add `### 1. Title` headings",
        ));
    }
    for p in &sop.parameters {
        if !is_identifier(&p.name) {
            diags.push(warn(
                p.line,
                format!(
                    "parameter name {:?} cannot be used in templates; use snake_case",
                    p.name
                ),
            ));
        } else if p.name.chars().any(|c| c.is_ascii_uppercase()) {
            diags.push(warn(
                p.line,
                format!("parameter name {:?} should be snake_case", p.name),
            ));
        }
        if p.name == "trigger" {
            diags.push(err(
                p.line,
                "`trigger` is reserved for the run's trigger; rename the parameter",
            ));
        }
    }
    check_constraints(&sop.parameter_constraints, diags);
    let phases: Vec<&str> = sop.front.phases.iter().map(|p| p.name.as_str()).collect();
    let params = parameter_names(sop);
    let env = template::environment();
    let tool_globs = tool_matchers(&sop.front.tools);
    for step in &sop.steps {
        check_constraints(&step.constraints, diags);
        if let Some(phase) = &step.phase
            && !phases.contains(&phase.as_str())
        {
            let defined = if phases.is_empty() {
                "none are defined".to_owned()
            } else {
                phases.join(", ")
            };
            diags.push(err(
                step.line,
                format!(
                    "step names phase {phase:?}, which the front matter does not define ({defined})"
                ),
            ));
        }
        for block in &step.tool_blocks {
            let mut texts = Vec::new();
            toolblock::strings(&block.args, &mut texts);
            for text in texts
                .iter()
                .filter(|t| t.contains("{{") || t.contains("{%"))
            {
                if let Err(msg) = template::check(&env, text, &params) {
                    diags.push(err(
                        block.line,
                        format!("tool block for {}: {msg}", block.tool),
                    ));
                }
            }
            let name = block.tool.to_string();
            if !tool_globs.is_empty() && !tool_globs.iter().any(|g| g.is_match(&name)) {
                diags.push(err(
                    block.line,
                    format!(
                        "tool block calls {name}, which the front matter's `tools` does not include"
                    ),
                ));
            }
        }
    }
}

/// `budget.tool_output_bytes` names tools the SOP offers, as `server.tool`, with a budget
/// above zero: a misspelt name would silently leave that tool on the default budget.
fn check_tool_budgets(
    front: &crate::FrontMatter,
    line_of: &dyn Fn(&[Seg]) -> usize,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(budget) = &front.budget else { return };
    let key = |k: &str| Seg::Key(k.into());
    if let Some(msg) = budget
        .max_tool_output_bytes_per_call
        .and_then(crate::Budget::per_call_problem)
    {
        diags.push(err(
            line_of(&[key("budget"), key("max_tool_output_bytes_per_call")]),
            msg,
        ));
    }
    let globs = tool_matchers(&front.tools);
    for (tool, bytes) in &budget.tool_output_bytes {
        let line = line_of(&[key("budget"), key("tool_output_bytes"), key(tool)]);
        let problems = crate::Budget::tool_budget_problems(tool, *bytes);
        let named = tool.parse::<sopilot_protocol::ToolRef>().is_ok();
        if named && !globs.is_empty() && !globs.iter().any(|g| g.is_match(tool)) {
            diags.push(err(line, format!("budget.tool_output_bytes names {tool}, which the front matter's `tools` does not include")));
        }
        diags.extend(problems.into_iter().map(|m| err(line, m)));
    }
}

/// The front matter's `tools` globs, compiled as the runtime matches them (`*` crosses `.`).
fn tool_matchers(tools: &[String]) -> Vec<globset::GlobMatcher> {
    tools
        .iter()
        .filter_map(|t| GlobBuilder::new(t).literal_separator(false).build().ok())
        .map(|g| g.compile_matcher())
        .collect()
}

/// The front matter against the rest of the SOP. `first_line` is the line of the front
/// matter's first line in the file.
pub fn check_front(sop: &Sop, node: &Node, first_line: usize, diags: &mut Vec<Diagnostic>) {
    let line_of = |path: &[Seg]| first_line + node.nearest(path).line - 1;
    let front = &sop.front;
    if let Some(name) = &front.name
        && (name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
    {
        diags.push(warn(
            line_of(&[Seg::Key("name".into())]),
            format!("SOP name {name:?} should be kebab-case (lowercase, digits, '-')"),
        ));
    }
    for (i, pattern) in front.tools.iter().enumerate() {
        let line = line_of(&[Seg::Key("tools".into()), Seg::Index(i)]);
        if pattern != "*" && !pattern.contains('.') {
            diags.push(err(line, format!("tool pattern {pattern:?} has no server part; write SERVER.TOOL (globs allowed), e.g. kubectl.*")));
        } else if let Err(e) = GlobBuilder::new(pattern).build() {
            diags.push(err(
                line,
                format!("tool pattern {pattern:?} is not a valid glob: {e}"),
            ));
        }
    }
    check_tool_budgets(front, &line_of, diags);
    let mut seen = BTreeSet::new();
    for (i, phase) in front.phases.iter().enumerate() {
        if !seen.insert(phase.name.as_str()) {
            diags.push(err(
                line_of(&[Seg::Key("phases".into()), Seg::Index(i)]),
                format!("phase {:?} is defined twice", phase.name),
            ));
        }
    }
    let params = parameter_names(sop);
    let env = template::environment();
    let no_params = BTreeSet::new();
    for (i, rule) in front.triggers.iter().enumerate() {
        let line = line_of(&[Seg::Key("triggers".into()), Seg::Index(i)]);
        if rule.kinds_set() != 1 {
            diags.push(err(line, "each trigger names exactly one of cloudwatch_alarm, alertmanager, kubernetes_event, slack, schedule, investigation"));
        }
        for (name, value) in &rule.params {
            let pline = line_of(&[
                Seg::Key("triggers".into()),
                Seg::Index(i),
                Seg::Key("params".into()),
                Seg::Key(name.clone()),
            ]);
            if !params.contains(name) {
                diags.push(err(
                    pline,
                    format!("trigger fills {name:?}, which is not a parameter of this SOP"),
                ));
            }
            if let Err(msg) = template::check(&env, value, &no_params) {
                diags.push(err(pline, msg));
            }
        }
        for p in sop
            .parameters
            .iter()
            .filter(|p| p.required && !rule.params.contains_key(&p.name))
        {
            diags.push(warn(
                line,
                format!(
                    "this trigger does not fill required parameter {:?}; runs it starts will fail",
                    p.name
                ),
            ));
        }
    }
}
