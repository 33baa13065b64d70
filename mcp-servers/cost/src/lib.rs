//! `mcp-cost`: AWS Cost Explorer for SREs and FinOps questions, as an MCP server on the
//! official AWS SDK.
//!
//! `cost_and_usage` shows spend by day or month, grouped by service, usage type or tag;
//! `compare_periods` explains a change between two periods by ranking its drivers with
//! amounts and shares; `cost_forecast` projects spend. Read-only; every call has a timeout and
//! throttling is retried with backoff before it is reported; every result passes the shared
//! redaction on its way out (`sopilot_mcp_common::run`).

mod args;
pub mod cli;
mod compare;
mod dates;
mod error;
mod fetch;
mod usage;

use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, ServerHandler, tool, tool_handler, tool_router};
use sopilot_mcp_common::run;

pub use compare::{Comparison, Driver, compare};
pub use error::ToolFailure;
pub use sopilot_mcp_common::aws::{ConfigError, load};

/// The longest any tool may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(90);

/// The Cost Explorer client the tools use.
#[derive(Debug, Clone)]
pub struct Clients {
    ce: aws_sdk_costexplorer::Client,
    attempts: u32,
}

impl Clients {
    pub fn new(config: &aws_config::SdkConfig, attempts: u32) -> Self {
        Clients {
            ce: aws_sdk_costexplorer::Client::new(config),
            attempts,
        }
    }
}

/// The MCP server.
#[derive(Clone)]
pub struct CostTools {
    clients: Clients,
    tool_router: ToolRouter<Self>,
}

impl std::fmt::Debug for CostTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CostTools")
            .field("tools", &self.tool_router.list_all().len())
            .finish()
    }
}

impl CostTools {
    pub fn new(clients: Clients) -> Self {
        CostTools {
            clients,
            tool_router: Self::tool_router(),
        }
    }
}

#[tool_router]
impl CostTools {
    #[tool(
        description = "AWS spend (UnblendedCost) from start to end (end exclusive, YYYY-MM-DD) per day or month, as totals or grouped by SERVICE, USAGE_TYPE, USAGE_TYPE_GROUP, INSTANCE_TYPE, PURCHASE_TYPE, REGION or a tag (TAG:team), with each group's share; optionally one service only. The current month is marked estimated.",
        annotations(
            title = "Cost and usage",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn cost_and_usage(
        &self,
        Parameters(a): Parameters<args::CostAndUsage>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, usage::cost_and_usage(&self.clients, a)).await
    }

    #[tool(
        description = "Explain why spend changed between two periods (e.g. last month against the month before): both totals, the change in money and percent, and the drivers ranked largest first with base, compare, change and share of all increases; decreases (which offset them) listed apart. By default a driver is a service's usage type (e.g. EC2 BoxUsage:m5.4xlarge, inter-AZ data transfer, EBS gp3) with a per-service roll-up; group_by changes that.",
        annotations(
            title = "Compare periods",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn compare_periods(
        &self,
        Parameters(a): Parameters<args::ComparePeriods>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, compare::compare_periods(&self.clients, a)).await
    }

    #[tool(
        description = "Forecast AWS spend (UnblendedCost) from start (today or later) to end (exclusive), per day or month, with an 80 % prediction interval; optionally one service only.",
        annotations(title = "Cost forecast", read_only_hint = true, open_world_hint = true)
    )]
    async fn cost_forecast(
        &self,
        Parameters(a): Parameters<args::CostForecast>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, usage::cost_forecast(&self.clients, a)).await
    }
}

#[tool_handler(router = self.tool_router, name = "mcp-cost", instructions = "AWS Cost Explorer (read-only). Dates are YYYY-MM-DD and end dates are exclusive (a month is 2026-02-01 to 2026-03-01). For 'why did cost go up', call compare_periods on the two months; for where money goes, cost_and_usage grouped by SERVICE, USAGE_TYPE or TAG:key; for what is coming, cost_forecast.")]
impl ServerHandler for CostTools {}
