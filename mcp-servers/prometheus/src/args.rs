//! Tool arguments. The doc comments become the JSON Schema the model reads: they are prompt
//! text, written for a model and an SRE.

use schemars::JsonSchema;
use serde::Deserialize;

/// Arguments of `query`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// PromQL, e.g. `sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="payment"}[5m]))`
    /// or `kube_deployment_status_replicas_available{deployment="payment-service"}`.
    pub query: String,
    /// Evaluation time, RFC 3339 (e.g. "2026-03-10T20:15:00Z"); default now. Use the
    /// alert's or incident's time to see the state then.
    pub time: Option<String>,
}

/// Arguments of `query_range`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryRange {
    /// PromQL returning an instant vector, e.g.
    /// `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="payment"}[5m])))`.
    pub query: String,
    /// How far back from `end` to look, in minutes (default 60, at most 10080 = 7 days).
    pub minutes: Option<i64>,
    /// End of the window, RFC 3339; default now.
    pub end: Option<String>,
    /// The smallest step in seconds you want; the tool raises it so every series fits the
    /// output (about 120 points per series), and says which step it used.
    pub step_seconds: Option<i64>,
}

/// Arguments of `alerts`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alerts {
    /// Only alerts in this state: "firing" or "pending"; default both.
    pub state: Option<String>,
    /// Only alerts whose alert name contains this text (case-insensitive), e.g. "Payment".
    pub name: Option<String>,
    /// Only alerts having these label values, e.g. {"namespace": "payment", "severity": "critical"}.
    pub labels: Option<std::collections::BTreeMap<String, String>>,
}

/// Arguments of `rules`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// "alert" for alerting rules only, "record" for recording rules only; default both.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Only rules whose name or group contains this text (case-insensitive).
    pub name: Option<String>,
}

/// Arguments of `series`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesArgs {
    /// Series selectors, at least one, e.g. ["{namespace=\"payment\"}",
    /// "kube_pod_container_status_restarts_total"]. A metric name alone lists its series.
    #[serde(rename = "match")]
    pub matchers: Vec<String>,
    /// How far back to look for series, in minutes (default 60).
    pub minutes: Option<i64>,
    /// End of the window, RFC 3339; default now.
    pub end: Option<String>,
}

/// Arguments of `label_values`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelValues {
    /// The label, e.g. "namespace", "pod", "job"; "__name__" lists metric names.
    pub label: String,
    /// Only values on series matching these selectors, e.g. ["{namespace=\"payment\"}"]
    /// for its pods, or ["{__name__=~\"http_.*\"}"].
    #[serde(rename = "match")]
    pub matchers: Option<Vec<String>>,
    /// How far back to look, in minutes (default 60).
    pub minutes: Option<i64>,
    /// End of the window, RFC 3339; default now.
    pub end: Option<String>,
}

/// Arguments of `targets`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Only targets of this scrape job, e.g. "kubernetes-pods".
    pub job: Option<String>,
    /// "down" for unhealthy targets only, "up" for healthy ones; default all.
    pub health: Option<String>,
}
