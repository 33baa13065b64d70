//! The tools the gateway lists: every downstream tool as `SERVER__TOOL`, and SOPilot's own
//! `run_sop`, `list_sops` and `get_run`. Their descriptions are prompt text for the IDE's
//! model; the surface is snapshotted in the CLI's tests.

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};
use sopilot_policy::ServerTrust;
use sopilot_runtime::{Gateway, ToolInfo};

/// Starts an SOP run.
pub const RUN_SOP: &str = "run_sop";
/// Lists the SOPs.
pub const LIST_SOPS: &str = "list_sops";
/// Reads one recorded run.
pub const GET_RUN: &str = "get_run";

const RUN_SOP_DESCRIPTION: &str = "Run one of SOPilot's SOPs (standard operating procedures; see list_sops) from its first step to its report. Every tool call the run makes passes the same policy gate as your own calls: allowed calls run, denied calls never run, escalated calls wait for a human. Connected to `sopilot serve`, the run is queued and this returns its run_id at once (follow it with get_run); connected to `sopilot mcp`, the run happens here and this returns its report. An identical request while that run is going joins it. Use dry_run: true to rehearse: mutating calls then only report what they would change.";

const LIST_SOPS_DESCRIPTION: &str = "List the SOPs SOPilot can run: name, title, what each is for, its parameters (required, or optional with a default) and whether alarms or Kubernetes events start it automatically. Call it before run_sop. Each SOP is also offered as an MCP prompt of the same name.";

const GET_RUN_DESCRIPTION: &str = "Show one recorded run: status and summary, every tool call with its policy decision (allow, deny, escalate), matched rules, approval and whether it executed, and the run's timeline. Works for SOP runs and for IDE sessions (SOP mcp-session), e.g. to see whether an escalated call was approved later.";

fn object(v: Value) -> Arc<JsonObject> {
    match v {
        Value::Object(m) => Arc::new(m),
        _ => Arc::new(JsonObject::new()),
    }
}

/// SOPilot's own tools.
pub fn builtin() -> Vec<Tool> {
    vec![
        Tool::new(
            RUN_SOP,
            RUN_SOP_DESCRIPTION,
            object(json!({
                "type": "object",
                "properties": {
                    "sop": {"type": "string", "description": "The SOP's name as list_sops shows it, e.g. pod-crashloop."},
                    "params": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "The SOP's parameters by name, as strings, e.g. {\"namespace\": \"payment\", \"pod\": \"payment-7d8f-xyz\"}. list_sops shows which are required."
                    },
                    "dry_run": {"type": "boolean", "default": false, "description": "Rehearse: mutating calls only report their impact; nothing changes and no approval is asked."}
                },
                "required": ["sop"],
                "additionalProperties": false
            })),
        )
        .with_title("Run an SOP")
        .with_annotations(
            ToolAnnotations::new()
                .read_only(false)
                .destructive(true)
                .idempotent(false)
                .open_world(true),
        ),
        Tool::new(
            LIST_SOPS,
            LIST_SOPS_DESCRIPTION,
            object(json!({"type": "object", "properties": {}, "additionalProperties": false})),
        )
        .with_title("List SOPs")
        .with_annotations(ToolAnnotations::new().read_only(true).open_world(false)),
        Tool::new(
            GET_RUN,
            GET_RUN_DESCRIPTION,
            object(json!({
                "type": "object",
                "properties": {
                    "run_id": {"type": "string", "description": "The run's id, e.g. run-3f2a9c1b7d4e, as run_sop or `sopilot runs list` shows it."}
                },
                "required": ["run_id"],
                "additionalProperties": false
            })),
        )
        .with_title("Show a run")
        .with_annotations(ToolAnnotations::new().read_only(true).open_world(false)),
    ]
}

/// What the gate adds to a downstream tool's description.
fn gate_note(info: &ToolInfo) -> &'static str {
    match (info.trust, info.mutating()) {
        (ServerTrust::Builtin, false) => "",
        (ServerTrust::Builtin, true) => {
            "\nSOPilot gate: a dry run measures the impact first; then the policy runs the call, refuses it, or asks a human to approve it."
        }
        (ServerTrust::Foreign, _) => {
            "\nSOPilot gate: this server is not one of SOPilot's own, so only explicit policy rules allow its tools; anything else is refused or asks a human."
        }
    }
}

/// One downstream tool as the IDE sees it. Only SOPilot's own servers' annotations are
/// passed on: a foreign server's hints earn no trust here either.
pub fn downstream(info: &ToolInfo) -> Tool {
    let description = format!("[{}] {}{}", info.tool, info.description, gate_note(info));
    let tool = Tool::new(
        info.tool.model_name(),
        description,
        object(info.input_schema.clone()),
    );
    if info.trust != ServerTrust::Builtin {
        return tool;
    }
    let a = &info.annotations;
    let mut annotations = ToolAnnotations::new();
    if let Some(v) = a.read_only {
        annotations = annotations.read_only(v);
    }
    if let Some(v) = a.destructive {
        annotations = annotations.destructive(v);
    }
    if let Some(v) = a.idempotent {
        annotations = annotations.idempotent(v);
    }
    if let Some(v) = a.open_world {
        annotations = annotations.open_world(v);
    }
    tool.with_annotations(annotations)
}

/// Everything listed: the downstream tools (sorted by name), then SOPilot's own.
pub fn list(gateway: &Gateway) -> Vec<Tool> {
    let mut tools: Vec<Tool> = gateway.tools().map(downstream).collect();
    tools.extend(builtin());
    tools
}
