//! Rendering an SOP for one run: parameters and the trigger go into `{{ }}` expressions.
//!
//! Only expressions whose every variable is a parameter or `trigger` are rendered; anything
//! else (Helm's `{{ .Values.image.tag }}`, Go templates, unknown names) is left exactly as
//! written, and code fences other than tool blocks are never touched. Tool-block arguments
//! are rendered value by value after the YAML is parsed, so a parameter's text can never
//! change a call's structure.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::{Environment, Value as JValue};
use serde::Serialize;
use serde_json::Value;
use sopilot_protocol::{ToolRef, Trigger};

use crate::lint::parameter_names;
use crate::markdown::{LineKind, scan};
use crate::model::Sop;
use crate::template;

/// Why an SOP could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("missing required parameter{}: {} (pass --param NAME=VALUE)", if .0.len() == 1 { "" } else { "s" }, .0.join(", "))]
    MissingParameters(Vec<String>),
    #[error("unknown parameter{} {} (this SOP declares: {})", if .unknown.len() == 1 { "" } else { "s" }, .unknown.join(", "), if .declared.is_empty() { "none".to_owned() } else { .declared.join(", ") })]
    UnknownParameters {
        unknown: Vec<String>,
        declared: Vec<String>,
    },
    #[error("line {line}: tool block for {tool} cannot be rendered: {message}")]
    ToolBlock {
        line: usize,
        tool: String,
        message: String,
    },
    #[error("trigger parameter {name:?} cannot be rendered: {message}")]
    TriggerParameter { name: String, message: String },
}

/// A tool call of a step, ready to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenderedCall {
    pub line: usize,
    pub tool: ToolRef,
    pub args: Value,
}

/// One step, rendered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenderedStep {
    pub number: u32,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    pub calls: Vec<RenderedCall>,
}

/// An SOP rendered for one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rendered {
    /// The SOP text (without front matter) with parameters and trigger filled in.
    pub markdown: String,
    /// The parameters used, defaults applied.
    pub params: BTreeMap<String, String>,
    pub steps: Vec<RenderedStep>,
    /// Prose expressions that could not be rendered and were left as written.
    pub warnings: Vec<String>,
}

/// Applies defaults and checks the given parameters against the SOP's.
pub fn resolve_params(
    sop: &Sop,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, RenderError> {
    let declared = parameter_names(sop);
    let unknown: Vec<String> = given
        .keys()
        .filter(|k| !declared.contains(*k))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(RenderError::UnknownParameters {
            unknown,
            declared: declared.into_iter().collect(),
        });
    }
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    for p in &sop.parameters {
        match (given.get(&p.name), &p.default) {
            (Some(v), _) => {
                out.insert(p.name.clone(), v.clone());
            }
            (None, Some(d)) => {
                out.insert(p.name.clone(), d.clone());
            }
            (None, None) if p.required => missing.push(p.name.clone()),
            (None, None) => {}
        }
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(RenderError::MissingParameters(missing))
    }
}

/// The parameters the first of the SOP's trigger rules matching `trigger` fills, if any.
pub fn trigger_params(
    sop: &Sop,
    trigger: &Trigger,
) -> Option<Result<BTreeMap<String, String>, RenderError>> {
    // The SOP's most specific matching rule, as the router ranks it.
    let (_, rule) = sop.front.best_trigger(trigger)?;
    let env = template::environment();
    let ctx = minijinja::context! { trigger => JValue::from(minijinja::value::Serde(trigger)) };
    let mut out = BTreeMap::new();
    for (name, tmpl) in &rule.params {
        match env.render_str(tmpl, &ctx) {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(e) => {
                return Some(Err(RenderError::TriggerParameter {
                    name: name.clone(),
                    message: error_text(&e),
                }));
            }
        }
    }
    Some(Ok(out))
}

fn error_text(e: &minijinja::Error) -> String {
    e.detail()
        .map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind()))
}

struct Renderer<'a> {
    env: Environment<'static>,
    ctx: JValue,
    known: &'a BTreeSet<String>,
}

impl Renderer<'_> {
    /// Renders our `{{ }}` expressions in one line of prose; leaves the rest.
    fn line(&self, line: &str, no: usize, warnings: &mut Vec<String>) -> String {
        let mut out = String::with_capacity(line.len());
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                out.push_str(&rest[start..]);
                return out;
            };
            let whole = &rest[start..start + end + 4];
            let inner = after[..end].trim_start_matches('-').trim_end_matches('-');
            if template::is_ours(&self.env, inner, self.known) {
                match self
                    .env
                    .compile_expression(inner)
                    .and_then(|e| e.eval(&self.ctx))
                {
                    Ok(v) => out.push_str(&v.to_string()),
                    Err(e) => {
                        warnings.push(format!(
                            "line {no}: left {whole} as written: {}",
                            error_text(&e)
                        ));
                        out.push_str(whole);
                    }
                }
            } else {
                out.push_str(whole);
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// Renders one argument value of a tool block.
    fn value(&self, v: &Value) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) if s.contains("{{") || s.contains("{%") => {
                let t = s.trim();
                let single = t
                    .strip_prefix("{{")
                    .and_then(|r| r.strip_suffix("}}"))
                    .filter(|inner| !inner.contains("{{") && !inner.contains("}}"));
                match single {
                    // A value that is one expression keeps the expression's type.
                    Some(expr) => {
                        let out = self
                            .env
                            .compile_expression(expr)
                            .and_then(|e| e.eval(&self.ctx))
                            .map_err(|e| error_text(&e))?;
                        if out.is_undefined() || out.is_none() {
                            return Err(format!("{s:?} has no value in this run"));
                        }
                        serde_json::to_value(&out).map_err(|e| e.to_string())?
                    }
                    None => Value::String(
                        self.env
                            .render_str(s, &self.ctx)
                            .map_err(|e| error_text(&e))?,
                    ),
                }
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.value(i))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.value(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// Renders `sop` with `given` parameters (defaults applied) and an optional trigger.
pub fn render(
    sop: &Sop,
    given: &BTreeMap<String, String>,
    trigger: Option<&Trigger>,
) -> Result<Rendered, RenderError> {
    let params = resolve_params(sop, given)?;
    let mut vars: BTreeMap<String, JValue> = params
        .iter()
        .map(|(k, v)| (k.clone(), JValue::from(v.as_str())))
        .collect();
    if let Some(t) = trigger {
        vars.insert("trigger".into(), JValue::from(minijinja::value::Serde(t)));
    }
    let known = parameter_names(sop);
    let r = Renderer {
        env: template::environment(),
        ctx: JValue::from(vars),
        known: &known,
    };

    let mut warnings = Vec::new();
    let mut lines = Vec::new();
    // Inside a code fence that is not a tool block: left exactly as written.
    let mut in_other = false;
    for line in scan(&sop.body, sop.body_line) {
        let text = match &line.kind {
            LineKind::FenceOpen { info } => {
                in_other = info != "tool";
                line.text.to_owned()
            }
            LineKind::FenceClose => {
                in_other = false;
                line.text.to_owned()
            }
            LineKind::FenceBody if in_other => line.text.to_owned(),
            LineKind::FenceBody | LineKind::Text | LineKind::Heading { .. } => {
                r.line(line.text, line.no, &mut warnings)
            }
        };
        lines.push(text);
    }
    let mut markdown = lines.join("\n");
    if sop.body.ends_with('\n') {
        markdown.push('\n');
    }

    let mut steps = Vec::new();
    for step in &sop.steps {
        let mut calls = Vec::new();
        for block in &step.tool_blocks {
            let args = r
                .value(&block.args)
                .map_err(|message| RenderError::ToolBlock {
                    line: block.line,
                    tool: block.tool.to_string(),
                    message,
                })?;
            calls.push(RenderedCall {
                line: block.line,
                tool: block.tool.clone(),
                args,
            });
        }
        steps.push(RenderedStep {
            number: step.number,
            title: step.title.clone(),
            phase: step.phase.clone(),
            calls,
        });
    }
    Ok(Rendered {
        markdown,
        params,
        steps,
        warnings,
    })
}
