//! `mcp-arc`: ARC zonal shift for incident response, as an MCP server on the official AWS SDK.
//!
//! A zonal shift moves a load balancer's (or another managed resource's) traffic away from
//! one Availability Zone for a while: the answer to a gray failure in that zone. The tools
//! list managed resources and zonal shifts, read one resource with its healthy targets per
//! zone ([`capacity`], CloudWatch's `HealthyHostCount`), and start or cancel a shift. Both
//! mutating tools take `dry_run` and answer an impact first ([`impact`]): the zone traffic
//! leaves, the capacity left in the other zones, the other shifts on the resource, the
//! duration; a shift that would leave no healthy target, no zone, or a second zonal shift on
//! the resource, and an `expires_in` ARC would refuse (1m to 72h), are refused with why.
//! ARC names zones by ID (`use1-az2`), CloudWatch by name (`us-east-1b`): the account's
//! mapping (`SOPILOT_AZ_IDS`, [`zones`]) joins them. Every call has a timeout; every result
//! is redacted on its way out (`sopilot_mcp_common::run`).

mod args;
mod capacity;
pub mod cli;
mod clock;
mod error;
mod expiry;
mod impact;
mod listing;
mod resource;
mod shift;
pub mod zones;

use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, ServerHandler, tool, tool_handler, tool_router};
use sopilot_mcp_common::run;

pub use error::ToolFailure;
pub use zones::ZoneMap;

/// The longest any tool may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// The service name in messages.
const SERVICE: &str = "ARC zonal shift";

/// The AWS clients the tools use, and the account's zone names.
#[derive(Debug, Clone)]
pub struct Clients {
    arc: aws_sdk_arczonalshift::Client,
    cw: aws_sdk_cloudwatch::Client,
    /// Attempts per call (for messages).
    attempts: u32,
    zones: ZoneMap,
}

impl Clients {
    /// Clients for ARC zonal shift and CloudWatch from one configuration.
    pub fn new(config: &aws_config::SdkConfig, attempts: u32, zones: ZoneMap) -> Self {
        Clients {
            arc: aws_sdk_arczonalshift::Client::new(config),
            cw: aws_sdk_cloudwatch::Client::new(config),
            attempts,
            zones,
        }
    }
}

/// The MCP server.
#[derive(Clone)]
pub struct ArcTools {
    clients: Clients,
    tool_router: ToolRouter<Self>,
}

impl std::fmt::Debug for ArcTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArcTools")
            .field("tools", &self.tool_router.list_all().len())
            .finish()
    }
}

impl ArcTools {
    pub fn new(clients: Clients) -> Self {
        ArcTools {
            clients,
            tool_router: Self::tool_router(),
        }
    }
}

#[tool_router]
impl ArcTools {
    #[tool(
        description = "List the resources ARC zonal shift manages in this account and Region (load balancers, EKS clusters, Auto Scaling groups): name, zones by ID (with their names when known) and applied weight (1 serving, 0 shifted away), the shifts in effect, autoshift status, ARN.",
        annotations(
            title = "List managed resources",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_managed_resources(
        &self,
        Parameters(a): Parameters<args::ListManagedResources>,
    ) -> Result<CallToolResult, McpError> {
        run(
            TOOL_TIMEOUT,
            listing::list_managed_resources(&self.clients, a),
        )
        .await
    }

    #[tool(
        description = "One managed resource: its zones and applied weights, the zonal shifts, practice runs or autoshifts in effect, and — for a load balancer — its healthy targets per zone (CloudWatch HealthyHostCount), the capacity a zonal shift would leave. Use it before proposing a shift.",
        annotations(
            title = "Get managed resource",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_managed_resource(
        &self,
        Parameters(a): Parameters<args::GetManagedResource>,
    ) -> Result<CallToolResult, McpError> {
        run(
            TOOL_TIMEOUT,
            listing::get_managed_resource(&self.clients, a),
        )
        .await
    }

    #[tool(
        description = "List zonal shifts (ACTIVE by default; EXPIRED, CANCELED or ALL), optionally of one resource: ID, status, zone traffic is away from, expiry, resource, comment. Use it to confirm a shift is in effect or to find the ID to cancel.",
        annotations(
            title = "List zonal shifts",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_zonal_shifts(
        &self,
        Parameters(a): Parameters<args::ListZonalShifts>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, listing::list_zonal_shifts(&self.clients, a)).await
    }

    #[tool(
        description = "Start a zonal shift: move a managed resource's traffic away from one Availability Zone (away_from, a zone ID such as use1-az2 or its name) until expires_in (1m to 72h) or a cancel. The answer (and a dry run's) is the impact: the zone left, the zones that take its traffic with their healthy targets and share of the total, other shifts on the resource, how long it lasts; a started shift's answer adds its ID and expiry. Refused: a shift leaving no healthy target or no zone, a second zonal shift on the same resource, a zone the resource is not in. Always decided by a human.",
        annotations(
            title = "Start zonal shift",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn start_zonal_shift(
        &self,
        Parameters(a): Parameters<args::StartZonalShift>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, shift::start_zonal_shift(&self.clients, a)).await
    }

    #[tool(
        description = "Cancel an active zonal shift by its ID (list_zonal_shifts): traffic returns to the zone it was moved away from. The answer (and a dry run's) names the zone and its healthy targets. Always decided by a human.",
        annotations(
            title = "Cancel zonal shift",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn cancel_zonal_shift(
        &self,
        Parameters(a): Parameters<args::CancelZonalShift>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, shift::cancel_zonal_shift(&self.clients, a)).await
    }
}

#[tool_handler(router = self.tool_router, name = "mcp-arc", instructions = "ARC zonal shift for a gray failure in one Availability Zone. list_managed_resources finds the load balancer; get_managed_resource shows its zones and healthy targets per zone; start_zonal_shift (dry_run first) moves its traffic away from the bad zone for a while, with the evidence in comment; list_zonal_shifts confirms it is active; cancel_zonal_shift returns the traffic. Starting and cancelling are always a human's decision.")]
impl ServerHandler for ArcTools {}
