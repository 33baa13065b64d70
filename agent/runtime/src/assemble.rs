//! The one place a gate and its runner are put together. `sopilot run`/`rehearse`, `serve`,
//! `mcp`, `eval` and the benchmarks all assemble through [`assemble`], so a call is gated
//! the same way whichever door it came through.

use std::sync::Arc;
use std::time::Duration;

use sopilot_llm::{ModelClient, PriceTable};
use sopilot_policy::Policy;

use crate::approval::Approver;
use crate::events::Observer;
use crate::gate::Gate;
use crate::gateway::{Gateway, GatewayError, ServerSpec};
use crate::runloop::Runner;
use crate::store::Store;
use crate::targets::{TargetSpec, Targets};

/// The approval timeout when none is configured: 15 minutes.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// What a runner is made of.
pub struct Parts {
    /// The MCP servers to start (builtin and configured), when no targets are configured.
    pub servers: Vec<ServerSpec>,
    /// The configured targets, each with its own servers; when not empty, `servers` is not
    /// used.
    pub targets: Vec<TargetSpec>,
    pub policy: Policy,
    pub model: Option<Arc<dyn ModelClient>>,
    /// Who is asked about escalations (a front end may replace it per run).
    pub approver: Arc<dyn Approver>,
    pub approval_timeout: Duration,
    pub store: Arc<Store>,
    pub prices: PriceTable,
    pub observer: Option<Observer>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("servers", &self.servers.len())
            .finish()
    }
}

/// Starts the servers and assembles the gate and the runner. Servers that fail to start are
/// returned beside the runner: their tools are simply absent, and the caller says so.
pub async fn assemble(parts: Parts) -> (Runner, Vec<GatewayError>) {
    let (targets, failures) = if parts.targets.is_empty() {
        let (gateway, failures) = Gateway::connect(parts.servers).await;
        (Targets::single(Arc::new(gateway)), failures)
    } else {
        let (targets, failures, clashes) = Targets::connect(parts.targets).await;
        for c in clashes {
            tracing::warn!(
                "{} (target {}) declares its own `target` argument, which SOPilot uses to route calls between targets; the tool is left out",
                c.tool,
                c.target
            );
        }
        (targets, failures)
    };
    let gate = Gate {
        gateway: targets.catalog().clone(),
        targets: Arc::new(targets),
        policy: Arc::new(parts.policy),
        approver: parts.approver,
        approval_timeout: parts.approval_timeout,
    };
    let runner = Runner {
        gate,
        store: parts.store,
        model: parts.model,
        prices: parts.prices,
        observer: parts.observer,
    };
    (runner, failures)
}
