//! Checking each rule's examples when the policy loads, like unit tests of the rule.
//!
//! An example says what production will do: a `match` example must count as matching
//! (including fail-closed matching of deny and escalate rules), a `not_match` example must
//! not.

use serde_json::Value;
use sopilot_protocol::{CallOrigin, Impact, ToolRef, Trigger};
use sopilot_yaml::{Node, Seg};

use crate::error::Problem;
use crate::file::ExampleSpec;
use crate::policy::{Outcome, Policy, context};
use crate::request::{Request, RunInfo, ServerTrust, ToolAnnotations};

/// Everything a [`Request`] borrows, owned.
struct OwnedRequest {
    tool: ToolRef,
    args: Value,
    impact: Option<Impact>,
    trigger: Option<Trigger>,
    run: RunInfo,
    annotations: Option<ToolAnnotations>,
    trust: ServerTrust,
}

impl OwnedRequest {
    fn request(&self) -> Request<'_> {
        Request {
            tool: &self.tool,
            args: &self.args,
            impact: self.impact.as_ref(),
            trigger: self.trigger.as_ref(),
            run: &self.run,
            annotations: self.annotations.as_ref(),
            trust: self.trust,
        }
    }
}

fn parse_origin(s: &str) -> Result<CallOrigin, String> {
    serde_json::from_value(Value::String(s.to_owned()))
        .map_err(|_| format!("unknown run.origin {s:?}; use model, tool_block, ide or api"))
}

fn annotations(v: &Value) -> Result<ToolAnnotations, String> {
    let flag = |k: &str| v.get(k).and_then(Value::as_bool);
    if !v.is_object() {
        return Err("annotations must be a mapping like {read_only: true}".into());
    }
    Ok(ToolAnnotations {
        read_only: flag("read_only"),
        destructive: flag("destructive"),
        idempotent: flag("idempotent"),
        open_world: flag("open_world"),
    })
}

/// Turns an example into a request, or says what is wrong with it.
fn build(policy: &Policy, rule: usize, ex: &ExampleSpec) -> Result<OwnedRequest, String> {
    let r = &policy.rules[rule];
    let tool_name = match &ex.tool {
        Some(t) => t.clone(),
        None => match r.tools.as_slice() {
            [only] if !only.contains(['*', '?', '[', '{']) => only.clone(),
            _ => {
                return Err(
                    "example needs `tool:` because the rule's tools are not a single literal name"
                        .into(),
                );
            }
        },
    };
    let tool: ToolRef = tool_name
        .parse()
        .map_err(|e| format!("example tool: {e}"))?;
    let args = ex
        .args
        .clone()
        .unwrap_or_else(|| Value::Object(Default::default()));
    if !args.is_object() {
        return Err("example args must be a mapping".into());
    }
    let impact = ex
        .impact
        .clone()
        .map(serde_json::from_value::<Impact>)
        .transpose()
        .map_err(|e| format!("example impact does not fit the Impact format: {e}"))?;
    let trigger = ex
        .trigger
        .as_ref()
        .map(Trigger::from_payload)
        .transpose()
        .map_err(|e| format!("example trigger: {e}"))?;
    let run = match &ex.run {
        Some(run) => RunInfo {
            unattended: run.unattended,
            dry_run: run.dry_run,
            origin: run
                .origin
                .as_deref()
                .map(parse_origin)
                .transpose()?
                .unwrap_or(CallOrigin::Model),
            sop: run.sop.clone(),
        },
        None => RunInfo::default(),
    };
    Ok(OwnedRequest {
        tool,
        args,
        impact,
        trigger,
        run,
        annotations: ex.annotations.as_ref().map(annotations).transpose()?,
        trust: if ex.builtin_server.unwrap_or(true) {
            ServerTrust::Builtin
        } else {
            ServerTrust::Foreign
        },
    })
}

/// Checks one rule's examples; returns how many were checked and the failures.
pub(crate) fn check_examples(
    policy: &Policy,
    rule: usize,
    doc: &Node,
    index: usize,
    must: &[ExampleSpec],
    not: &[ExampleSpec],
) -> (usize, Vec<Problem>) {
    let r = &policy.rules[rule];
    let mut failures = Vec::new();
    let groups = [("match", must, true), ("not_match", not, false)];
    for (key, examples, expected) in groups {
        for (j, ex) in examples.iter().enumerate() {
            let path = [
                Seg::Key("rules".into()),
                Seg::Index(index),
                Seg::Key("examples".into()),
                Seg::Key(key.into()),
                Seg::Index(j),
            ];
            let line = Some(doc.nearest(&path).line);
            let fail = |message: String| Problem {
                file: r.file.clone(),
                line,
                rule: Some(r.name.clone()),
                message: format!("{key} example {}: {message}", j + 1),
            };
            let owned = match build(policy, rule, ex) {
                Ok(o) => o,
                Err(msg) => {
                    failures.push(fail(msg));
                    continue;
                }
            };
            let req = owned.request();
            let tool = req.tool.to_string();
            let covered = policy.covers(rule, &tool);
            let outcome = if covered {
                policy.outcome(rule, &context(&req))
            } else {
                Outcome::NoMatch
            };
            let matches = covered && outcome.counts_as_match(r.decision);
            if matches != expected {
                let why = match (&outcome, covered) {
                    (_, false) => format!("the rule's tools {:?} do not cover {tool}", r.tools),
                    (Outcome::Error(e), true) => format!("`when` failed to evaluate: {e}"),
                    (Outcome::Match, true) => "`when` is true".to_owned(),
                    (Outcome::NoMatch, true) => "`when` is false".to_owned(),
                };
                let verb = if expected {
                    "should match but does not"
                } else {
                    "should not match but does"
                };
                failures.push(fail(format!("{verb}: {why}")));
            }
        }
    }
    (must.len() + not.len(), failures)
}
