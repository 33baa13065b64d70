//! From `.sop.md` text to a [`Sop`] and its diagnostics.

use crate::front::FrontMatter;
use crate::markdown::{Line, LineKind, scan};
use crate::model::{
    Constraint, Diagnostic, Parameter, SectionInfo, Severity, Sop, Step, ToolBlock,
};
use crate::params::{is_list_item, parse_param_line};
use crate::{constraints, lint, toolblock};

/// Where in the document we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Preamble,
    Overview,
    Parameters,
    Steps,
    Other,
}

/// What a list item under the current marker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListMode {
    None,
    Parameters,
    Constraints,
}

struct Parser {
    diags: Vec<Diagnostic>,
    title: Option<(String, usize)>,
    overview: Vec<String>,
    parameters: Vec<Parameter>,
    parameter_constraints: Vec<Constraint>,
    steps: Vec<Step>,
    sections: Vec<SectionInfo>,
    section: Section,
    mode: ListMode,
    /// The last list item, which indented lines continue.
    last_item: Option<LastItem>,
    /// An open ```` ```tool ```` block: its fence line and body.
    tool_fence: Option<(usize, Vec<String>)>,
    open_fence: Option<usize>,
}

#[derive(Debug, Clone, Copy)]
enum LastItem {
    Parameter,
    ParamConstraint,
    StepConstraint,
}

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

fn section_of(title: &str) -> Section {
    match title.trim().to_ascii_lowercase().as_str() {
        "overview" => Section::Overview,
        "parameters" => Section::Parameters,
        "steps" => Section::Steps,
        _ => Section::Other,
    }
}

/// `**Constraints:**`, `**Constraints**:`, case-insensitive.
fn is_marker(line: &str, name: &str) -> bool {
    let t = line.trim().to_ascii_lowercase().replace("**", "");
    let t = t.trim();
    t == format!("{name}:") || t == name
}

/// `1. Title (phase: assess)` → (1, "Title", Some("assess")).
fn step_heading(text: &str) -> (Option<u32>, String, Option<String>) {
    let (number, rest) = match text.split_once('.') {
        Some((n, rest)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
            (n.parse().ok(), rest.trim())
        }
        _ => (None, text.trim()),
    };
    let lower = rest.to_ascii_lowercase();
    if let Some(start) = lower.rfind("(phase:")
        && rest.ends_with(')')
    {
        let phase = rest[start + 7..rest.len() - 1].trim().to_owned();
        return (number, rest[..start].trim().to_owned(), Some(phase));
    }
    (number, rest.to_owned(), None)
}

impl Parser {
    fn constraint(&mut self, line: &Line<'_>) -> Constraint {
        let text = line
            .text
            .trim_start()
            .get(2..)
            .unwrap_or("")
            .trim()
            .to_owned();
        Constraint {
            line: line.no,
            level: constraints::level_of(&text),
            text,
        }
    }

    fn continue_item(&mut self, text: &str) {
        let extra = text.trim();
        let target = match self.last_item {
            Some(LastItem::Parameter) => self.parameters.last_mut().map(|p| &mut p.description),
            Some(LastItem::ParamConstraint) => {
                self.parameter_constraints.last_mut().map(|c| &mut c.text)
            }
            Some(LastItem::StepConstraint) => self
                .steps
                .last_mut()
                .and_then(|s| s.constraints.last_mut())
                .map(|c| &mut c.text),
            None => None,
        };
        if let Some(t) = target {
            if !t.is_empty() {
                t.push('\n');
            }
            t.push_str(extra);
        }
    }

    fn heading(&mut self, no: usize, level: usize, text: &str) {
        self.mode = ListMode::None;
        self.last_item = None;
        match level {
            1 => match &self.title {
                None => self.title = Some((text.to_owned(), no)),
                Some((_, first)) => self.diags.push(warn(
                    no,
                    format!("a second `# ` heading; only the first (line {first}) is the title"),
                )),
            },
            2 => {
                let section = section_of(text);
                if section != Section::Other
                    && let Some(prev) = self
                        .sections
                        .iter()
                        .find(|s| section_of(&s.title) == section)
                {
                    self.diags.push(warn(
                        no,
                        format!("`## {text}` appears twice (first at line {})", prev.line),
                    ));
                }
                self.section = section;
                if section == Section::Parameters {
                    self.mode = ListMode::Parameters;
                }
                self.sections.push(SectionInfo {
                    title: text.to_owned(),
                    line: no,
                });
            }
            3 if self.section == Section::Steps => {
                let (number, title, phase) = step_heading(text);
                let expected = self.steps.len() as u32 + 1;
                let number = match number {
                    Some(n) => {
                        if n != expected {
                            self.diags.push(warn(
                                no,
                                format!("step is numbered {n}; expected {expected}"),
                            ));
                        }
                        n
                    }
                    None => {
                        self.diags.push(warn(
                            no,
                            format!("step heading should be `### {expected}. Title`"),
                        ));
                        expected
                    }
                };
                self.steps.push(Step {
                    number,
                    title,
                    phase,
                    line: no,
                    constraints: Vec::new(),
                    tool_blocks: Vec::new(),
                });
            }
            _ => {}
        }
    }

    fn text_line(&mut self, line: &Line<'_>) {
        let text = line.text;
        if self.section == Section::Overview {
            self.overview.push(text.to_owned());
            return;
        }
        if is_marker(text, "constraints for parameter acquisition")
            && self.section == Section::Parameters
        {
            self.mode = ListMode::Constraints;
            self.last_item = None;
            return;
        }
        if is_marker(text, "constraints")
            && self.section == Section::Steps
            && !self.steps.is_empty()
        {
            self.mode = ListMode::Constraints;
            self.last_item = None;
            return;
        }
        if text.trim().is_empty() {
            return;
        }
        let indented = text.starts_with([' ', '\t']) && !is_list_item(text);
        if indented && self.last_item.is_some() {
            self.continue_item(text);
            return;
        }
        if !is_list_item(text) {
            // Prose ends a constraint list; it does not end the parameter list.
            if self.mode == ListMode::Constraints {
                self.mode = ListMode::None;
            }
            self.last_item = None;
            return;
        }
        match (self.section, self.mode) {
            (Section::Parameters, ListMode::Parameters) => match parse_param_line(text) {
                Ok(p) => {
                    if let Some(prev) = self.parameters.iter().find(|q| q.name == p.name) {
                        self.diags.push(err(
                            line.no,
                            format!(
                                "parameter {:?} is declared twice (first at line {})",
                                p.name, prev.line
                            ),
                        ));
                    }
                    self.parameters.push(Parameter {
                        name: p.name,
                        required: p.required,
                        default: p.default,
                        description: p.description,
                        line: line.no,
                    });
                    self.last_item = Some(LastItem::Parameter);
                }
                Err(msg) => {
                    self.diags
                        .push(err(line.no, format!("malformed parameter line: {msg}")));
                    self.last_item = None;
                }
            },
            (Section::Parameters, ListMode::Constraints) => {
                let c = self.constraint(line);
                self.parameter_constraints.push(c);
                self.last_item = Some(LastItem::ParamConstraint);
            }
            (Section::Steps, ListMode::Constraints) => {
                let c = self.constraint(line);
                if let Some(step) = self.steps.last_mut() {
                    step.constraints.push(c);
                }
                self.last_item = Some(LastItem::StepConstraint);
            }
            _ => self.last_item = None,
        }
    }

    fn fence_open(&mut self, no: usize, info: &str) {
        self.open_fence = Some(no);
        if info == "tool" {
            self.tool_fence = Some((no, Vec::new()));
        }
        if self.mode == ListMode::Constraints {
            self.mode = ListMode::None;
        }
        self.last_item = None;
    }

    fn fence_close(&mut self) {
        self.open_fence = None;
        let Some((fence_line, body)) = self.tool_fence.take() else {
            return;
        };
        if self.section != Section::Steps || self.steps.is_empty() {
            self.diags.push(err(
                fence_line,
                "tool blocks belong inside a step (`### N. Title` under `## Steps`)",
            ));
            return;
        }
        match toolblock::parse(&body.join("\n"), fence_line + 1) {
            Ok((tool, args)) => {
                if let Some(step) = self.steps.last_mut() {
                    step.tool_blocks.push(ToolBlock {
                        line: fence_line,
                        tool,
                        args,
                    });
                }
            }
            Err(d) => self.diags.push(d),
        }
    }
}

/// A document split at its front matter.
struct Split<'a> {
    /// The front matter's text and the line it starts on.
    front: Option<(&'a str, usize)>,
    body: &'a str,
    body_line: usize,
}

/// Splits off the front matter.
fn split_front(text: &str) -> Result<Split<'_>, Diagnostic> {
    let first = text.split('\n').next().unwrap_or("").trim_end_matches('\r');
    if first != "---" {
        return Ok(Split {
            front: None,
            body: text,
            body_line: 1,
        });
    }
    let mut offset = text.find('\n').map_or(text.len(), |i| i + 1);
    let front_start = offset;
    for (i, line) in text[front_start..].split('\n').enumerate() {
        let l = line.trim_end_matches('\r');
        if l == "---" || l == "..." {
            let front = &text[front_start..offset];
            let body_start = (offset + line.len() + 1).min(text.len());
            return Ok(Split {
                front: Some((front, 2)),
                body: &text[body_start..],
                body_line: i + 3,
            });
        }
        offset += line.len() + 1;
    }
    Err(err(
        1,
        "front matter starts with `---` but has no closing `---` line",
    ))
}

/// The front matter and its located tree (kept for line numbers in later checks).
fn parse_front(
    front: &str,
    first_line: usize,
    diags: &mut Vec<Diagnostic>,
) -> (FrontMatter, Option<sopilot_yaml::Node>) {
    if front.trim().is_empty() {
        return (FrontMatter::default(), None);
    }
    let node = match sopilot_yaml::parse(front) {
        Ok(n) => n,
        Err(e) => {
            diags.push(err(
                first_line + e.line - 1,
                format!("front matter is not valid YAML: {}", e.message),
            ));
            return (FrontMatter::default(), None);
        }
    };
    if !node.is_map() {
        diags.push(err(
            first_line,
            "front matter must be a YAML mapping (name:, triggers:, tools:, ...)",
        ));
        return (FrontMatter::default(), None);
    }
    match sopilot_yaml::from_node::<FrontMatter>(&node) {
        Ok(f) => (f, Some(node)),
        Err(e) => {
            diags.push(err(
                first_line + e.line - 1,
                format!("front matter: {}", e.message),
            ));
            (FrontMatter::default(), None)
        }
    }
}

/// Parses an SOP. `name_hint` (the file name without `.sop.md`) names it when the front
/// matter does not. Never fails and never panics: problems are diagnostics.
pub fn parse(name_hint: &str, text: &str) -> (Sop, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let Split {
        front,
        body,
        body_line,
    } = split_front(text).unwrap_or_else(|d| {
        diags.push(d);
        Split {
            front: None,
            body: text,
            body_line: 1,
        }
    });
    let (front, front_node) = match front {
        Some((f, line)) => parse_front(f, line, &mut diags),
        None => (FrontMatter::default(), None),
    };
    let mut p = Parser {
        diags,
        title: None,
        overview: Vec::new(),
        parameters: Vec::new(),
        parameter_constraints: Vec::new(),
        steps: Vec::new(),
        sections: Vec::new(),
        section: Section::Preamble,
        mode: ListMode::None,
        last_item: None,
        tool_fence: None,
        open_fence: None,
    };
    for line in scan(body, body_line) {
        match &line.kind {
            LineKind::Heading { level, text } => p.heading(line.no, *level, text),
            LineKind::Text => p.text_line(&line),
            LineKind::FenceOpen { info } => p.fence_open(line.no, info),
            LineKind::FenceBody => {
                if let Some((_, body)) = &mut p.tool_fence {
                    body.push(line.text.to_owned());
                }
            }
            LineKind::FenceClose => p.fence_close(),
        }
    }
    if let Some(no) = p.open_fence {
        p.diags.push(err(
            no,
            "code fence is never closed; everything after it is code",
        ));
    }
    let name = front.name.clone().unwrap_or_else(|| name_hint.to_owned());
    let sop = Sop {
        name,
        title: p.title.as_ref().map(|(t, _)| t.clone()).unwrap_or_default(),
        front,
        overview: p.overview.join("\n").trim().to_owned(),
        parameters: p.parameters,
        parameter_constraints: p.parameter_constraints,
        steps: p.steps,
        sections: p.sections,
        body: body.to_owned(),
        body_line,
    };
    let mut diags = p.diags;
    lint::check_sop(&sop, p.title.map(|(_, l)| l), &mut diags);
    if let Some(node) = &front_node {
        // The front matter always starts on line 2, after the opening `---`.
        lint::check_front(&sop, node, 2, &mut diags);
    }
    diags.sort_by_key(|d| (d.line, d.severity == Severity::Warning));
    (sop, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_headings() {
        assert_eq!(
            step_heading("1. Assess the pod (phase: assess)"),
            (Some(1), "Assess the pod".into(), Some("assess".into()))
        );
        assert_eq!(
            step_heading("12. Report"),
            (Some(12), "Report".into(), None)
        );
        assert_eq!(step_heading("Report"), (None, "Report".into(), None));
    }

    #[test]
    fn front_matter_split() {
        let s = split_front("---\nname: x\n---\n# T\n").unwrap();
        assert_eq!(s.front, Some(("name: x\n", 2)));
        assert_eq!((s.body, s.body_line), ("# T\n", 4));
        assert!(split_front("---\nname: x\n# T\n").is_err());
        let s = split_front("# T\n---\n").unwrap();
        assert_eq!((s.front, s.body, s.body_line), (None, "# T\n---\n", 1));
    }
}
