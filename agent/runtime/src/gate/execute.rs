//! Stage 6, execute: the call is made (or, in a dry-run run, what would have been done is
//! reported). The audit row of a mutating call is synced to disk before it is sent.

use chrono::Utc;
use serde_json::Value;

use super::assess::Assessed;
use super::call::{Call, Step};
use super::resolve::Target;
use super::{CallScope, Gate, Held, call_timeout};
use crate::gateway::ToolOutput;

impl Gate {
    pub(super) async fn execute(
        &self,
        call: &mut Call<'_>,
        scope: &CallScope,
        target: &Target,
        assessed: &Assessed,
        guard: Option<Held>,
    ) -> Step<()> {
        let mutating = target.info.mutating();
        let requested_dry_run = call.args.get("dry_run").and_then(Value::as_bool) == Some(true);
        let result = match (
            &assessed.dry_output,
            scope.dry_run && mutating,
            requested_dry_run,
        ) {
            (Some(o), true, _) => Ok(ToolOutput {
                text: format!("DRY-RUN RUN, nothing changed: {}", o.text),
                ..o.clone()
            }),
            // The caller asked for a dry run: the gate's own dry run is the answer.
            (Some(o), _, true) => Ok(o.clone()),
            (None, true, _) => Ok(ToolOutput {
                text: format!(
                    "DRY-RUN RUN: {} was allowed but not called (it has no dry run)",
                    target.tool
                ),
                structured: None,
                is_error: false,
            }),
            _ => {
                call.out.executed = true;
                call.audit.executed = true;
                call.audit.executed_at = Some(Utc::now());
                if mutating {
                    call.record_before_acting()?;
                } else {
                    call.record()?;
                }
                // The executed row is written: the next call's history counts this one.
                drop(guard);
                self.gateway
                    .call(&target.tool, call.args.clone(), call_timeout(&call.args))
                    .await
            }
        };
        match result {
            Ok(o) => {
                call.out.ok = !o.is_error;
                if o.is_error {
                    call.error_type = Some("tool_error");
                }
                call.out.text = o.text;
                call.out.structured = o.structured;
            }
            Err(e) => {
                call.error_type = Some(e.kind());
                call.out.ok = false;
                call.out.text = e.to_string();
                call.audit.error = Some(e.to_string());
            }
        }
        call.audit.ok = Some(call.out.ok);
        Ok(())
    }
}
