//! A run's timeline as the console shows it, built from its events alone (so it is the same
//! while the run is going and after): phases, model turns, notes, and each tool call with
//! its impact, decision, approval and result gathered in one place.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sopilot_protocol::{RunEvent, RunEventKind};

/// One tool call, from proposal to result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Call {
    pub call_id: String,
    pub tool: String,
    pub args: Value,
    pub origin: String,
    pub at: Option<DateTime<Utc>>,
    pub impact: Option<Value>,
    pub decision: Option<String>,
    pub rules: Vec<String>,
    pub reason: String,
    pub approval_id: Option<String>,
    /// The approval's state, who decided and through which channel, and when.
    pub resolved: Option<(String, Option<String>, String, DateTime<Utc>)>,
    pub finished: Option<Finished>,
    /// The evidence number its result was cited by (`[E3]`).
    pub evidence: Option<usize>,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub executed: bool,
    pub ok: bool,
    pub bytes: u64,
    pub ms: u64,
    pub error: Option<String>,
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Started {
        at: DateTime<Utc>,
        sop: String,
    },
    Step {
        at: DateTime<Utc>,
        step: u32,
        title: String,
        phase: Option<String>,
    },
    Turn {
        at: DateTime<Utc>,
        turn: u32,
        input: u64,
        output: u64,
    },
    Note {
        at: DateTime<Utc>,
        message: String,
    },
    /// The index of a call in [`Timeline::calls`].
    Call(usize),
    Finished {
        at: DateTime<Utc>,
        status: String,
        summary: String,
    },
}

/// The timeline of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    pub items: Vec<Item>,
    pub calls: Vec<Call>,
}

fn text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Timeline {
    fn call(&mut self, id: &str) -> &mut Call {
        let i = match self.calls.iter().position(|c| c.call_id == id) {
            Some(i) => i,
            None => {
                // An event of a call whose proposal is not in the timeline (a resumed call).
                self.calls.push(Call {
                    call_id: id.to_owned(),
                    ..Call::default()
                });
                self.items.push(Item::Call(self.calls.len() - 1));
                self.calls.len() - 1
            }
        };
        &mut self.calls[i]
    }

    fn by_approval(&mut self, approval_id: &str) -> Option<&mut Call> {
        self.calls
            .iter_mut()
            .find(|c| c.approval_id.as_deref() == Some(approval_id))
    }

    /// The timeline of `events`, in order.
    pub fn build(events: &[RunEvent]) -> Timeline {
        let mut t = Timeline::default();
        for e in events {
            let at = e.at;
            match &e.kind {
                RunEventKind::RunStarted { sop, .. } => t.items.push(Item::Started {
                    at,
                    sop: sop.clone(),
                }),
                RunEventKind::StepStarted { step, title, phase } => t.items.push(Item::Step {
                    at,
                    step: *step,
                    title: title.clone(),
                    phase: phase.clone(),
                }),
                RunEventKind::ToolCallProposed {
                    call_id,
                    tool,
                    args,
                    origin,
                } => {
                    let c = t.call(call_id);
                    c.tool = tool.to_string();
                    c.args = args.clone();
                    c.origin = text(origin);
                    c.at = Some(at);
                }
                RunEventKind::ImpactAssessed { call_id, impact } => {
                    t.call(call_id).impact = serde_json::to_value(impact).ok();
                }
                RunEventKind::PolicyDecided {
                    call_id,
                    decision,
                    rules,
                    reason,
                } => {
                    let c = t.call(call_id);
                    c.decision = Some(decision.as_str().to_owned());
                    c.rules = rules.clone();
                    c.reason = reason.clone();
                }
                RunEventKind::ApprovalRequested {
                    call_id,
                    approval_id,
                } => t.call(call_id).approval_id = Some(approval_id.clone()),
                RunEventKind::ApprovalResolved {
                    approval_id,
                    state,
                    by,
                    channel,
                } => {
                    if let Some(c) = t.by_approval(approval_id) {
                        c.resolved = Some((text(state), by.clone(), channel.clone(), at));
                    }
                }
                RunEventKind::ToolCallFinished {
                    call_id,
                    executed,
                    ok,
                    result_bytes,
                    duration_ms,
                    error,
                } => {
                    let c = t.call(call_id);
                    c.finished = Some(Finished {
                        executed: *executed,
                        ok: *ok,
                        bytes: *result_bytes,
                        ms: *duration_ms,
                        error: error.clone(),
                    });
                }
                RunEventKind::ModelTurn {
                    turn,
                    input_tokens,
                    output_tokens,
                } => t.items.push(Item::Turn {
                    at,
                    turn: *turn,
                    input: *input_tokens,
                    output: *output_tokens,
                }),
                RunEventKind::Note { message } => t.items.push(Item::Note {
                    at,
                    message: message.clone(),
                }),
                RunEventKind::RunFinished {
                    status, summary, ..
                } => t.items.push(Item::Finished {
                    at,
                    status: text(status),
                    summary: summary.clone(),
                }),
            }
        }
        // Evidence is numbered as the run loop numbers it: the calls with a result, in the
        // order they were proposed.
        let mut n = 0;
        for c in t.calls.iter_mut().filter(|c| c.finished.is_some()) {
            n += 1;
            c.evidence = Some(n);
        }
        t
    }
}

/// One changed value of an impact: where it is, before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// The before/after pairs of an impact, wherever they are: `{x_before, x_after}` fields of
/// one object, or an object `{before, after}`.
pub fn changes(impact: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk(impact, "", &mut out);
    out
}

fn walk(v: &Value, path: &str, out: &mut Vec<Change>) {
    let Value::Object(m) = v else {
        return;
    };
    if let (Some(b), Some(a)) = (m.get("before"), m.get("after")) {
        out.push(Change {
            field: if path.is_empty() {
                "value".into()
            } else {
                path.to_owned()
            },
            before: b.clone(),
            after: a.clone(),
        });
    }
    for (k, val) in m {
        if let Some(stem) = k.strip_suffix("_before")
            && let Some(after) = m.get(&format!("{stem}_after"))
        {
            out.push(Change {
                field: join(path, stem),
                before: val.clone(),
                after: after.clone(),
            });
        } else if k != "before" && k != "after" {
            walk(val, &join(path, k), out);
        }
    }
}

fn join(path: &str, k: &str) -> String {
    if path.is_empty() {
        k.to_owned()
    } else {
        format!("{path}.{k}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;
    use sopilot_protocol::{ApprovalState, CallOrigin, Decision, RunEventKind};

    fn ev(seq: u64, kind: RunEventKind) -> RunEvent {
        RunEvent {
            run_id: "r".into(),
            seq,
            at: DateTime::parse_from_rfc3339("2026-12-07T06:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            kind,
        }
    }

    #[test]
    fn a_call_gathers_its_decision_approval_and_result() {
        let events = vec![
            ev(
                1,
                RunEventKind::StepStarted {
                    step: 1,
                    title: "Assess".into(),
                    phase: Some("assess".into()),
                },
            ),
            ev(
                2,
                RunEventKind::ToolCallProposed {
                    call_id: "c1".into(),
                    tool: "kubectl.get_pods".parse().unwrap(),
                    args: json!({}),
                    origin: CallOrigin::Model,
                },
            ),
            ev(
                3,
                RunEventKind::ToolCallFinished {
                    call_id: "c1".into(),
                    executed: true,
                    ok: true,
                    result_bytes: 10,
                    duration_ms: 3,
                    error: None,
                },
            ),
            ev(
                4,
                RunEventKind::ToolCallProposed {
                    call_id: "c2".into(),
                    tool: "kubectl.patch_hpa".parse().unwrap(),
                    args: json!({"max_replicas": 20}),
                    origin: CallOrigin::Model,
                },
            ),
            ev(
                5,
                RunEventKind::PolicyDecided {
                    call_id: "c2".into(),
                    decision: Decision::Escalate,
                    rules: vec!["hpa-beyond-50-percent".into()],
                    reason: "big".into(),
                },
            ),
            ev(
                6,
                RunEventKind::ApprovalRequested {
                    call_id: "c2".into(),
                    approval_id: "apr-1".into(),
                },
            ),
            ev(
                7,
                RunEventKind::ApprovalResolved {
                    approval_id: "apr-1".into(),
                    state: ApprovalState::Approved,
                    by: Some("console:oncall".into()),
                    channel: "console".into(),
                },
            ),
            ev(
                8,
                RunEventKind::ToolCallFinished {
                    call_id: "c2".into(),
                    executed: true,
                    ok: true,
                    result_bytes: 5,
                    duration_ms: 9,
                    error: None,
                },
            ),
        ];
        let t = Timeline::build(&events);
        assert_eq!(t.calls.len(), 2);
        assert_eq!(t.items.len(), 3, "{:?}", t.items);
        let c2 = &t.calls[1];
        assert_eq!(c2.decision.as_deref(), Some("escalate"));
        assert_eq!(c2.evidence, Some(2));
        let (state, by, channel, _) = c2.resolved.clone().unwrap();
        assert_eq!(
            (state.as_str(), by.as_deref(), channel.as_str()),
            ("approved", Some("console:oncall"), "console")
        );
        assert!(c2.finished.as_ref().unwrap().executed);
    }

    #[test]
    fn impact_changes_are_found_where_they_are() {
        let c = changes(
            &json!({"action": "patch_hpa", "hpa": {"max_before": 10, "max_after": 20, "min_before": 2, "min_after": 2}, "image": {"before": "v2", "after": "v1"}}),
        );
        let fields: Vec<&str> = c.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["hpa.max", "hpa.min", "image"]);
        assert_eq!(c[0].after, json!(20));
    }
}
