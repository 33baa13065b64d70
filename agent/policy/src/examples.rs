//! Checking each rule's examples when the policy loads, like unit tests of the rule.
//!
//! An example says what production will do: a `match` example must count as matching
//! (including fail-closed matching of deny and escalate rules), a `not_match` example must
//! not.

use serde_json::Value;
use sopilot_protocol::{CallOrigin, History, Impact, Resource, Target, ToolRef, Trigger};
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
    resource: Option<Resource>,
    history: History,
    trigger: Option<Trigger>,
    run: RunInfo,
    annotations: Option<ToolAnnotations>,
    trust: ServerTrust,
    target: Option<Target>,
}

impl OwnedRequest {
    fn request(&self) -> Request<'_> {
        Request {
            tool: &self.tool,
            args: &self.args,
            impact: self.impact.as_ref(),
            resource: self.resource.as_ref(),
            history: Some(&self.history),
            trigger: self.trigger.as_ref(),
            run: &self.run,
            annotations: self.annotations.as_ref(),
            trust: self.trust,
            target: self.target.as_ref(),
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

/// The example's history: its `history` mapping over the fresh history of its impact.
fn history(impact: Option<&Impact>, given: Option<&Value>) -> Result<History, String> {
    let fresh = History::fresh(impact, sopilot_protocol::DEFAULT_HISTORY_WINDOW_MINUTES);
    let Some(given) = given else {
        return Ok(fresh);
    };
    let Value::Object(over) = given else {
        return Err("example history must be a mapping like {rollbacks: 1}".into());
    };
    let mut merged = serde_json::to_value(&fresh).map_err(|e| e.to_string())?;
    if let Value::Object(m) = &mut merged {
        for (k, v) in over {
            if !m.contains_key(k) {
                return Err(format!(
                    "example history has no field {k:?}; known: {}",
                    m.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            m.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(merged).map_err(|e| format!("example history: {e}"))
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
    let resource = ex
        .resource
        .clone()
        .map(serde_json::from_value::<Resource>)
        .transpose()
        .map_err(|e| {
            format!("example resource must be {{group, version, kind, plural, namespaced}}: {e}")
        })?;
    let history = history(impact.as_ref(), ex.history.as_ref())?;
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
        resource,
        history,
        trigger,
        run,
        annotations: ex.annotations.as_ref().map(annotations).transpose()?,
        target: ex
            .target
            .clone()
            .map(serde_json::from_value::<Target>)
            .transpose()
            .map_err(|e| format!("example target must be {{name, labels}}: {e}"))?,
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
            if matches && expected {
                failures.extend(missing_fact_problems(policy, rule, &owned).map(fail));
            }
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

/// The fail-closed lint: for a `match` example, each impact fact the rule's `when` names is
/// taken away in turn. A deny or escalate rule must still match without it (a missing fact
/// never relaxes a decision); an allow rule must no longer match (a missing fact never
/// allows). Returns one message per fact that breaks this.
fn missing_fact_problems(
    policy: &Policy,
    rule: usize,
    owned: &OwnedRequest,
) -> impl Iterator<Item = String> {
    let r = &policy.rules[rule];
    let when = r.when.clone().unwrap_or_default();
    let impact = owned
        .impact
        .as_ref()
        .and_then(|i| serde_json::to_value(i).ok())
        .unwrap_or(Value::Null);
    let mut problems = Vec::new();
    for path in fact_paths(&impact, "") {
        if !mentions(&when, &format!("impact.{path}")) {
            continue;
        }
        let mut without = impact.clone();
        remove_path(&mut without, &path);
        let Ok(stripped) = serde_json::from_value::<Impact>(without) else {
            continue;
        };
        let req = Request {
            impact: Some(&stripped),
            ..owned.request()
        };
        let still = policy
            .outcome(rule, &context(&req))
            .counts_as_match(r.decision);
        let problem = match (r.decision, still) {
            (sopilot_protocol::Decision::Allow, true) => Some(format!(
                "the rule still allows when impact.{path} is missing; a missing fact must never allow: read impact.{path} without an `is not defined or` escape"
            )),
            (sopilot_protocol::Decision::Deny | sopilot_protocol::Decision::Escalate, false) => {
                Some(format!(
                    "without impact.{path} the rule no longer matches, so a missing fact would relax the decision; drop the `impact.{path} is defined and` guard (an undefined value already fails closed) or write `impact.{path} is not defined or …`"
                ))
            }
            _ => None,
        };
        problems.extend(problem);
    }
    problems.into_iter()
}

/// Every path to an object member of `v` (`pdb`, `pdb.allows`, `node.conditions`...).
fn fact_paths(v: &Value, prefix: &str) -> Vec<String> {
    let Value::Object(m) = v else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, child) in m {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        out.extend(fact_paths(child, &path));
        out.push(path);
    }
    out
}

/// Whether `text` names `path` as a whole (not `impact.pod` inside `impact.pods`).
fn mentions(text: &str, path: &str) -> bool {
    text.match_indices(path).any(|(i, _)| {
        text[i + path.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
    })
}

fn remove_path(v: &mut Value, path: &str) {
    let (parent, last) = match path.rsplit_once('.') {
        Some((p, l)) => (Some(p), l),
        None => (None, path),
    };
    let target = match parent {
        Some(p) => p.split('.').try_fold(v, |cur, k| cur.get_mut(k)),
        None => Some(v),
    };
    if let Some(Value::Object(m)) = target {
        m.remove(last);
    }
}
