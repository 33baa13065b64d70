//! Stage 1, start: render the SOP, record the run, and prepare what the model is given.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use serde_json::Value;
use sopilot_llm::Message;
use sopilot_protocol::{RunEventKind, ToolRef, Trigger};

use super::state::{Run, State};
use super::{RULES, RunError, RunInput, Runner, effective_budgets, new_run_id, offered_tools};
use crate::events::EventLog;
use crate::gate::{CallScope, DoneBefore};

impl Runner {
    /// The target the run is bound to: the one it was started for, else the one its
    /// trigger routes to; `None` without configured targets or a route.
    fn run_target(&self, input: &RunInput) -> Result<Option<String>, RunError> {
        let targets = &self.gate.targets;
        match &input.target {
            Some(name) if targets.configured() && targets.get(name).is_some() => {
                Ok(Some(name.clone()))
            }
            Some(name) => Err(RunError::UnknownTarget {
                name: name.clone(),
                known: targets.names().into_iter().map(str::to_owned).collect(),
            }),
            None if targets.configured() => Ok(input
                .trigger
                .as_ref()
                .and_then(|t| targets.route(t))
                .map(|t| t.name.clone())),
            None => Ok(None),
        }
    }

    /// The changes the run `input` carries on executed, from its audit.
    fn done_before(&self, input: &RunInput) -> Result<Vec<DoneBefore>, RunError> {
        let Some(first) = &input.carries_on else {
            return Ok(Vec::new());
        };
        let (_, _, calls) = self.store.run(first)?;
        let catalog = self.gate.gateway.clone();
        let mutating = |tool: &str| {
            crate::gate::resolve_name(tool)
                .and_then(|t| catalog.tool(&t).map(crate::gateway::ToolInfo::mutating))
                .unwrap_or(true)
        };
        Ok(DoneBefore::from_audit(first, &calls, mutating))
    }

    /// What the model is told about targets.
    fn target_note(&self, bound: Option<&str>) -> String {
        let targets = &self.gate.targets;
        if !targets.configured() {
            return String::new();
        }
        match bound.and_then(|b| targets.get(b)) {
            Some(p) => format!(
                " Target: {} (labels {}): every call acts there; you need not name it.",
                p.target.name,
                serde_json::to_string(&p.target.labels).unwrap_or_default()
            ),
            None => {
                let names: Vec<&str> = targets
                    .places()
                    .iter()
                    .map(|p| p.target.name.as_str())
                    .collect();
                format!(
                    " Targets: {}. This run is bound to none: name the target in each call's `target` argument.",
                    names.join(", ")
                )
            }
        }
    }

    /// Renders the SOP with its parameters and trigger, records the run and its start, and
    /// assembles the system prompt and the tools offered.
    pub(crate) fn start(&self, input: &RunInput) -> Result<Run, RunError> {
        let rendered = sopilot_sop::render(&input.sop, &input.params, input.trigger.as_ref())?;
        let target = self.run_target(input)?;
        let done_before = self.done_before(input)?;
        let run_id = input.run_id.clone().unwrap_or_else(new_run_id);
        tracing::Span::current().record("sopilot.run_id", run_id.as_str());
        let model_name = self
            .model
            .as_ref()
            .map_or_else(|| "none".to_owned(), |m| m.name());
        let trigger = input
            .trigger
            .clone()
            .unwrap_or(Trigger::Manual { by: None });
        let params_json: serde_json::Map<String, Value> = rendered
            .params
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        self.store.create_run(
            &run_id,
            &input.sop.name,
            &serde_json::to_value(&trigger).unwrap_or_default(),
            &Value::Object(params_json.clone()),
            &model_name,
        )?;
        let log = EventLog::new(&run_id, self.store.clone(), self.observer.clone());
        log.emit(RunEventKind::RunStarted {
            sop: input.sop.name.clone(),
            trigger: trigger.clone(),
            params: params_json,
            target: target.clone(),
        })?;
        let tools = offered_tools(&self.gate, &input.sop, &self.gate.policy);
        let offered: BTreeSet<ToolRef> = tools
            .iter()
            .filter_map(|t| ToolRef::from_model_name(&t.name).ok())
            .collect();
        let system = format!(
            "{RULES}\n\nRun {run_id}. SOP {name}. Parameters: {params}. Trigger: {trig}.{place}{carried}\n\n--- SOP ---\n{md}",
            place = self.target_note(target.as_deref()),
            carried = carried_note(input.carries_on.as_deref(), &done_before),
            name = input.sop.name,
            params = serde_json::to_string(&rendered.params).unwrap_or_default(),
            trig = serde_json::to_string(&trigger).unwrap_or_default(),
            md = rendered.markdown
        );
        let phase_deadlines: BTreeMap<String, u64> = input
            .sop
            .front
            .phases
            .iter()
            .filter_map(|p| Some((p.name.clone(), p.deadline?.seconds())))
            .collect();
        Ok(Run {
            messages: vec![Message::User {
                content: format!("Start the SOP {}.", input.sop.name),
            }],
            st: State {
                log,
                scope: CallScope {
                    sop: Some(input.sop.name.clone()),
                    trigger: input.trigger.clone(),
                    dry_run: input.dry_run,
                    offered,
                    target: target.clone(),
                    done_before,
                },
                started: Instant::now(),
                evidence: Vec::new(),
                calls: Vec::new(),
                usage: Default::default(),
                turns: 0,
                run_bytes: 0,
                bytes_by_tool: BTreeMap::new(),
                repeats: HashMap::new(),
                stopped_by: None,
                notes: Vec::new(),
            },
            budgets: effective_budgets(input),
            run_id,
            model_name,
            rendered,
            tools,
            system,
            phase_deadlines,
        })
    }
}

/// What the model is told about the run this one carries on.
fn carried_note(first: Option<&str>, done: &[DoneBefore]) -> String {
    let Some(first) = first else {
        return String::new();
    };
    let list: Vec<String> = done
        .iter()
        .map(|d| {
            format!(
                "{} on {}",
                d.tool,
                d.key.as_deref().unwrap_or("(its arguments)")
            )
        })
        .collect();
    format!(
        " This run carries on run {first}, whose replica stopped mid-run. It already executed: {}. Never repeat those changes; check their effect and go on from there.",
        if list.is_empty() {
            "no change".to_owned()
        } else {
            list.join("; ")
        }
    )
}
