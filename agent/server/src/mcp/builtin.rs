//! SOPilot's own tools: `run_sop`, `list_sops`, `get_run`.
//!
//! `run_sop` on `sopilot serve` queues the run with the [`RunManager`](crate::RunManager) (its
//! escalations go to the server's approval channels) and answers with the run id at once.
//! On stdio there is no server to queue on: the run happens in process, escalations are asked
//! through this session's approver, and the answer is the report. A dry run is always made in
//! process (it changes nothing and asks nobody), on both transports.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rmcp::RoleServer;
use rmcp::model::{
    CallToolResult, ContentBlock, JsonObject, ProgressNotificationParam, ProgressToken,
};
use rmcp::service::Peer;
use serde_json::{Value, json};
use sopilot_protocol::{RunEventKind, Trigger};
use sopilot_runtime::{Approver, CancellationToken, Observer, RunInput, StoreError, report_json};

use super::McpContext;
use super::prompts::{describe, string_args};
use crate::runs::{Origin, StartRequest, Started};

/// The most text one answer carries.
const MAX_TEXT: usize = 60_000;

fn cap(text: String) -> String {
    if text.len() <= MAX_TEXT {
        return text;
    }
    let mut end = MAX_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[truncated: {} more bytes; the structured content has everything]",
        &text[..end],
        text.len() - end
    )
}

/// A successful answer: text for the model, the same as structured content.
pub fn answer(text: String, structured: Value) -> CallToolResult {
    let mut r = CallToolResult::success(vec![ContentBlock::text(cap(text))]);
    r.structured_content = Some(structured);
    r
}

/// A tool error the model can act on.
pub fn refuse(text: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text.into())])
}

/// `list_sops`
pub fn list_sops(ctx: &McpContext) -> CallToolResult {
    let mut lines = Vec::new();
    let mut list = Vec::new();
    for sop in &ctx.sops {
        let params: Vec<String> = sop
            .parameters
            .iter()
            .map(|p| match (&p.default, p.required) {
                (Some(d), _) => format!("{} (default {d})", p.name),
                (None, true) => format!("{} (required)", p.name),
                (None, false) => format!("{} (optional)", p.name),
            })
            .collect();
        let automatic = !sop.front.triggers.is_empty();
        lines.push(format!(
            "- {}: {}\n  parameters: {}{}",
            sop.name,
            describe(sop),
            if params.is_empty() {
                "none".to_owned()
            } else {
                params.join(", ")
            },
            if automatic {
                "\n  also started automatically by matching alarms or events"
            } else {
                ""
            }
        ));
        list.push(json!({
            "name": sop.name,
            "title": sop.title,
            "description": describe(sop),
            "parameters": sop.parameters.iter().map(|p| json!({
                "name": p.name, "required": p.required && p.default.is_none(),
                "default": p.default, "description": p.description,
            })).collect::<Vec<_>>(),
            "automatic": automatic,
            "tools": sop.front.tools,
        }));
    }
    let text = format!("{} SOPs:\n{}", ctx.sops.len(), lines.join("\n"));
    answer(text, json!({"sops": list}))
}

/// `get_run {run_id}`
pub fn get_run(ctx: &McpContext, args: &JsonObject) -> CallToolResult {
    let Some(id) = args.get("run_id").and_then(Value::as_str) else {
        return refuse("give run_id, e.g. {\"run_id\": \"run-3f2a9c1b7d4e\"}");
    };
    let store = &ctx.runner.store;
    match store.run(id) {
        Ok((run, events, calls)) => {
            let skip = events.len().saturating_sub(200);
            let v = json!({
                "run": run,
                "tool_calls": calls,
                "events": events.iter().skip(skip).map(|e| json!({"seq": e.seq, "at": e.at, "event": e.kind})).collect::<Vec<_>>(),
                "events_omitted": skip,
            });
            let text = serde_json::to_string_pretty(&v).unwrap_or_default();
            answer(text, v)
        }
        Err(StoreError::NoRun(_)) => {
            let recent: Vec<String> = store
                .runs(5)
                .map(|rs| {
                    rs.into_iter()
                        .map(|r| format!("{} ({})", r.id, r.sop))
                        .collect()
                })
                .unwrap_or_default();
            refuse(format!(
                "no run {id:?}; recent runs: {}",
                if recent.is_empty() {
                    "none".to_owned()
                } else {
                    recent.join(", ")
                }
            ))
        }
        Err(e) => {
            tracing::error!("get_run {id}: {e}");
            refuse("the run store could not be read; see the server's log")
        }
    }
}

/// The parsed arguments of `run_sop`.
struct RunArgs {
    sop: String,
    params: BTreeMap<String, String>,
    dry_run: bool,
}

fn run_args(args: &JsonObject) -> Result<RunArgs, String> {
    let sop = args
        .get("sop")
        .and_then(Value::as_str)
        .ok_or("give sop, the SOP's name from list_sops, e.g. {\"sop\": \"pod-crashloop\"}")?;
    let params = match args.get("params") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(m)) => string_args(Some(m)),
        Some(_) => return Err("params must be an object of NAME: VALUE strings".into()),
    };
    let dry_run = match args.get("dry_run") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("dry_run must be true or false".into()),
    };
    Ok(RunArgs {
        sop: sop.to_owned(),
        params,
        dry_run,
    })
}

/// Forwards a run's steps and approvals as progress notifications.
fn progress_observer(peer: Peer<RoleServer>, token: ProgressToken) -> Observer {
    let n = Arc::new(AtomicU64::new(0));
    Arc::new(move |e| {
        let message = match &e.kind {
            RunEventKind::StepStarted { step, title, .. } => format!("step {step}: {title}"),
            RunEventKind::ApprovalRequested { approval_id, .. } => {
                format!("waiting for approval {approval_id}")
            }
            _ => return,
        };
        let p =
            ProgressNotificationParam::new(token.clone(), n.fetch_add(1, Ordering::SeqCst) as f64)
                .with_message(message);
        let peer = peer.clone();
        tokio::spawn(async move {
            let _ = peer.notify_progress(p).await;
        });
    })
}

/// Where `run_sop` reports progress.
pub struct Progress {
    pub peer: Peer<RoleServer>,
    pub token: Option<ProgressToken>,
}

/// `run_sop {sop, params?, dry_run?}`
pub async fn run_sop(
    ctx: &McpContext,
    args: &JsonObject,
    client: &str,
    approver: Arc<dyn Approver>,
    progress: Progress,
    cancel: CancellationToken,
) -> CallToolResult {
    let a = match run_args(args) {
        Ok(a) => a,
        Err(e) => return refuse(e),
    };
    let Some(sop) = ctx.sops.iter().find(|s| s.name == a.sop).cloned() else {
        let names: Vec<&str> = ctx.sops.iter().map(|s| s.name.as_str()).collect();
        return refuse(format!(
            "no SOP {:?}; available: {}",
            a.sop,
            names.join(", ")
        ));
    };
    if let Err(e) = sopilot_sop::resolve_params(&sop, &a.params) {
        return refuse(format!(
            "SOP {}: {e}; list_sops shows its parameters",
            sop.name
        ));
    }
    let by = format!(
        "MCP client {client}: {} {}",
        sop.name,
        serde_json::to_string(&a.params).unwrap_or_default()
    );
    if let (Some(runs), false) = (&ctx.runs, a.dry_run) {
        let req = StartRequest {
            trigger: Trigger::Manual { by: Some(by) },
            sop: Some(sop.name.clone()),
            params: a.params,
            origin: Origin::Api,
            target: None,
            carries_on: None,
        };
        return match runs.submit(req) {
            Ok(Started::New { run_id, sop }) => answer(
                format!(
                    "Queued run {run_id} of SOP {sop} on sopilot serve; it runs in the background. Its escalations wait for a human in Slack or the HTTP API (GET /api/approvals?state=pending). Follow it with get_run {{\"run_id\": \"{run_id}\"}}."
                ),
                json!({"status": "queued", "run_id": run_id, "sop": sop}),
            ),
            Ok(Started::Joined { run_id }) => answer(
                format!(
                    "An identical request is already running as {run_id}; this joined it. Follow it with get_run {{\"run_id\": \"{run_id}\"}}."
                ),
                json!({"status": "joined", "run_id": run_id, "sop": sop.name}),
            ),
            Err(e) => refuse(format!("the run was not started: {e}")),
        };
    }
    let mut runner = ctx.runner.clone();
    runner.gate.approver = approver;
    runner.observer = progress.token.map(|t| progress_observer(progress.peer, t));
    let input = RunInput {
        sop,
        params: a.params,
        trigger: Some(Trigger::Manual { by: Some(by) }),
        budgets: ctx.budgets.clone(),
        dry_run: a.dry_run,
        target: None,
        carries_on: None,
        run_id: None,
    };
    match runner.run(input, cancel).await {
        Ok(report) => answer(report.render(), report_json(&report)),
        Err(e) => refuse(format!("the run could not start: {e}")),
    }
}
