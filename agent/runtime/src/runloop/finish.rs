//! Stage 4, finish: the model's report (when nothing stopped the run) and its
//! machine-readable root cause, the run's status, and the report recorded and announced.

use sopilot_llm::{Message, ModelClient, ModelRequest};
use sopilot_protocol::{RootCause, RunEventKind, RunStatus};
use tracing::Instrument;

use super::state::Run;
use super::{RunError, RunInput, Runner, StopReason, report_request};
use crate::gate::GateOutcome;
use crate::report::{ReportParts, RunReport};

impl Runner {
    /// Asks the model for its report, decides the run's status and records the end.
    pub(crate) async fn finish(
        &self,
        mut run: Run,
        input: &RunInput,
    ) -> Result<RunReport, RunError> {
        let analysis = match (&self.model, &run.st.stopped_by) {
            (Some(model), None) => self.ask_for_report(&mut run, model.as_ref()).await?,
            _ => None,
        };
        let root_cause = match analysis.as_deref().map(RootCause::from_report) {
            Some(Ok(rc)) => Some(rc),
            Some(Err(e)) => {
                run.st.note(e.to_string())?;
                None
            }
            None => None,
        };
        let status = status_of(
            run.st.stopped_by.as_ref(),
            self.model.is_some(),
            run.st.calls.iter().any(GateOutcome::needs_human),
            root_cause.is_some(),
        );
        let stopped_by = run.st.stopped_by.clone();
        let report = RunReport::build(ReportParts {
            run_id: run.run_id.clone(),
            sop: input.sop.name.clone(),
            target: run.st.scope.target.clone(),
            model: run.model_name.clone(),
            status,
            stopped_by: stopped_by.clone(),
            analysis,
            root_cause,
            evidence: std::mem::take(&mut run.st.evidence),
            calls: std::mem::take(&mut run.st.calls),
            tokens: run.st.usage,
            cost_usd: self.prices.cost(&run.model_name, run.st.usage),
            duration: run.st.started.elapsed(),
            turns: run.st.turns,
            context_bytes: run.st.run_bytes as u64,
            context_by_tool: std::mem::take(&mut run.st.bytes_by_tool),
            prompt_bytes: prompt_bytes(&run.system, &run.tools),
            notes: std::mem::take(&mut run.st.notes),
            no_model: self.model.is_none(),
        });
        self.store.finish_run(
            &run.run_id,
            status,
            &report.summary,
            &stopped_by.map(|s| s.to_string()).unwrap_or_default(),
        )?;
        run.st.log.emit(RunEventKind::RunFinished {
            status,
            summary: report.summary.clone(),
            root_cause: report.root_cause.clone(),
        })?;
        Ok(report)
    }

    /// The model's report, or `None` (with a note) when the request failed or the model
    /// returned nothing.
    async fn ask_for_report(
        &self,
        run: &mut Run,
        model: &dyn ModelClient,
    ) -> Result<Option<String>, RunError> {
        run.messages.push(Message::User {
            content: report_request(),
        });
        let request = ModelRequest {
            system: run.system.clone(),
            messages: std::mem::take(&mut run.messages),
            tools: Vec::new(),
            max_output_tokens: run.budgets.max_output_tokens * 2,
        };
        let span = super::spans::model_turn(&run.model_name, run.st.turns + 1, &request);
        let answer = model.complete(&request).instrument(span.clone()).await;
        super::spans::model_answered(&span, answer.as_ref());
        match answer {
            Ok(a) => {
                run.st.turns += 1;
                run.st.usage += a.usage;
                run.st.log.emit(RunEventKind::ModelTurn {
                    turn: run.st.turns,
                    input_tokens: a.usage.input,
                    output_tokens: a.usage.output,
                })?;
                let text = a.text.filter(|t| !t.trim().is_empty());
                if text.is_none() {
                    run.st
                        .note("the model returned an empty report: no conclusion".into())?;
                }
                Ok(text)
            }
            Err(e) => {
                run.st
                    .note(format!("the model could not write the report: {e}"))?;
                Ok(None)
            }
        }
    }
}

/// A run's status: stopped runs failed (or were cancelled); without a model, or with work
/// left for a human, it needs one; a model that reached no conclusion (no report, or a
/// report without a valid root-cause block; one naming the class `unknown` is a conclusion)
/// is inconclusive, never succeeded.
fn status_of(
    stopped_by: Option<&StopReason>,
    has_model: bool,
    needs_human: bool,
    concluded: bool,
) -> RunStatus {
    match (stopped_by, has_model, needs_human, concluded) {
        (Some(StopReason::Cancelled), ..) => RunStatus::Cancelled,
        (Some(_), ..) => RunStatus::Failed,
        (None, false, _, _) | (None, true, true, _) => RunStatus::NeedsHuman,
        (None, true, false, false) => RunStatus::Inconclusive,
        (None, true, false, true) => RunStatus::Succeeded,
    }
}

/// What every model turn of the run starts with: the system prompt and the tool schemas.
fn prompt_bytes(system: &str, tools: &[sopilot_llm::ToolSpec]) -> u64 {
    let schemas = serde_json::to_string(tools).map_or(0, |t| t.len());
    (system.len() + schemas) as u64
}
