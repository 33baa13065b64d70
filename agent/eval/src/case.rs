//! A graded case (`docs/eval.md`): the folder `eval/cases/NAME/` with `case.yaml` (the
//! trigger, the SOP, the human, the expectations), `scenario.yaml` (the simulated world),
//! `reference.yaml` and `wrong.yaml` (scripted models). Parsing is strict: unknown keys,
//! unknown cause classes, malformed tools, objects, pointers and triggers are errors naming
//! the file and the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};
use sopilot_protocol::{CauseClass, ToolRef, Trigger};
use sopilot_yaml::{Node, Seg};

/// The file of a case that describes it.
pub const CASE_FILE: &str = "case.yaml";
/// The simulated environment of a case.
pub const SCENARIO_FILE: &str = "scenario.yaml";
/// The scripted model that takes the right path.
pub const REFERENCE_FILE: &str = "reference.yaml";
/// The scripted model that takes a plausible wrong path.
pub const WRONG_FILE: &str = "wrong.yaml";

/// A case, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The folder's name.
    pub name: String,
    pub dir: PathBuf,
    pub class: CauseClass,
    pub description: String,
    pub tags: Vec<String>,
    /// How production would start it.
    pub start: Start,
    /// The SOP to run instead of the router's pick.
    pub sop: Option<String>,
    /// Parameters over the trigger's.
    pub params: BTreeMap<String, String>,
    pub human: Human,
    pub expect: Expect,
    /// For `--judge` only.
    pub rubric: Option<String>,
    /// Where in `case.yaml` each part is written, for later errors (routing, lint).
    pub lines: Lines,
}

/// Lines of `case.yaml` that later checks name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lines {
    /// The `trigger:` or `ide:` key.
    pub start: usize,
    /// The `sop:` key (or `ide.sop`), when given.
    pub sop: Option<usize>,
}

/// How a case's run starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// A trigger payload, as `sopilot run --trigger` accepts it, normalised.
    Trigger(Box<Trigger>),
    /// An IDE request (`run_sop` through `sopilot mcp`).
    Ide {
        sop: String,
        params: BTreeMap<String, String>,
    },
}

/// Who answers escalations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Human {
    /// Nobody can be reached: the policy's escalations become denials.
    Unattended,
    /// A human approves every escalation.
    ApproveAll,
    /// A human denies every escalation.
    DenyAll,
    /// A human approves escalations of these tools (`SERVER.TOOL`) and denies the rest.
    Approve(Vec<String>),
}

/// What a run must show.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    /// The report's root cause: the case's class (and a phrase) unless the case says more.
    pub root_cause: RootCauseExpect,
    pub evidence: Vec<EvidenceExpect>,
    pub must: Vec<ActionExpect>,
    pub must_not: Vec<ActionExpect>,
    pub final_state: Vec<FinalState>,
    pub budgets: Budgets,
}

/// The root cause the report must state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootCauseExpect {
    pub class: CauseClass,
    /// One of these must appear in the summary (case-insensitive); empty: no phrase check.
    pub any_of: Vec<String>,
}

/// A call that must have run and be cited as `[E#]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceExpect {
    /// `SERVER.TOOL`, globs allowed.
    pub tool: String,
    /// `NAMESPACE/NAME` or `NAME` (cluster-scoped), globs allowed.
    #[serde(default)]
    pub object: Option<String>,
    /// Arguments the call must have (a subset).
    #[serde(default)]
    pub args: Map<String, Value>,
}

/// An action (`must`: executed and ok; `must_not`: executed at all).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionExpect {
    /// `SERVER.TOOL`, globs allowed.
    pub tool: String,
    #[serde(default)]
    pub args: Map<String, Value>,
}

/// An assertion on an object of the simulated cluster after the run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinalState {
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
    /// A JSON pointer into the object (`/spec/replicas`).
    #[serde(default)]
    pub pointer: Option<String>,
    /// The value at `pointer`.
    #[serde(default)]
    pub equals: Option<Value>,
    /// Whether the object (or, with `pointer`, the value) exists.
    #[serde(default)]
    pub exists: Option<bool>,
}

impl FinalState {
    /// `Deployment payment/payment-service`.
    pub fn object(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// Limits the run must stay within.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budgets {
    /// Model turns.
    #[serde(default)]
    pub turns: Option<u32>,
    /// Input plus output tokens.
    #[serde(default)]
    pub tokens: Option<u64>,
    /// Wall time.
    #[serde(default)]
    pub seconds: Option<f64>,
}

/// A case that cannot be used: its file, the line when known, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", file.display(), line.map(|l| format!(": line {l}")).unwrap_or_default())]
pub struct CaseError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl CaseError {
    /// An error at `line` of `file`.
    pub fn at(file: &Path, line: usize, message: impl Into<String>) -> CaseError {
        CaseError {
            file: file.to_owned(),
            line: Some(line),
            message: message.into(),
        }
    }

    /// An error about a whole file (missing, unreadable).
    pub fn file(file: &Path, message: impl Into<String>) -> CaseError {
        CaseError {
            file: file.to_owned(),
            line: None,
            message: message.into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    class: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    trigger: Option<Value>,
    #[serde(default)]
    ide: Option<RawIde>,
    #[serde(default)]
    sop: Option<String>,
    #[serde(default)]
    params: Map<String, Value>,
    #[serde(default)]
    human: Option<Value>,
    expect: RawExpect,
    #[serde(default)]
    rubric: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIde {
    sop: String,
    #[serde(default)]
    params: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    #[serde(default)]
    root_cause: Option<RawRootCause>,
    #[serde(default)]
    evidence: Vec<EvidenceExpect>,
    #[serde(default)]
    actions: RawActions,
    #[serde(default)]
    final_state: Vec<FinalState>,
    #[serde(default)]
    budgets: Budgets,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRootCause {
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    any_of: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActions {
    #[serde(default)]
    must: Vec<ActionExpect>,
    #[serde(default)]
    must_not: Vec<ActionExpect>,
}

/// Reads and checks the case in `dir` (its `case.yaml`).
pub fn load_case(dir: &Path) -> Result<Case, CaseError> {
    let file = dir.join(CASE_FILE);
    let text = std::fs::read_to_string(&file)
        .map_err(|e| CaseError::file(&file, format!("cannot read it: {e}")))?;
    parse_case(dir, &text)
}

/// Parses `case.yaml`'s text for the case in `dir`.
pub fn parse_case(dir: &Path, text: &str) -> Result<Case, CaseError> {
    let file = dir.join(CASE_FILE);
    let yaml = |e: sopilot_yaml::YamlError| CaseError::at(&file, e.line, e.message);
    let root = sopilot_yaml::parse(text).map_err(yaml)?;
    if !root.is_map() {
        return Err(CaseError::at(
            &file,
            root.line,
            "a case is a mapping with `class`, `trigger` (or `ide`) and `expect`; see docs/eval.md",
        ));
    }
    let raw: RawCase = sopilot_yaml::from_node(&root).map_err(yaml)?;
    Builder {
        dir,
        file: &file,
        root: &root,
    }
    .build(raw)
}

/// Path segments into `case.yaml`.
fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

struct Builder<'a> {
    dir: &'a Path,
    file: &'a Path,
    root: &'a Node,
}

impl Builder<'_> {
    /// The line of `path`: its key's line when it ends in a key that exists (the value of
    /// `trigger:` starts on the next line), else the line of the nearest existing node.
    fn line(&self, path: &[Seg]) -> usize {
        if let Some((Seg::Key(k), parent)) = path.split_last()
            && let Some((key, _)) = self.root.at(parent).and_then(|p| p.key(k))
        {
            return key.line;
        }
        self.root.nearest(path).line
    }

    fn err(&self, path: &[Seg], message: impl Into<String>) -> CaseError {
        CaseError::at(self.file, self.line(path), message)
    }

    fn build(&self, raw: RawCase) -> Result<Case, CaseError> {
        let class: CauseClass =
            raw.class
                .parse()
                .map_err(|e: sopilot_protocol::UnknownCauseClass| {
                    self.err(&[key("class")], format!("class: {e}"))
                })?;
        let (start, start_line) = self.start(raw.trigger, raw.ide.as_ref())?;
        if raw.sop.is_some() && matches!(start, Start::Ide { .. }) {
            return Err(self.err(
                &[key("sop")],
                "`sop` and `ide` both name the SOP; an IDE request names it in `ide.sop`",
            ));
        }
        let sop_line = match (&raw.sop, &raw.ide) {
            (Some(_), _) => Some(self.line(&[key("sop")])),
            (None, Some(_)) => Some(self.line(&[key("ide"), key("sop")])),
            (None, None) => None,
        };
        let params = self.params(&raw.params, &[key("params")])?;
        let human = self.human(raw.human.as_ref())?;
        let expect = self.expect(raw.expect, class)?;
        Ok(Case {
            name: self
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            dir: self.dir.to_owned(),
            class,
            description: raw.description.unwrap_or_default(),
            tags: raw.tags,
            start,
            sop: raw.sop,
            params,
            human,
            expect,
            rubric: raw.rubric.filter(|r| !r.trim().is_empty()),
            lines: Lines {
                start: start_line,
                sop: sop_line,
            },
        })
    }

    /// `trigger:` (inline, or a file next to `case.yaml`) or `ide:`, exactly one.
    fn start(
        &self,
        trigger: Option<Value>,
        ide: Option<&RawIde>,
    ) -> Result<(Start, usize), CaseError> {
        match (trigger, ide) {
            (Some(_), Some(_)) => Err(self.err(
                &[key("ide")],
                "a case has `trigger` or `ide`, not both: production starts a run one way",
            )),
            (None, None) => Err(self.err(
                &[],
                "a case needs `trigger` (an alarm, alert, event or Slack payload) or `ide: {sop, params}`",
            )),
            (Some(payload), None) => {
                let at = [key("trigger")];
                let payload = match payload {
                    Value::String(file) => self.trigger_file(&file)?,
                    v => v,
                };
                let trigger = Trigger::from_payload(&payload).map_err(|e| {
                    self.err(
                        &at,
                        format!("trigger: {e} (any payload `sopilot run --trigger` accepts)"),
                    )
                })?;
                Ok((Start::Trigger(Box::new(trigger)), self.line(&at)))
            }
            (None, Some(ide)) => {
                let params = self.params(&ide.params, &[key("ide"), key("params")])?;
                Ok((
                    Start::Ide {
                        sop: ide.sop.clone(),
                        params,
                    },
                    self.line(&[key("ide")]),
                ))
            }
        }
    }

    /// A trigger payload in a JSON or YAML file next to `case.yaml`.
    fn trigger_file(&self, name: &str) -> Result<Value, CaseError> {
        let at = [key("trigger")];
        if name.contains("..") || Path::new(name).is_absolute() {
            return Err(self.err(
                &at,
                format!("trigger: {name:?} must be a file in the case's folder"),
            ));
        }
        let path = self.dir.join(name);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| self.err(&at, format!("trigger: cannot read {}: {e}", path.display())))?;
        let node =
            sopilot_yaml::parse(&text).map_err(|e| CaseError::at(&path, e.line, e.message))?;
        Ok(node.to_json())
    }

    /// Parameters: scalars, as text.
    fn params(
        &self,
        raw: &Map<String, Value>,
        at: &[Seg],
    ) -> Result<BTreeMap<String, String>, CaseError> {
        let mut out = BTreeMap::new();
        for (k, v) in raw {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    let mut path = at.to_vec();
                    path.push(key(k));
                    return Err(self.err(
                        &path,
                        format!("parameter {k:?} must be a string, number or boolean"),
                    ));
                }
            };
            out.insert(k.clone(), text);
        }
        Ok(out)
    }

    /// `human:` `unattended` (default), `approve-all`, `deny-all` or `{approve: [TOOL...]}`.
    fn human(&self, raw: Option<&Value>) -> Result<Human, CaseError> {
        let bad = || {
            self.err(
                &[key("human")],
                "human: use unattended, approve-all, deny-all or {approve: [SERVER.TOOL, ...]}",
            )
        };
        match raw {
            None => Ok(Human::Unattended),
            Some(Value::String(s)) => match s.as_str() {
                "unattended" => Ok(Human::Unattended),
                "approve-all" => Ok(Human::ApproveAll),
                "deny-all" => Ok(Human::DenyAll),
                _ => Err(bad()),
            },
            Some(Value::Object(m)) if m.len() == 1 => {
                let Some(Value::Array(tools)) = m.get("approve") else {
                    return Err(bad());
                };
                let mut out = Vec::new();
                for (i, t) in tools.iter().enumerate() {
                    let at = [key("human"), key("approve"), Seg::Index(i)];
                    let name = t.as_str().ok_or_else(bad)?;
                    name.parse::<ToolRef>()
                        .map_err(|e| self.err(&at, format!("human.approve: {name:?}: {e}")))?;
                    out.push(name.to_owned());
                }
                Ok(Human::Approve(out))
            }
            Some(_) => Err(bad()),
        }
    }

    fn expect(&self, raw: RawExpect, class: CauseClass) -> Result<Expect, CaseError> {
        let root_cause = match raw.root_cause {
            None => RootCauseExpect {
                class,
                any_of: Vec::new(),
            },
            Some(rc) => self.root_cause(rc, class)?,
        };
        let ex = |k: &str| vec![key("expect"), key(k)];
        for (i, e) in raw.evidence.iter().enumerate() {
            let mut at = ex("evidence");
            at.push(Seg::Index(i));
            self.tool(&e.tool, &at)?;
            if let Some(o) = &e.object {
                self.object(o, &at)?;
            }
        }
        for (list, name) in [
            (&raw.actions.must, "must"),
            (&raw.actions.must_not, "must_not"),
        ] {
            for (i, a) in list.iter().enumerate() {
                let at = [key("expect"), key("actions"), key(name), Seg::Index(i)];
                self.tool(&a.tool, &at)?;
            }
        }
        for (i, f) in raw.final_state.iter().enumerate() {
            let mut at = ex("final_state");
            at.push(Seg::Index(i));
            self.final_state(f, &at)?;
        }
        self.budgets(&raw.budgets)?;
        Ok(Expect {
            root_cause,
            evidence: raw.evidence,
            must: raw.actions.must,
            must_not: raw.actions.must_not,
            final_state: raw.final_state,
            budgets: raw.budgets,
        })
    }

    fn root_cause(
        &self,
        rc: RawRootCause,
        class: CauseClass,
    ) -> Result<RootCauseExpect, CaseError> {
        let at = [key("expect"), key("root_cause"), key("class")];
        let expected = match rc.class {
            None => class,
            Some(c) => c
                .parse()
                .map_err(|e: sopilot_protocol::UnknownCauseClass| {
                    self.err(&at, format!("expect.root_cause.class: {e}"))
                })?,
        };
        if expected != class {
            return Err(self.err(
                &at,
                format!(
                    "expect.root_cause.class is {expected} but the case's class is {class}; they name the same cause (omit this one to use the case's)"
                ),
            ));
        }
        if let Some(i) = rc.any_of.iter().position(|p| p.trim().is_empty()) {
            return Err(self.err(
                &[
                    key("expect"),
                    key("root_cause"),
                    key("any_of"),
                    Seg::Index(i),
                ],
                "expect.root_cause.any_of: an empty phrase matches every summary",
            ));
        }
        Ok(RootCauseExpect {
            class: expected,
            any_of: rc.any_of,
        })
    }

    /// `SERVER.TOOL`, or a glob over such names.
    fn tool(&self, tool: &str, at: &[Seg]) -> Result<(), CaseError> {
        let mut path = at.to_vec();
        path.push(key("tool"));
        if tool.contains(['*', '?', '[']) {
            return globset::Glob::new(tool)
                .map(|_| ())
                .map_err(|e| self.err(&path, format!("tool {tool:?} is not a glob: {e}")));
        }
        tool.parse::<ToolRef>().map(|_| ()).map_err(|e| {
            self.err(
                &path,
                format!("tool {tool:?}: {e} (write SERVER.TOOL, e.g. kubectl.pod_logs)"),
            )
        })
    }

    /// `NAMESPACE/NAME` or `NAME`, globs allowed.
    fn object(&self, object: &str, at: &[Seg]) -> Result<(), CaseError> {
        let mut path = at.to_vec();
        path.push(key("object"));
        let parts: Vec<&str> = object.split('/').collect();
        let ok = parts.len() <= 2 && parts.iter().all(|p| !p.trim().is_empty());
        if !ok {
            return Err(self.err(
                &path,
                format!("object {object:?}: write NAMESPACE/NAME, or NAME for a cluster-scoped object (globs allowed)"),
            ));
        }
        for p in parts {
            globset::Glob::new(p)
                .map_err(|e| self.err(&path, format!("object {object:?}: {e}")))?;
        }
        Ok(())
    }

    fn final_state(&self, f: &FinalState, at: &[Seg]) -> Result<(), CaseError> {
        let sub = |k: &str| {
            let mut p = at.to_vec();
            p.push(key(k));
            p
        };
        if f.kind.trim().is_empty() {
            return Err(self.err(&sub("kind"), "final_state: `kind` is empty"));
        }
        if f.name.contains(['*', '?']) {
            return Err(self.err(
                &sub("name"),
                "final_state names one object: globs are not supported here",
            ));
        }
        if let Some(p) = &f.pointer
            && !p.starts_with('/')
        {
            return Err(self.err(
                &sub("pointer"),
                format!("final_state: pointer {p:?} must be a JSON pointer starting with `/`, e.g. /spec/replicas"),
            ));
        }
        match (&f.pointer, &f.equals, &f.exists) {
            (None, Some(_), _) => Err(self.err(
                &sub("equals"),
                "final_state: `equals` needs a `pointer` to the value",
            )),
            (_, Some(_), Some(_)) => Err(self.err(
                &sub("exists"),
                "final_state: give `equals` or `exists`, not both",
            )),
            (_, None, None) => Err(self.err(
                at,
                "final_state: say what must hold: `exists: true|false`, or `pointer` and `equals`",
            )),
            _ => Ok(()),
        }
    }

    fn budgets(&self, b: &Budgets) -> Result<(), CaseError> {
        let at = |k: &str| [key("expect"), key("budgets"), key(k)];
        if b.turns == Some(0) {
            return Err(self.err(&at("turns"), "budgets.turns must be at least 1"));
        }
        if b.tokens == Some(0) {
            return Err(self.err(&at("tokens"), "budgets.tokens must be at least 1"));
        }
        if b.seconds.is_some_and(|s| s.is_nan() || s <= 0.0) {
            return Err(self.err(&at("seconds"), "budgets.seconds must be above 0"));
        }
        Ok(())
    }
}

/// The case folders under `root` (each holding a `case.yaml`), sorted by name. Hidden
/// folders are skipped; a folder without `case.yaml` is an error.
pub fn case_dirs(root: &Path) -> Result<Vec<PathBuf>, CaseError> {
    let entries = std::fs::read_dir(root)
        .map_err(|e| CaseError::file(root, format!("cannot read the cases folder: {e}")))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    dirs.sort();
    if let Some(d) = dirs.iter().find(|d| !d.join(CASE_FILE).is_file()) {
        return Err(CaseError::file(
            d,
            format!("a case folder needs a {CASE_FILE} (docs/eval.md)"),
        ));
    }
    Ok(dirs)
}

/// Every case under `root`, or `only` those named; every problem found, not just the first.
pub fn load_cases(root: &Path, only: &[String]) -> Result<Vec<Case>, Vec<CaseError>> {
    let dirs = case_dirs(root).map_err(|e| vec![e])?;
    let names: Vec<String> = dirs
        .iter()
        .filter_map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let mut errors: Vec<CaseError> = only
        .iter()
        .filter(|n| !names.contains(n))
        .map(|n| {
            CaseError::file(
                &root.join(n),
                format!("no case {n:?}; cases here: {}", names.join(", ")),
            )
        })
        .collect();
    let mut cases = Vec::new();
    for (dir, name) in dirs.iter().zip(&names) {
        if !only.is_empty() && !only.contains(name) {
            continue;
        }
        match load_case(dir) {
            Ok(c) => cases.push(c),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors)
    }
}
