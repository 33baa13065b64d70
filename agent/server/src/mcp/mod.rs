//! The MCP gateway: SOPilot as one MCP server for IDEs (`sopilot mcp` over stdio, `/mcp` on
//! `sopilot serve` over streamable HTTP).
//!
//! It offers every downstream tool of the runtime's [`Gateway`](sopilot_runtime::Gateway) as
//! `SERVER__TOOL`, plus `run_sop`, `list_sops` and `get_run`, and every SOP as a prompt. Every
//! call of a downstream tool goes through the same [`Gate`](sopilot_runtime::Gate) as a run:
//! allowed calls run, denied calls never run, escalated calls wait for a human. Each MCP
//! session is recorded as a run (SOP `mcp-session`), so its calls are audited and listed by
//! `sopilot runs`.
//!
//! On `sopilot serve` every request is made with a named token (see [`crate::auth`]): a
//! `viewer` may list SOPs and read runs, an `operator` also calls tools and starts runs, an
//! `approver` is also asked to decide escalations. On stdio the OS user is the caller.
//!
//! Escalations are asked through MCP elicitation when the client declared that capability;
//! on `sopilot serve` they are also announced on every approval channel (Slack, the API) and
//! whichever door decides first wins. A client that cannot elicit is told how to approve; on
//! stdio, with no other door, the call is refused (fail closed).

mod approver;
mod builtin;
mod handler;
mod http;
mod prompts;
mod session;
mod tools;

use std::sync::Arc;

use sopilot_runtime::{Budgets, Runner};
use sopilot_sop::Sop;

use crate::{AppState, ApprovalHub, RunManager};

pub use handler::SopilotMcp;
pub use http::{Allowed, routes};

/// The SOP name MCP sessions are recorded under.
pub const SESSION_SOP: &str = "mcp-session";

/// What every MCP session of one process shares.
#[derive(Clone)]
pub struct McpContext {
    /// Gate (gateway, policy, approval timeout), store and model.
    pub runner: Runner,
    pub sops: Vec<Sop>,
    /// `sopilot serve`'s approval hub: escalations are announced on its channels and any
    /// door may decide them. `None` on stdio.
    pub hub: Option<Arc<ApprovalHub>>,
    /// `sopilot serve`'s run manager: `run_sop` queues runs there. `None` on stdio, where
    /// `run_sop` runs the SOP in process and answers with its report.
    pub runs: Option<RunManager>,
    pub budgets: Budgets,
    /// On stdio, the OS user running `sopilot mcp`: every call is theirs (role `approver`;
    /// decisions are recorded as `local:<user>`). `None` on `sopilot serve`, where each
    /// request carries its token's identity.
    pub local_user: Option<String>,
}

impl std::fmt::Debug for McpContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpContext")
            .field("sops", &self.sops.len())
            .field("serve", &self.runs.is_some())
            .finish()
    }
}

impl McpContext {
    /// The gateway of `sopilot serve`: shares its runner, SOPs, approvals and run queue.
    pub fn serve(state: &AppState) -> McpContext {
        McpContext {
            runner: state.runs.runner().clone(),
            sops: state.runs.sops().to_vec(),
            hub: Some(state.approvals.clone()),
            runs: Some(state.runs.clone()),
            budgets: Budgets::default(),
            local_user: None,
        }
    }

    /// The gateway of `sopilot mcp` (stdio) for the OS user `user`: no other door, runs in
    /// process.
    pub fn local(runner: Runner, sops: Vec<Sop>, budgets: Budgets, user: &str) -> McpContext {
        McpContext {
            runner,
            sops,
            hub: None,
            runs: None,
            budgets,
            local_user: Some(user.to_owned()),
        }
    }
}

/// Why serving over stdio stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum McpServeError {
    #[error("the MCP session did not start: {0}")]
    Start(String),
    #[error("the MCP session ended with an error: {0}")]
    Session(String),
}

/// Serves one MCP session on stdin/stdout until the client goes away or `shutdown`
/// resolves. The session's run is finished either way.
pub async fn serve_stdio(
    ctx: McpContext,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), McpServeError> {
    use rmcp::ServiceExt;
    let handler = SopilotMcp::new(Arc::new(ctx));
    let session = handler.session();
    let running = handler
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| McpServeError::Start(e.to_string()))?;
    let result = tokio::select! {
        r = running.waiting() => r.map(|_| ()).map_err(|e| McpServeError::Session(e.to_string())),
        () = shutdown => Ok(()),
    };
    session.finish();
    result
}
