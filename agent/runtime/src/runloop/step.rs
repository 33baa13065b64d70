//! Stages 2 and 3 of every step: the SOP's tool blocks (in parallel, before the model is
//! asked anything), then the model's turns through the gate until it reports the step done
//! or a budget stops it.

use std::time::Duration;

use sopilot_llm::{Message, ModelRequest};
use sopilot_protocol::{CallOrigin, RunEventKind};
use sopilot_sop::RenderedStep;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::state::Run;
use super::{Flow, RunError, Runner, StopReason};
use crate::approval::canonical;

/// The step's phase deadline, from the run's start.
fn phase_deadline(run: &Run, step: &RenderedStep) -> Option<Duration> {
    step.phase
        .as_ref()
        .and_then(|p| run.phase_deadlines.get(p))
        .map(|s| Duration::from_secs(*s))
}

impl Runner {
    /// Runs the step's tool blocks in parallel and hands their evidence to the model.
    pub(crate) async fn tool_blocks(
        &self,
        run: &mut Run,
        step: &RenderedStep,
        cancel: &CancellationToken,
    ) -> Result<Flow, RunError> {
        run.st.log.emit(RunEventKind::StepStarted {
            step: step.number,
            title: step.title.clone(),
            phase: step.phase.clone(),
        })?;
        let deadline = phase_deadline(run, step);
        let mut turn_budget = run.budgets.output_bytes_per_turn;
        let calls = step.calls.iter().enumerate().map(|(i, c)| {
            let gate = self.gate.clone();
            let log = run.st.log.clone();
            let scope = run.st.scope.clone();
            let call_id = format!("s{}b{}", step.number, i + 1);
            let tool = c.tool.to_string();
            let args = c.args.clone();
            async move {
                gate.handle(&log, &scope, &call_id, &tool, args, CallOrigin::ToolBlock)
                    .await
            }
        });
        let outcomes = tokio::select! {
            r = futures::future::join_all(calls) => r,
            () = cancel.cancelled() => return Ok(Err(StopReason::Cancelled)),
        };
        let mut evidence_text = Vec::new();
        for o in outcomes {
            let o = o?;
            evidence_text.push(run.st.evidence(&o, &mut turn_budget, &run.budgets));
        }
        let mut intro = format!("Step {}: {}", step.number, step.title);
        if let Some(p) = &step.phase {
            intro.push_str(&format!(
                " (phase {p}{})",
                deadline
                    .map(|d| format!(", due {} s after the start", d.as_secs()))
                    .unwrap_or_default()
            ));
        }
        if !evidence_text.is_empty() {
            intro.push_str(".\nEvidence from the SOP's tool blocks:\n");
            intro.push_str(&evidence_text.join("\n\n"));
        }
        run.messages.push(Message::User {
            content: format!("{intro}\nDo this step now."),
        });
        Ok(Ok(()))
    }

    /// The model works the step: each turn's tool calls go through the gate, until it
    /// answers without calls, the phase's deadline passes or a budget stops the run.
    pub(crate) async fn model_turns(
        &self,
        run: &mut Run,
        step: &RenderedStep,
        cancel: &CancellationToken,
    ) -> Result<Flow, RunError> {
        let Some(model) = &self.model else {
            return Ok(Ok(()));
        };
        let deadline = phase_deadline(run, step);
        loop {
            if let Some(reason) = run.st.over_budget(&run.budgets) {
                return Ok(Err(reason));
            }
            if let Some(d) = run.st.past(deadline) {
                let phase = step.phase.clone().unwrap_or_default();
                run.st.note(format!(
                    "phase {phase} reached its deadline ({} s); moving on",
                    d.as_secs()
                ))?;
                run.messages.push(Message::User {
                    content: format!("The {phase} phase deadline has passed; move on."),
                });
                return Ok(Ok(()));
            }
            let request = ModelRequest {
                system: run.system.clone(),
                messages: run.messages.clone(),
                tools: run.tools.clone(),
                max_output_tokens: run.budgets.max_output_tokens,
            };
            let span = super::spans::model_turn(&run.model_name, run.st.turns + 1, &request);
            let answer = tokio::select! {
                r = model.complete(&request).instrument(span.clone()) => r,
                () = cancel.cancelled() => return Ok(Err(StopReason::Cancelled)),
            };
            super::spans::model_answered(&span, answer.as_ref());
            drop(span);
            run.st.turns += 1;
            let answer = match answer {
                Ok(a) => a,
                Err(e) => return Ok(Err(StopReason::ModelFailed(e.to_string()))),
            };
            run.st.usage += answer.usage;
            run.st.log.emit(RunEventKind::ModelTurn {
                turn: run.st.turns,
                input_tokens: answer.usage.input,
                output_tokens: answer.usage.output,
            })?;
            run.messages.push(Message::Assistant {
                text: answer.text.clone(),
                tool_calls: answer.tool_calls.clone(),
            });
            if answer.tool_calls.is_empty() {
                if let Some(t) = answer.text.filter(|t| !t.trim().is_empty()) {
                    run.st
                        .notes
                        .push(format!("step {}: {}", step.number, t.trim()));
                }
                return Ok(Ok(()));
            }
            let mut turn_budget = run.budgets.output_bytes_per_turn;
            for call in &answer.tool_calls {
                let key = format!("{}{}", call.name, canonical(&call.arguments));
                let n = run.st.repeats.entry(key).or_insert(0);
                *n += 1;
                if *n > run.budgets.repeat_limit {
                    return Ok(Err(StopReason::Repeated {
                        call: call.name.clone(),
                        limit: run.budgets.repeat_limit,
                    }));
                }
                let o = tokio::select! {
                    r = self.gate.handle(&run.st.log, &run.st.scope, &call.id, &call.name, call.arguments.clone(), CallOrigin::Model) => r?,
                    () = cancel.cancelled() => return Ok(Err(StopReason::Cancelled)),
                };
                let text = run.st.evidence(&o, &mut turn_budget, &run.budgets);
                run.messages.push(Message::Tool {
                    call_id: call.id.clone(),
                    content: text,
                    is_error: !o.ok,
                });
            }
        }
    }
}
