//! Stage 4, finish: the model's report (when nothing stopped the run), the run's status,
//! and the report recorded and announced.

use sopilot_llm::{Message, ModelRequest};
use sopilot_protocol::{RunEventKind, RunStatus};

use super::state::Run;
use super::{REPORT_REQUEST, RunError, RunInput, Runner, StopReason};
use crate::gate::GateOutcome;
use crate::report::{ReportParts, RunReport};

impl Runner {
    /// Asks the model for its report, decides the run's status and records the end.
    pub(crate) async fn finish(
        &self,
        mut run: Run,
        input: &RunInput,
    ) -> Result<RunReport, RunError> {
        let mut analysis = None;
        if let (Some(model), None) = (&self.model, &run.st.stopped_by) {
            run.messages.push(Message::User {
                content: REPORT_REQUEST.into(),
            });
            let request = ModelRequest {
                system: run.system.clone(),
                messages: std::mem::take(&mut run.messages),
                tools: Vec::new(),
                max_output_tokens: run.budgets.max_output_tokens * 2,
            };
            match model.complete(&request).await {
                Ok(a) => {
                    run.st.turns += 1;
                    run.st.usage += a.usage;
                    run.st.log.emit(RunEventKind::ModelTurn {
                        turn: run.st.turns,
                        input_tokens: a.usage.input,
                        output_tokens: a.usage.output,
                    })?;
                    analysis = a.text.filter(|t| !t.trim().is_empty());
                }
                Err(e) => run
                    .st
                    .note(format!("the model could not write the report: {e}"))?,
            }
        }
        let needs_human = run.st.calls.iter().any(GateOutcome::needs_human);
        let status = match (&run.st.stopped_by, self.model.is_some(), needs_human) {
            (Some(StopReason::Cancelled), _, _) => RunStatus::Cancelled,
            (Some(_), _, _) => RunStatus::Failed,
            (None, false, _) | (None, true, true) => RunStatus::NeedsHuman,
            (None, true, false) => RunStatus::Succeeded,
        };
        let stopped_by = run.st.stopped_by.clone();
        let report = RunReport::build(ReportParts {
            run_id: run.run_id.clone(),
            sop: input.sop.name.clone(),
            model: run.model_name.clone(),
            status,
            stopped_by: stopped_by.clone(),
            analysis,
            evidence: std::mem::take(&mut run.st.evidence),
            calls: std::mem::take(&mut run.st.calls),
            tokens: run.st.usage,
            cost_usd: self.prices.cost(&run.model_name, run.st.usage),
            duration: run.st.started.elapsed(),
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
        })?;
        Ok(report)
    }
}
