//! `mcp-prometheus`: Prometheus and Amazon Managed Prometheus for incident response, as an
//! MCP server over the Prometheus HTTP API.
//!
//! `query` and `query_range` run PromQL; a range comes back as a summary line per series
//! (min, max and when, average, last, trend) then a bounded number of points, with a step
//! chosen so every series fits the output. `alerts` lists firing and pending alerts with
//! the rule behind each, `rules` the rule groups and their health, `series` and
//! `label_values` what exists, `targets` the scrape health, and `correlate` ranks candidate
//! series against a symptom by which moved first (`sopilot-correlate`). Authentication: none, a bearer
//! token, basic auth, or SigV4 (service `aps`) with the AWS credential chain for Amazon
//! Managed Prometheus. Every tool is read-only; every request has a timeout; bad PromQL, an
//! unreachable server and timeouts are tool errors naming the query and the fix; every
//! result passes the shared redaction (`sopilot_mcp_common::run`).

mod args;
pub mod auth;
pub mod cli;
mod client;
mod clock;
mod correlate;
mod discovery;
mod error;
mod query;
mod rules;
mod series;
mod window;

use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, ServerHandler, tool, tool_handler, tool_router};
use sopilot_mcp_common::run;

pub use client::Prom;
pub use error::ToolFailure;

/// What a tool may take on top of one request's timeout (credentials, several requests).
const TOOL_SLACK: Duration = Duration::from_secs(15);

/// The MCP server.
#[derive(Clone)]
pub struct PrometheusTools {
    prom: Prom,
    tool_router: ToolRouter<Self>,
}

impl std::fmt::Debug for PrometheusTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusTools")
            .field("url", &self.prom.url())
            .field("tools", &self.tool_router.list_all().len())
            .finish()
    }
}

impl PrometheusTools {
    pub fn new(prom: Prom) -> Self {
        PrometheusTools {
            prom,
            tool_router: Self::tool_router() + Self::correlate_router(),
        }
    }

    fn deadline(&self) -> Duration {
        self.prom.timeout() + TOOL_SLACK
    }
}

#[tool_router]
impl PrometheusTools {
    #[tool(
        description = "Evaluate PromQL at one instant (default now; give time to see an incident's moment): a table of series and values in Prometheus's order, at most 200 rows. For how something changed over time use query_range. An empty answer says how to find the right metric and label names.",
        annotations(
            title = "PromQL instant query",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn query(
        &self,
        Parameters(a): Parameters<args::Query>,
    ) -> Result<CallToolResult, McpError> {
        run(self.deadline(), query::query(&self.prom, a)).await
    }

    #[tool(
        description = "Evaluate PromQL over the last minutes (default 60, up to 7 days) ending at end (default now): per series one summary line (min, max and when, average, last, trend per hour) then evenly spread points; the step is chosen so each series has about 120 points and the text fits (raise step_seconds for less). At most 30 series are shown; aggregate (sum by (pod) (...)) or use topk for more. Use rate() for counters and histogram_quantile() for latency buckets.",
        annotations(
            title = "PromQL range query",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn query_range(
        &self,
        Parameters(a): Parameters<args::QueryRange>,
    ) -> Result<CallToolResult, McpError> {
        run(self.deadline(), query::query_range(&self.prom, a)).await
    }

    #[tool(
        description = "Firing and pending Prometheus alerts, firing first then oldest first: state, alert name, since when, the value that triggered it, its labels and annotations, and the rule behind it (PromQL expression, for duration, group). Filter by state, name and labels. Run the rule's expression with query_range to see how it developed.",
        annotations(
            title = "Prometheus alerts",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn alerts(
        &self,
        Parameters(a): Parameters<args::Alerts>,
    ) -> Result<CallToolResult, McpError> {
        run(self.deadline(), rules::alerts(&self.prom, a)).await
    }

    #[tool(
        description = "Alerting and recording rules by group: name, type, state (inactive, pending, firing), health, expression and for duration, and the last evaluation error of any rule that fails. Filter by type (alert or record) and name.",
        annotations(
            title = "Prometheus rules",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn rules(
        &self,
        Parameters(a): Parameters<args::Rules>,
    ) -> Result<CallToolResult, McpError> {
        run(self.deadline(), rules::rules(&self.prom, a)).await
    }

    #[tool(
        description = "List the series matching selectors over the last minutes (default 60): how many per metric, then each label set (at most 200). Use it to find which metrics exist for a namespace or pod ({namespace=\"payment\"}) and their exact labels before writing PromQL.",
        annotations(title = "Find series", read_only_hint = true, open_world_hint = true)
    )]
    async fn series(
        &self,
        Parameters(a): Parameters<args::SeriesArgs>,
    ) -> Result<CallToolResult, McpError> {
        run(self.deadline(), discovery::series(&self.prom, a)).await
    }

    #[tool(
        description = "The values of one label over the last minutes (default 60), optionally only on series matching selectors: label \"__name__\" lists metric names, \"namespace\" the namespaces, \"pod\" with match [\"{namespace=\\\"payment\\\"}\"] a namespace's pods.",
        annotations(title = "Label values", read_only_hint = true, open_world_hint = true)
    )]
    async fn label_values(
        &self,
        Parameters(a): Parameters<args::LabelValues>,
    ) -> Result<CallToolResult, McpError> {
        run(self.deadline(), discovery::label_values(&self.prom, a)).await
    }

    #[tool(
        description = "Scrape target health: up and down counts per job, then each target (down first) with its instance, last scrape, duration and error. A target that is down means its metrics are stale, not zero. Amazon Managed Prometheus has no targets of its own; there, query up == 0.",
        annotations(
            title = "Scrape targets",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn targets(
        &self,
        Parameters(a): Parameters<args::Targets>,
    ) -> Result<CallToolResult, McpError> {
        run(self.deadline(), discovery::targets(&self.prom, a)).await
    }
}

#[tool_handler(router = self.tool_router, name = "mcp-prometheus", instructions = "Prometheus for incident response (read-only). Start with alerts (what fires, and the rule behind it), then query_range on the alert's expression or on the symptom (rate(...[5m]) for counters, histogram_quantile for latency) around the incident's time; query for one instant. series and label_values find metric and label names; targets says whether scrapes fail (stale data is not zero). To see which signal moved first, correlate ranks candidate queries (a dependency's saturation or errors, the service's CPU) against the symptom by lead and correlation.")]
impl ServerHandler for PrometheusTools {}
