//! The gate's spans: `sopilot.tool_call` per call (what was decided, by which rule, whether
//! it executed, how many bytes came back, how long a human took) and `sopilot.approval_wait`
//! per approval asked. Names, decisions and sizes only: never arguments or outputs.

use std::time::Duration;

use sopilot_protocol::{ApprovalState, CallOrigin};
use tracing::Span;
use tracing::field::Empty;

use super::GateOutcome;

/// A value as its serde form spells it (`tool_block`, `approved`).
fn serde_text<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The span of one call through the gate; `tool` as the caller wrote it until resolved.
pub(super) fn tool_call(call_id: &str, tool: &str, origin: CallOrigin) -> Span {
    tracing::debug_span!(
        "sopilot.tool_call",
        otel.kind = "client",
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = %tool,
        gen_ai.tool.call.id = %call_id,
        sopilot.origin = %serde_text(origin),
        sopilot.decision = Empty,
        sopilot.rule = Empty,
        sopilot.approval.id = Empty,
        sopilot.approval.state = Empty,
        sopilot.approval.approver = Empty,
        sopilot.approval.wait_ms = Empty,
        sopilot.executed = Empty,
        sopilot.ok = Empty,
        sopilot.output_bytes = Empty,
        sopilot.duration_ms = Empty,
        error.type = Empty,
        otel.status_code = Empty,
    )
}

/// What became of the call, on its span. `error_type` is the kind of a failure to execute
/// (`timeout`, `tool_error`...), `approval_wait` the time spent waiting for humans.
pub(super) fn finished(
    span: &Span,
    o: &GateOutcome,
    approval_wait: Option<Duration>,
    error_type: Option<&str>,
) {
    span.record("gen_ai.tool.name", o.tool.as_str());
    if let Some(d) = o.decision {
        span.record("sopilot.decision", d.as_str());
    }
    if !o.rules.is_empty() {
        span.record("sopilot.rule", o.rules.join(","));
    }
    if let Some((id, state, by)) = &o.approval {
        span.record("sopilot.approval.id", id.as_str());
        span.record("sopilot.approval.state", serde_text(state));
        span.record("sopilot.approval.approver", by.as_str());
    }
    if let Some(w) = approval_wait {
        span.record("sopilot.approval.wait_ms", w.as_millis() as i64);
    }
    span.record("sopilot.executed", o.executed);
    span.record("sopilot.ok", o.ok);
    span.record("sopilot.output_bytes", o.text.len() as i64);
    span.record("sopilot.duration_ms", o.duration_ms as i64);
    if let Some(kind) = error_type {
        span.record("error.type", kind);
        span.record("otel.status_code", "ERROR");
    }
}

/// The span of one wait for a human's decision.
pub(super) fn approval_wait(approval_id: &str, tool: &str) -> Span {
    tracing::debug_span!(
        "sopilot.approval_wait",
        sopilot.approval.id = %approval_id,
        gen_ai.tool.name = %tool,
        sopilot.approval.state = Empty,
        sopilot.approval.approver = Empty,
        sopilot.approval.channel = Empty,
    )
}

/// The human's answer, on the wait's span.
pub(super) fn approval_answered(span: &Span, state: ApprovalState, by: &str, channel: &str) {
    span.record("sopilot.approval.state", serde_text(state));
    span.record("sopilot.approval.approver", by);
    span.record("sopilot.approval.channel", channel);
}
