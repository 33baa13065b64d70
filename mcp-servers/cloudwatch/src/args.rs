//! Tool arguments. The doc comments become the JSON Schema the model reads: they are prompt
//! text, written for a model and an SRE.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// Arguments of `get_metric_data`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetMetricData {
    /// Metric namespace, e.g. "ContainerInsights", "AWS/ApplicationELB", "AWS/EC2".
    pub namespace: String,
    /// Metric name, e.g. "node_cpu_utilization", "HTTPCode_Target_5XX_Count".
    pub metric: String,
    /// The metric's full dimension set as NAME: VALUE, e.g. {"ClusterName": "eks-prod",
    /// "Namespace": "payment", "Service": "payment-service"}. CloudWatch matches the whole
    /// set: use list_metrics to see which sets exist.
    pub dimensions: Option<BTreeMap<String, String>>,
    /// Statistic per period: Average (default), Sum, Minimum, Maximum, SampleCount, or a
    /// percentile such as p95 or p99.
    pub stat: Option<String>,
    /// Seconds per datapoint: 60 (default), or any multiple of 60.
    pub period_seconds: Option<i32>,
    /// How far back to look, in minutes (default 60, at most 20160 = 14 days).
    pub minutes: Option<i64>,
    /// Report when the series crossed this value, e.g. 80 for a CPU alarm threshold.
    pub threshold: Option<f64>,
}

/// Arguments of `list_metrics`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListMetrics {
    /// Only this namespace, e.g. "ContainerInsights".
    pub namespace: Option<String>,
    /// Only this metric name.
    pub metric: Option<String>,
    /// Only metrics having these dimensions; an empty value ("") matches any value, e.g.
    /// {"ClusterName": "eks-prod", "NodeName": ""}.
    pub dimensions: Option<BTreeMap<String, String>>,
}

/// What `container_insights` measures.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InsightsMetric {
    /// CPU as a percent of the node (node_cpu_utilization / pod_cpu_utilization).
    Cpu,
    /// Memory as a percent of the node (node_memory_utilization / pod_memory_utilization).
    Memory,
    /// Pod CPU as a percent of its limit (pod_cpu_utilization_over_pod_limit).
    CpuOverLimit,
    /// Pod memory as a percent of its limit (pod_memory_utilization_over_pod_limit); near
    /// 100 means OOM kills.
    MemoryOverLimit,
    /// Container restarts (pod_number_of_container_restarts).
    Restarts,
}

/// Arguments of `container_insights`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerInsights {
    /// EKS cluster name, e.g. "eks-prod".
    pub cluster: String,
    /// cpu, memory, cpu_over_limit, memory_over_limit or restarts.
    pub metric: InsightsMetric,
    /// Kubernetes namespace; with it the pods are measured, without it the nodes.
    pub namespace: Option<String>,
    /// A Kubernetes Service (its pods together), e.g. "payment-service".
    pub service: Option<String>,
    /// A workload's pods ("payment-service") or one pod by its full name
    /// ("payment-service-7d8f9c6b5-x2k9p").
    pub pod: Option<String>,
    /// One node, e.g. "ip-10-0-1-45"; omit (and omit namespace) for every node.
    pub node: Option<String>,
    /// How far back to look, in minutes (default 60).
    pub minutes: Option<i64>,
    /// Statistic per period (default Average).
    pub stat: Option<String>,
    /// Flag series whose average is at or above this, e.g. 80 (percent).
    pub threshold: Option<f64>,
}

/// Arguments of `describe_alarms`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeAlarms {
    /// Only alarms in this state: ALARM, OK or INSUFFICIENT_DATA.
    pub state: Option<String>,
    /// Only alarms whose name starts with this, e.g. "payment-".
    pub name_prefix: Option<String>,
}

/// Arguments of `alarm_history`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlarmHistory {
    /// The alarm's exact name.
    pub alarm_name: String,
    /// How far back, in hours (default 24).
    pub hours: Option<i64>,
}

/// Arguments of `filter_log_events`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterLogEvents {
    /// Log group name, e.g. "/aws/containerinsights/eks-prod/application".
    pub log_group: String,
    /// CloudWatch filter pattern, case-sensitive: terms that must all occur (ERROR timeout),
    /// "quoted phrases", ?alternatives (?ERROR ?Exception: any of them), -exclusions, or a
    /// %regex%. Omit for every event. A pattern naming a credential (password, token...) or
    /// a credential prefix (AKIA, ghp_, Bearer...) is refused.
    pub pattern: Option<String>,
    /// How far back, in minutes (default 30).
    pub minutes: Option<i64>,
    /// At most this many events (default 100, at most 1000); the newest are shown.
    pub limit: Option<i32>,
}

/// Arguments of `logs_insights_query`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsInsightsQuery {
    /// Log group names, e.g. ["/aws/containerinsights/eks-prod/application"].
    pub log_groups: Vec<String>,
    /// A Logs Insights query, e.g. "filter @message like /Exception/ | stats count() as n by
    /// kubernetes.pod_name | sort n desc | limit 20". No parse or pattern commands, no
    /// string or JSON functions, no text naming a credential or its prefix (see the tool).
    pub query: String,
    /// How far back, in minutes (default 60).
    pub minutes: Option<i64>,
    /// How long to wait for the query to finish, in seconds (default 30, at most 120).
    pub timeout_seconds: Option<u64>,
}

/// Arguments of `forecast_metric`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForecastMetric {
    /// Metric namespace, e.g. "ContainerInsights", "AWS/ApplicationELB".
    pub namespace: String,
    /// Metric name, e.g. "RequestCount", "pod_cpu_utilization".
    pub metric: String,
    /// The metric's full dimension set as NAME: VALUE (see list_metrics), e.g.
    /// {"ClusterName": "eks-prod", "Namespace": "shop", "Service": "checkout"}.
    pub dimensions: Option<BTreeMap<String, String>>,
    /// Statistic per period: Average (default), Sum (for counts such as requests), Maximum,
    /// Minimum, SampleCount or a percentile such as p95.
    pub stat: Option<String>,
    /// Seconds per point of history and of forecast: 300 (default) or another multiple of
    /// 60.
    pub period_seconds: Option<i32>,
    /// Hours of history to fit (default 168 = 7 days, at least 48 so the daily cycle is seen
    /// twice, at most 336).
    pub history_hours: Option<i64>,
    /// How far ahead to forecast, in minutes (default 60, at most 1440 and half the history).
    pub horizon_minutes: Option<i64>,
    /// Report when the forecast first reaches this value, e.g. a capacity limit or an alarm
    /// threshold: by the point forecast (most likely) and by the upper bound (earliest
    /// plausible).
    pub threshold: Option<f64>,
}

/// Arguments of `anomaly_band`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnomalyBand {
    /// Metric namespace, e.g. "ContainerInsights", "AWS/ApplicationELB".
    pub namespace: String,
    /// Metric name, e.g. "TargetResponseTime", "pod_network_rx_latency_ms".
    pub metric: String,
    /// The metric's full dimension set as NAME: VALUE (see list_metrics).
    pub dimensions: Option<BTreeMap<String, String>>,
    /// Statistic per period: Average (default), Sum, Maximum, Minimum, SampleCount or a
    /// percentile such as p99.
    pub stat: Option<String>,
    /// Seconds per point: 60 (default) or another multiple of 60.
    pub period_seconds: Option<i32>,
    /// How far back to check, in minutes (default 180, at most 1440). The band itself is
    /// trained on up to two weeks before that.
    pub minutes: Option<i64>,
    /// Width of the band in standard deviations (default 2; 3 flags only stark anomalies).
    pub band_width: Option<f64>,
}

/// Arguments of `service_graph`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceGraph {
    /// How far back, in minutes (default 30, at most 1440). Compare with a window before the
    /// incident to see what changed.
    pub minutes: Option<i64>,
    /// Only this service with its callers and callees, e.g. "payment-service".
    pub service: Option<String>,
    /// An X-Ray group name, to see only its traces' graph (default: every trace).
    pub group: Option<String>,
    /// At most this many services and this many edges are listed, unhealthy first (default
    /// 15, at most 50).
    pub limit: Option<usize>,
}

/// Arguments of `trace_summaries`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceSummaries {
    /// An X-Ray filter expression (default "fault = true"), e.g. "error = true",
    /// "service(\"payment-service\") { fault = true }", "edge(\"payment-service\",
    /// \"payments-db\")", "responsetime > 5", "http.status = 503", combined with AND, OR, NOT.
    pub filter: Option<String>,
    /// How far back, in minutes (default 30, at most 1440: X-Ray searches 24 hours at most).
    pub minutes: Option<i64>,
    /// At most this many root causes and entry points are listed (default 10, at most 50).
    pub limit: Option<usize>,
}
