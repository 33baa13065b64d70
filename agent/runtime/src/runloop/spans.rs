//! The run's trace: a `sopilot.run` span, a `sopilot.phase` span per SOP step (its phase
//! named), a `sopilot.model_turn` span per model request; the gate adds `sopilot.tool_call`
//! and `sopilot.approval_wait`. Spans carry names, decisions, counts and sizes, never
//! arguments, prompts or outputs. They are `debug` spans: the stderr log (at `info`) does
//! not show them; the binary's trace exporter records them whatever the log level.
//!
//! Integers are recorded as `i64`: the exporter would send a `u64` as text.
//!
//! Attribute names follow OpenTelemetry's GenAI conventions where one exists
//! (`gen_ai.usage.input_tokens`); the rest are `sopilot.*`.

use sopilot_llm::{LlmError, Message, ModelRequest, ModelResponse};
use sopilot_protocol::{RunStatus, Trigger};
use tracing::Span;
use tracing::field::Empty;

use super::RunInput;
use crate::report::RunReport;

/// The trigger's source (how it reached SOPilot) and the name of what fired, when it has
/// one: an alarm's name, an alert's `alertname`, an event's reason, a schedule's name.
fn trigger_source(t: Option<&Trigger>) -> (&'static str, Option<String>) {
    match t {
        None => ("manual", None),
        Some(Trigger::CloudwatchAlarm { source, alarm }) => (
            match source {
                sopilot_protocol::AlarmSource::Sns => "sns",
                sopilot_protocol::AlarmSource::Eventbridge => "eventbridge",
            },
            Some(alarm.name.clone()),
        ),
        Some(Trigger::Alertmanager { alert, .. }) => {
            ("alertmanager", alert.labels.get("alertname").cloned())
        }
        Some(Trigger::KubernetesEvent { event }) => ("kubernetes", Some(event.reason.clone())),
        Some(Trigger::Schedule { schedule }) => ("schedule", Some(schedule.name.clone())),
        Some(Trigger::Investigation { investigation }) => {
            ("eventbridge", Some(investigation.id.clone()))
        }
        Some(t @ (Trigger::Slack { .. } | Trigger::Manual { .. })) => (t.kind(), None),
    }
}

/// The root span of a run (or, under `sopilot serve`, the child of its trigger's span).
pub(super) fn run(input: &RunInput) -> Span {
    let trigger = input.trigger.as_ref();
    let (source, name) = trigger_source(trigger);
    tracing::debug_span!(
        "sopilot.run",
        sopilot.run_id = Empty,
        sopilot.sop = %input.sop.name,
        sopilot.trigger.kind = trigger.map_or("manual", Trigger::kind),
        sopilot.trigger.source = source,
        sopilot.trigger.name = name,
        sopilot.dry_run = input.dry_run,
        sopilot.status = Empty,
        sopilot.stopped_by = Empty,
        sopilot.turns = Empty,
        sopilot.tool_calls = Empty,
        gen_ai.request.model = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        sopilot.cost_usd = Empty,
        otel.status_code = Empty,
    )
}

/// Records how the run ended on its span.
pub(super) fn run_finished(span: &Span, result: &Result<RunReport, super::RunError>) {
    match result {
        Ok(r) => {
            span.record("sopilot.run_id", r.run_id.as_str());
            span.record("sopilot.status", r.status.as_str());
            if let Some(s) = &r.stopped_by {
                span.record("sopilot.stopped_by", s.to_string());
            }
            span.record("sopilot.turns", i64::from(r.turns));
            span.record("sopilot.tool_calls", r.calls.len() as i64);
            span.record("gen_ai.request.model", r.model.as_str());
            span.record("gen_ai.usage.input_tokens", int(r.tokens.input));
            span.record("gen_ai.usage.output_tokens", int(r.tokens.output));
            if let Some(c) = r.cost_usd {
                span.record("sopilot.cost_usd", c);
            }
            if r.status == RunStatus::Failed {
                span.record("otel.status_code", "ERROR");
            }
        }
        Err(_) => {
            span.record("sopilot.status", "not_started");
            span.record("otel.status_code", "ERROR");
        }
    }
}

/// A count as an OTLP integer (the exporter sends unsigned integers as text).
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The span of one SOP step, named after its phase (`step N` for a step outside phases).
pub(super) fn phase(step: &sopilot_sop::RenderedStep) -> Span {
    let phase = step
        .phase
        .clone()
        .unwrap_or_else(|| format!("step {}", step.number));
    tracing::debug_span!(
        "sopilot.phase",
        sopilot.phase = %phase,
        sopilot.step = i64::from(step.number),
        sopilot.step.title = %step.title,
        sopilot.tool_blocks = step.calls.len() as i64,
    )
}

/// What a model request weighs: the bytes of its system prompt, messages and tool schemas.
fn prompt_bytes(request: &ModelRequest) -> i64 {
    let messages: usize = request
        .messages
        .iter()
        .map(|m| match m {
            Message::User { content } => content.len(),
            Message::Assistant { text, tool_calls } => {
                text.as_deref().map_or(0, str::len)
                    + tool_calls
                        .iter()
                        .map(|c| c.name.len() + c.arguments.to_string().len())
                        .sum::<usize>()
            }
            Message::Tool { content, .. } => content.len(),
        })
        .sum();
    let tools: usize = request
        .tools
        .iter()
        .map(|t| t.name.len() + t.description.len() + t.input_schema.to_string().len())
        .sum();
    (request.system.len() + messages + tools) as i64
}

/// The span of one model request.
pub(super) fn model_turn(model: &str, turn: u32, request: &ModelRequest) -> Span {
    let span = tracing::debug_span!(
        "sopilot.model_turn",
        gen_ai.operation.name = "chat",
        gen_ai.request.model = model,
        gen_ai.request.max_tokens = i64::from(request.max_output_tokens),
        sopilot.turn = i64::from(turn),
        sopilot.prompt_bytes = Empty,
        sopilot.messages = request.messages.len() as i64,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        sopilot.tool_calls = Empty,
        error.type = Empty,
        otel.status_code = Empty,
    );
    if !span.is_disabled() {
        span.record("sopilot.prompt_bytes", prompt_bytes(request));
    }
    span
}

/// Records a model answer (or the kind of its failure) on its turn's span.
pub(super) fn model_answered(span: &Span, answer: Result<&ModelResponse, &LlmError>) {
    match answer {
        Ok(a) => {
            span.record("gen_ai.usage.input_tokens", int(a.usage.input));
            span.record("gen_ai.usage.output_tokens", int(a.usage.output));
            span.record("sopilot.tool_calls", a.tool_calls.len() as i64);
        }
        Err(e) => {
            let kind = match e {
                LlmError::Provider(_) => "provider",
                LlmError::Rejected(_) => "rejected",
                LlmError::Malformed(_) => "malformed",
                LlmError::Timeout(_) => "timeout",
                LlmError::Config(_) => "config",
                LlmError::Script { .. } => "script",
            };
            span.record("error.type", kind);
            span.record("otel.status_code", "ERROR");
        }
    }
}
