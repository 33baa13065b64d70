//! `correlate`: which metric moved first. Fetches a symptom and candidate metrics in one
//! GetMetricData call and ranks the candidates with `sopilot-correlate` (Pearson's r at lag 0,
//! the lag within a bound with the largest |r|, change points, the first anomalous point), one
//! line each. Its arguments live here, beside the tool, rather than in `args.rs`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use sopilot_correlate::{Options, Ranking, Series, rank};
use sopilot_mcp_common::{ok_json, run};

use crate::error::{ToolFailure, ToolResult};
use crate::metric_data::{metric_of, query, stat_query};
use crate::metrics::{
    check_minutes, check_period, check_stat, dimensions_map, dims_text, explain_missing,
};
use crate::summary::rfc3339;
use crate::{Clients, CloudWatchTools, TOOL_TIMEOUT};

/// Most candidates one call ranks.
const MAX_CANDIDATES: usize = 20;

/// One metric series, as get_metric_data names it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricRef {
    /// Metric namespace, e.g. "AWS/ApplicationELB", "AWS/RDS", "ContainerInsights".
    pub namespace: String,
    /// Metric name, e.g. "HTTPCode_Target_5XX_Count", "DatabaseConnections".
    pub metric: String,
    /// The metric's full dimension set as NAME: VALUE (see list_metrics), e.g.
    /// {"DBInstanceIdentifier": "payments-db-instance-1"}.
    pub dimensions: Option<BTreeMap<String, String>>,
    /// Statistic per period: Average (default), Sum (for counts), Maximum, Minimum,
    /// SampleCount or a percentile such as p99.
    pub stat: Option<String>,
    /// A short name for the findings (default: the metric name, with its dimensions when two
    /// series share a name).
    pub label: Option<String>,
}

/// Arguments of `correlate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Correlate {
    /// The symptom: the metric that alarmed or that users feel, e.g. {"namespace":
    /// "AWS/ApplicationELB", "metric": "HTTPCode_Target_5XX_Count", "dimensions":
    /// {"LoadBalancer": "app/k8s-shop-web-5f2c8e1d7a/9c3b6a2e4d1f8071"}, "stat": "Sum"}.
    pub symptom: MetricRef,
    /// 1 to 20 metrics that may have caused it: the dependencies' saturation and errors
    /// (AWS/RDS DatabaseConnections, AWS/DynamoDB ThrottledRequests, AWS/ElastiCache
    /// EngineCPUUtilization...), the service's own CPU or memory, an upstream's latency.
    pub candidates: Vec<MetricRef>,
    /// How far back, in minutes (default 60, at most 1440). Include calm before the
    /// incident: the first quarter of the window is each series' baseline for "first
    /// anomalous".
    pub minutes: Option<i64>,
    /// Seconds per point for every series: 60 (default) or a multiple of 60.
    pub period_seconds: Option<i32>,
    /// The longest lead or lag tried, in minutes (default 15, at most half the window).
    pub max_lag_minutes: Option<i64>,
}

#[tool_router(router = correlate_router, vis = "pub(crate)")]
impl CloudWatchTools {
    #[tool(
        description = "Which metric moved first: rank candidate metrics against a symptom metric over one window. For each candidate: Pearson's r at lag 0, the lead or lag (within max_lag_minutes) with the strongest correlation (\"DatabaseConnections led HTTPCode_Target_5XX_Count by 2 min, r=0.97\"), its changes in level and its first anomalous point against the window's first quarter, and whether that came before the symptom's. Strong correlations that lead rank first; a candidate that moved after the symptom is a consequence, not the cause; flat series are named as such. Use it when a service's errors or latency may come from a dependency, to see which signal moved first. Correlation is evidence of where to look, not proof: confirm with the dependency's own errors, logs or events. Points are in the structured content.",
        annotations(
            title = "Correlate metrics",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn correlate(
        &self,
        Parameters(a): Parameters<Correlate>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, correlate(&self.clients, a)).await
    }
}

/// The window and knobs after validation.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: i64,
    end: i64,
    minutes: i64,
    period: i32,
    max_lag_minutes: i64,
}

fn window(a: &Correlate) -> ToolResult<Window> {
    if a.candidates.is_empty() || a.candidates.len() > MAX_CANDIDATES {
        return Err(ToolFailure::BadArgument(format!(
            "candidates must list 1 to {MAX_CANDIDATES} metrics (got {}); pick the dependencies and resources the symptom could come from",
            a.candidates.len()
        )));
    }
    for m in std::iter::once(&a.symptom).chain(&a.candidates) {
        check_stat(m.stat.as_deref().unwrap_or("Average"))?;
    }
    let period = a.period_seconds.unwrap_or(60);
    check_period(period)?;
    let minutes = check_minutes(a.minutes.unwrap_or(60), 1_440)?;
    let max_lag_minutes = a.max_lag_minutes.unwrap_or(15.min(minutes / 2));
    if max_lag_minutes < 0 || max_lag_minutes > minutes / 2 {
        return Err(ToolFailure::BadArgument(format!(
            "max_lag_minutes must be between 0 and half the window ({} min; got {max_lag_minutes})",
            minutes / 2
        )));
    }
    let step = i64::from(period);
    // Whole periods only: the current one is still filling (a Sum would look like a drop).
    let end = crate::clock::now().timestamp().div_euclid(step) * step;
    let start = end - minutes * 60;
    Ok(Window {
        start,
        end,
        minutes,
        period,
        max_lag_minutes,
    })
}

/// Names for the findings: the label, else the metric name, with the dimensions when two
/// series would share it.
fn names(metrics: &[&MetricRef]) -> Vec<String> {
    let base = |m: &MetricRef| m.label.clone().unwrap_or_else(|| m.metric.clone());
    metrics
        .iter()
        .map(|m| {
            let shared = metrics.iter().filter(|o| base(o) == base(m)).count() > 1;
            match (&m.label, shared) {
                (None, true) => format!("{}{}", m.metric, dims_text(&dims(m))),
                _ => base(m),
            }
        })
        .collect()
}

fn dims(m: &MetricRef) -> Vec<(String, String)> {
    m.dimensions
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect()
}

fn describe(m: &MetricRef) -> String {
    let stat = m.stat.as_deref().unwrap_or("Average");
    format!(
        "{}/{} {} ({stat})",
        m.namespace,
        m.metric,
        dims_text(&dims(m))
    )
}

pub async fn correlate(c: &Clients, a: Correlate) -> ToolResult<CallToolResult> {
    let w = window(&a)?;
    let all: Vec<&MetricRef> = std::iter::once(&a.symptom).chain(&a.candidates).collect();
    let queries = all
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let stat = m.stat.as_deref().unwrap_or("Average");
            stat_query(
                &format!("m{i}"),
                metric_of(&m.namespace, &m.metric, &dims(m)),
                w.period,
                stat,
            )
        })
        .collect();
    let answered = query(c, queries, w.start, w.end).await?;
    let mut series: Vec<Vec<(i64, f64)>> = vec![Vec::new(); all.len()];
    for r in answered {
        if let Some(s) =
            r.id.strip_prefix('m')
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|i| series.get_mut(i))
        {
            s.extend(r.points);
        }
    }
    for (m, points) in all.iter().zip(&series) {
        if points.is_empty() {
            explain_missing(c, &m.namespace, &m.metric, &dims(m)).await?;
        }
    }
    if series[0].is_empty() {
        return Err(ToolFailure::InsufficientData(format!(
            "the symptom {} has no datapoints in the last {} min (the metric exists but has not reported); pick a window in which it did, or another symptom metric",
            describe(&a.symptom),
            w.minutes
        )));
    }
    let names = names(&all);
    let candidates: Vec<(String, Series)> = names[1..]
        .iter()
        .cloned()
        .zip(series[1..].iter().map(|p| to_series(p)))
        .collect();
    let step = u64::try_from(w.period).unwrap_or(60);
    let options = Options {
        step_seconds: Some(step),
        max_lag_steps: usize::try_from(w.max_lag_minutes * 60 / i64::from(w.period)).unwrap_or(0),
        ..Options::default()
    };
    let ranking = rank(&to_series(&series[0]), &candidates, &options)
        .map_err(|e| ToolFailure::InsufficientData(format!("cannot correlate: {e}")))?;
    Ok(render(&a, &names, &w, &ranking, &series))
}

fn to_series(points: &[(i64, f64)]) -> Series {
    Series::new(
        points
            .iter()
            .filter_map(|&(t, v)| DateTime::<Utc>::from_timestamp(t, 0).map(|at| (at, v)))
            .collect(),
    )
}

fn render(
    a: &Correlate,
    names: &[String],
    w: &Window,
    ranking: &Ranking,
    series: &[Vec<(i64, f64)>],
) -> CallToolResult {
    let symptom = &names[0];
    let mut lines = ranking.lines(symptom);
    let head = format!(
        "Correlation with {}, last {} min at {} s points, leads and lags up to {} min (led = the candidate moved first):",
        describe(&a.symptom),
        w.minutes,
        w.period,
        w.max_lag_minutes
    );
    for (i, line) in lines.iter_mut().enumerate().skip(1) {
        *line = format!("{i}. {line}");
    }
    let tail = "A strong correlation where the candidate moved first says where to look, not that it is the cause: confirm with that dependency's own errors, logs or events.";
    let text = format!("{head}\n{}\n{tail}\n", lines.join("\n"));
    let metric_json = |m: &MetricRef, name: &str, points: &[(i64, f64)]| {
        json!({
            "name": name, "namespace": m.namespace, "metric": m.metric,
            "dimensions": dimensions_map(&dims(m)), "stat": m.stat.as_deref().unwrap_or("Average"),
            "points": points.iter().map(|(t, v)| json!({"t": rfc3339(*t), "v": crate::summary::round(*v)})).collect::<Vec<_>>(),
        })
    };
    let all: Vec<&MetricRef> = std::iter::once(&a.symptom).chain(&a.candidates).collect();
    let metrics: Vec<_> = all
        .iter()
        .zip(names)
        .zip(series)
        .map(|((m, n), p)| metric_json(m, n, p))
        .collect();
    let structured = json!({
        "window": {"start": rfc3339(w.start), "end": rfc3339(w.end), "minutes": w.minutes, "period_seconds": w.period, "max_lag_minutes": w.max_lag_minutes},
        "symptom": symptom,
        "ranking": ranking,
        "metrics": metrics,
    });
    ok_json(text, &structured)
}
