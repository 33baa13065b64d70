//! `sopilot serve`: one axum server for every way SOPilot is used unattended or from a
//! channel — trigger webhooks (SNS, EventBridge, Alertmanager), the Slack bot, the HTTP API
//! for runs and approvals, the MCP gateway — plus `/healthz` and `/metrics`.
//!
//! Every inbound request is authenticated; a rejected request gets a JSON error and changes
//! nothing. Triggers are routed to SOPs by their front matter, deduplicated per key within a
//! window (a repeat joins the running run's timeline), and run with bounded concurrency
//! behind a bounded queue (full: 429). Every door resolves the same approval records.

pub mod api;
pub mod approvals;
pub mod auth;
pub mod console;
mod error;
pub mod hooks;
pub mod leader;
pub mod mcp;
pub mod metrics;
pub mod runs;
pub mod schedule;
pub mod slack;
#[cfg(test)]
mod testing;
pub mod watch;

use axum::serve::ListenerExt;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

pub use approvals::{ApprovalChannel, ApprovalHub, HubApprover};
pub use auth::{ApiToken, Identity, Role};
pub use error::ApiError;
pub use metrics::Metrics;
pub use runs::{Origin, RunManager, RunManagerOptions, StartError, StartRequest, Started};

/// Secrets and limits of the HTTP front ends. Secrets come from the environment.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// The named bearer tokens of `/api/*` and `/mcp` (`serve.api_tokens`, and
    /// `SOPILOT_API_TOKEN` as the approver `api`). None: both are closed.
    pub api_tokens: Vec<ApiToken>,
    /// The secret EventBridge API destinations send in `Authorization`
    /// (`SOPILOT_EVENTBRIDGE_SECRET`).
    pub eventbridge_secret: Option<String>,
    /// Alertmanager's bearer token (`SOPILOT_ALERTMANAGER_TOKEN`).
    pub alertmanager_token: Option<String>,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// Host names `/mcp` answers to besides loopback and the listen address (DNS rebinding
    /// protection; `serve.mcp_allowed_hosts`).
    pub mcp_allowed_hosts: Vec<String>,
    /// The Slack bot, when `SLACK_SIGNING_SECRET` is set.
    pub slack: Option<slack::SlackBot>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            api_tokens: Vec::new(),
            eventbridge_secret: None,
            alertmanager_token: None,
            max_body_bytes: 256 * 1024,
            mcp_allowed_hosts: Vec::new(),
            slack: None,
        }
    }
}

/// What every handler reaches.
#[derive(Clone)]
pub struct AppState {
    pub options: Arc<ServeOptions>,
    pub runs: RunManager,
    pub approvals: Arc<ApprovalHub>,
    pub metrics: Arc<Metrics>,
    /// The SNS subscription hook, when `serve.sns` is configured.
    pub sns: Option<Arc<hooks::sns::SnsHook>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("listen", &self.options.listen)
            .finish()
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// The router, with every front end. Tests call it directly.
pub fn app(state: AppState) -> Router {
    let limit = state.options.max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .merge(metrics::routes())
        .merge(api::routes())
        .merge(hooks::routes())
        .merge(mcp::routes(&state))
        .merge(slack::routes())
        .merge(console::routes())
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Serves until `shutdown` resolves; in-flight requests finish, queued runs are dropped (and
/// recorded as interrupted by the store on the next start).
pub async fn serve(
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(state.options.listen).await?;
    tracing::info!(
        "sopilot serve listening on http://{}",
        listener.local_addr()?
    );
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
