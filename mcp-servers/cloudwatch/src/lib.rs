//! `mcp-cloudwatch`: CloudWatch metrics, alarms and Logs for incident response, as an MCP
//! server on the official AWS SDK.
//!
//! Metric series come back summarised for a reader (min, max, average, p95, last, trend,
//! threshold crossings) with the raw points in structured content; Container Insights has a
//! shortcut by cluster, namespace, service, pod or node. Log searches and Logs Insights
//! queries are capped in bytes and say so; queries and patterns that could cut a log line
//! apart or test it for a secret's text are refused ([`guard`]), and query rows are redacted
//! with their whole line as context ([`context`]). `forecast_metric` forecasts a metric with a
//! prediction band (MSTL + ETS, `sopilot-forecast`) and says when it will cross a threshold;
//! `correlate` ranks candidate metrics against a symptom by which moved first and how strongly
//! they correlate (`sopilot-correlate`, [`correlate`]);
//! `anomaly_band` reports the points outside CloudWatch's `ANOMALY_DETECTION_BAND`. Every tool
//! is read-only; every call has a timeout and throttling is retried with backoff before it is
//! reported; every result passes the shared redaction once more on its way out
//! (`sopilot_mcp_common::run`). `service_graph` and `trace_summaries` read X-Ray: the services
//! and edges with their fault, error and throttle rates and latency, where faults originate, and
//! the failing traces grouped by root cause ([`xray`]).

mod alarms;
mod anomaly;
mod args;
pub mod cli;
mod clock;
mod context;
mod correlate;
mod error;
mod forecast;
mod guard;
mod logs;
mod metric_data;
mod metrics;
mod summary;
mod xray;

use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, ServerHandler, tool, tool_handler, tool_router};
use sopilot_mcp_common::run;

pub use error::ToolFailure;
pub use sopilot_mcp_common::aws::{ConfigError, load};

/// The longest any tool may take (Logs Insights has its own, longer, budget).
const TOOL_TIMEOUT: Duration = Duration::from_secs(90);

/// The AWS clients the tools use.
#[derive(Debug, Clone)]
pub struct Clients {
    cw: aws_sdk_cloudwatch::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    xray: aws_sdk_xray::Client,
    /// Attempts per call (for messages).
    attempts: u32,
}

impl Clients {
    /// Clients for CloudWatch, CloudWatch Logs and X-Ray from one configuration.
    pub fn new(config: &aws_config::SdkConfig, attempts: u32) -> Self {
        Clients {
            cw: aws_sdk_cloudwatch::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            xray: aws_sdk_xray::Client::new(config),
            attempts,
        }
    }
}

/// The MCP server.
#[derive(Clone)]
pub struct CloudWatchTools {
    clients: Clients,
    tool_router: ToolRouter<Self>,
}

impl std::fmt::Debug for CloudWatchTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudWatchTools")
            .field("tools", &self.tool_router.list_all().len())
            .finish()
    }
}

impl CloudWatchTools {
    pub fn new(clients: Clients) -> Self {
        CloudWatchTools {
            clients,
            tool_router: Self::tool_router() + Self::xray_router() + Self::correlate_router(),
        }
    }

    /// The tools, as `tools/list` returns them.
    pub fn tools(&self) -> Vec<rmcp::model::Tool> {
        let mut tools = self.tool_router.list_all();
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        tools
    }
}

#[tool_router]
impl CloudWatchTools {
    #[tool(
        description = "Fetch one metric series and summarise it: min, max, average, p95, last value, trend per hour, and (with threshold) how many points were at or above it and when it crossed. Raw points are in the structured content. Dimensions must be the metric's full set (see list_metrics); a wrong name or set is an error listing what exists.",
        annotations(
            title = "Get metric data",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_metric_data(
        &self,
        Parameters(a): Parameters<args::GetMetricData>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, metrics::get_metric_data(&self.clients, a)).await
    }

    #[tool(
        description = "List metrics and their dimension sets, filtered by namespace, metric name and dimensions (an empty dimension value matches any value). Use it to find the exact dimensions get_metric_data needs.",
        annotations(title = "List metrics", read_only_hint = true, open_world_hint = true)
    )]
    async fn list_metrics(
        &self,
        Parameters(a): Parameters<args::ListMetrics>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, metrics::list_metrics(&self.clients, a)).await
    }

    #[tool(
        description = "Container Insights for an EKS cluster in one call: CPU or memory of every node (or one node), or of a namespace's services, one service, a workload's pods or one pod by full name; also pod CPU/memory as a percent of the limit and container restarts. A table highest average first, with max, p95, last and trend; threshold flags the hot ones (e.g. 80).",
        annotations(
            title = "Container Insights",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn container_insights(
        &self,
        Parameters(a): Parameters<args::ContainerInsights>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, metrics::container_insights(&self.clients, a)).await
    }

    #[tool(
        description = "List metric alarms with state (ALARM, OK, INSUFFICIENT_DATA), since when, metric and condition, and the reason CloudWatch gave for every alarm not OK. Filter by state and name_prefix.",
        annotations(
            title = "Describe alarms",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn describe_alarms(
        &self,
        Parameters(a): Parameters<args::DescribeAlarms>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, alarms::describe_alarms(&self.clients, a)).await
    }

    #[tool(
        description = "An alarm's history, newest first: state changes (from, to, reason), actions executed (SNS notifications) and configuration updates over the last hours (default 24).",
        annotations(title = "Alarm history", read_only_hint = true, open_world_hint = true)
    )]
    async fn alarm_history(
        &self,
        Parameters(a): Parameters<args::AlarmHistory>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, alarms::alarm_history(&self.clients, a)).await
    }

    #[tool(
        description = "Forecast a metric from its history (MSTL with the daily cycle + ETS, fitted here): the expected value with a 95 % prediction band for the next horizon_minutes, the peak, and — with threshold — when it is first reached by the point forecast (most likely) and by the upper bound (earliest plausible; size capacity on this). Needs at least 48 h of history without large gaps, and says so otherwise. Points are in the structured content.",
        annotations(
            title = "Forecast metric",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn forecast_metric(
        &self,
        Parameters(a): Parameters<args::ForecastMetric>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, forecast::forecast_metric(&self.clients, a)).await
    }

    #[tool(
        description = "Check a metric against CloudWatch's anomaly detection band (ANOMALY_DETECTION_BAND, trained on up to two weeks of its history): how many recent points fall above or below the band, grouped into runs with the worst value, and where the latest point stands. Use it for 'is this latency or error rate unusual for this time of day?'.",
        annotations(title = "Anomaly band", read_only_hint = true, open_world_hint = true)
    )]
    async fn anomaly_band(
        &self,
        Parameters(a): Parameters<args::AnomalyBand>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, anomaly::anomaly_band(&self.clients, a)).await
    }

    #[tool(
        description = "Search a log group with a CloudWatch filter pattern over the last minutes: the count of matching events, the most frequent messages (numbers ignored) with their counts, and the newest events (Container Insights records shown as pod and log line). Capped at 16 KiB, saying so; credentials are redacted. Refused, because it could test a log line for a secret's text: a pattern whose text, or any text its %regex% can match, names a credential (password, secret, token, api_key, Authorization...) or carries a credential prefix (AKIA, ghp_, xox, sk_live_, eyJ, Bearer, -----BEGIN). Search for errors, not for secrets.",
        annotations(title = "Search logs", read_only_hint = true, open_world_hint = true)
    )]
    async fn filter_log_events(
        &self,
        Parameters(a): Parameters<args::FilterLogEvents>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, logs::filter_log_events(&self.clients, a)).await
    }

    #[tool(
        description = "Run a CloudWatch Logs Insights query (fields, display, filter, stats ... by, sort, dedup, limit) over log groups for the last minutes, waiting up to timeout_seconds for it to finish. Rows come back as a table (capped at 16 KiB, saying so) and as structured rows, credentials redacted; a query that selects fields also gets the whole @message, so every value is redacted in its line. Refused, because they could cut a log line apart or test it for a secret's text: parse, pattern, diff, anomaly and unnest; string and JSON functions (substr, replace, strcontains, strlen, concat, trim, ltrim, rtrim, toupper, tolower, jsonParse, jsonStringify, unmask); and any text in the query, or text a regex in it can match, that names a credential (password, secret, token, api_key, Authorization...) or carries a credential prefix (AKIA, ghp_, xox, sk_live_, eyJ, Bearer, -----BEGIN). Query whole messages, or count by fields such as kubernetes.pod_name.",
        annotations(
            title = "Logs Insights query",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn logs_insights_query(
        &self,
        Parameters(a): Parameters<args::LogsInsightsQuery>,
    ) -> Result<CallToolResult, McpError> {
        let budget = Duration::from_secs(a.timeout_seconds.unwrap_or(30).clamp(1, 120))
            + Duration::from_secs(30);
        run(budget, logs::logs_insights_query(&self.clients, a)).await
    }
}

#[tool_router(router = xray_router)]
impl CloudWatchTools {
    #[tool(
        description = "X-Ray service map over the last minutes (default 30): one line per service and per edge (caller → callee, as the caller saw it) with requests, fault (5xx), error (4xx) and throttle (429) rates, average and p50/p99 latency (estimated from X-Ray's histograms), the unhealthy first, and where faults originate (the deepest service reached by faulting calls none of whose own calls fault, with the path to it). Use it when a service's errors or latency may come from a dependency: follow the failure to its origin before acting on the service that alarmed. service focuses on one service's callers and callees.",
        annotations(
            title = "X-Ray service graph",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn service_graph(
        &self,
        Parameters(a): Parameters<args::ServiceGraph>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, xray::service_graph(&self.clients, a)).await
    }

    #[tool(
        description = "X-Ray traces matching a filter expression (default \"fault = true\") over the last minutes (default 30, at most 24 h), grouped: by root cause (the deepest service that faulted or erred, the failing call into it and its exception, as X-Ray's root-cause analysis found it) with counts, average and worst duration and the worst trace's id; by entry point (service, method, URL) with HTTP statuses; and the services the traces touched. Reads at most 1000 traces and says when more match. Use it after service_graph to confirm which dependency the failing requests die in.",
        annotations(
            title = "X-Ray trace summaries",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn trace_summaries(
        &self,
        Parameters(a): Parameters<args::TraceSummaries>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, xray::trace_summaries(&self.clients, a)).await
    }
}

#[tool_handler(router = self.tool_router, name = "mcp-cloudwatch", instructions = "CloudWatch for incident response (read-only). Start with describe_alarms {state: ALARM}, then container_insights for node or pod CPU and memory, get_metric_data for any other metric (list_metrics finds its exact dimensions), filter_log_events for error patterns and their counts, and logs_insights_query for aggregations such as errors per pod. For what comes next, forecast_metric forecasts a metric and when it crosses a threshold; anomaly_band says whether recent points are unusual for the time of day. To see which signal moved first, correlate ranks candidate metrics (a dependency's connections, throttles or latency; the service's own CPU) against the symptom by lead and correlation. When the trigger is a service symptom (errors, latency), service_graph shows the service's dependencies with their fault rates and where faults originate, and trace_summaries the failing traces by root cause.")]
impl ServerHandler for CloudWatchTools {}
