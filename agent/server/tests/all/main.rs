//! The server's routes in process: `app(state)` answers requests through tower's `oneshot`,
//! with no socket, no child process and no simulator. Each door's authentication and its
//! refusals of bad input (SNS, EventBridge, Alertmanager, the API's roles, Slack signatures,
//! `/mcp`'s guard), and `/healthz` and `/metrics`. What needs the real binary (configuration,
//! runs on the simulator, restarts, the independent SNS and Slack signers) stays in the
//! `sopilot` crate's tests (`agent/cli/tests/all/serve*.rs`).

// The library's own router test helpers (`src/testing/router.rs`), compiled into this binary
// too. Their `crate::` paths name library items; the imports below give those items the same
// paths here.
#[path = "../../src/testing/router.rs"]
mod testing;
use sopilot_server::{
    AppState, ApprovalHub, Metrics, RunManager, RunManagerOptions, ServeOptions, app, auth,
};

mod server;

mod api;
mod hooks;
mod mcp;
mod probes;
mod routing;
mod slack_requests;
