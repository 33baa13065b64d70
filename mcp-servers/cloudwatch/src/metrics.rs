//! Metrics: get_metric_data, list_metrics and the Container Insights shortcut. Series are
//! fetched in one GetMetricData call, summarised for a reader, raw points kept in the
//! structured content.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{DimensionFilter, MetricDataQuery, ScanBy};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_mcp_common::{Table, cap, ok_json};

use crate::Clients;
use crate::args::{ContainerInsights, GetMetricData, InsightsMetric, ListMetrics};
use crate::error::{ToolFailure, ToolResult};
use crate::metric_data::{metric_of, stat_query};
use crate::summary::{self, Summary, line, rfc3339, round};

const SERVICE: &str = "CloudWatch";
/// Most series one tool call fetches.
const MAX_SERIES: usize = 100;
const MAX_TEXT: usize = 16 * 1024;

/// Dimension filters for ListMetrics: a name and, optionally, the value it must have.
type Filters = Vec<(String, Option<String>)>;

/// One series to fetch.
#[derive(Debug, Clone)]
pub struct SeriesSpec {
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub stat: String,
    pub period: i32,
}

pub(crate) fn check_stat(stat: &str) -> ToolResult<()> {
    let ok = matches!(
        stat,
        "Average" | "Sum" | "Minimum" | "Maximum" | "SampleCount"
    ) || stat
        .strip_prefix('p')
        .and_then(|p| p.parse::<f64>().ok())
        .is_some_and(|p| (0.0..=100.0).contains(&p));
    if ok {
        Ok(())
    } else {
        Err(ToolFailure::BadArgument(format!(
            "stat {stat:?} is not valid: use Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p95"
        )))
    }
}

pub(crate) fn check_period(period: i32) -> ToolResult<()> {
    if period >= 1 && (matches!(period, 1 | 5 | 10 | 30) || period % 60 == 0) {
        Ok(())
    } else {
        Err(ToolFailure::BadArgument(format!(
            "period_seconds {period} is not valid: use 60 or a multiple of 60 (1, 5, 10 and 30 for high-resolution metrics)"
        )))
    }
}

pub fn check_minutes(minutes: i64, max: i64) -> ToolResult<i64> {
    if (1..=max).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(ToolFailure::BadArgument(format!(
            "minutes must be between 1 and {max} (got {minutes})"
        )))
    }
}

pub(crate) fn dims_text(d: &[(String, String)]) -> String {
    let parts: Vec<String> = d.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// Fetches every series over the last `minutes`, oldest point first.
pub async fn fetch(
    c: &Clients,
    specs: &[SeriesSpec],
    minutes: i64,
) -> ToolResult<Vec<Vec<(i64, f64)>>> {
    let end = crate::clock::now().timestamp();
    let start = end - minutes * 60;
    let queries: Vec<MetricDataQuery> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            stat_query(
                &format!("m{i}"),
                metric_of(&s.namespace, &s.metric, &s.dimensions),
                s.period,
                &s.stat,
            )
        })
        .collect();
    let mut out: Vec<Vec<(i64, f64)>> = vec![Vec::new(); specs.len()];
    let mut token: Option<String> = None;
    for _ in 0..20 {
        let resp =
            c.cw.get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(DateTime::from_secs(start))
                .end_time(DateTime::from_secs(end))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| ToolFailure::from_sdk(SERVICE, c.attempts, e))?;
        for r in resp.metric_data_results() {
            let Some(i) = r
                .id()
                .and_then(|id| id.strip_prefix('m'))
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            if let Some(series) = out.get_mut(i) {
                series.extend(
                    r.timestamps()
                        .iter()
                        .map(|t| t.secs())
                        .zip(r.values().iter().copied()),
                );
            }
        }
        token = resp.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

/// Lists metrics matching the filters (all pages, up to 2,000).
async fn list(
    c: &Clients,
    namespace: Option<&str>,
    metric: Option<&str>,
    filters: &[(String, Option<String>)],
) -> ToolResult<Vec<(String, String, Vec<(String, String)>)>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..4 {
        let mut req =
            c.cw.list_metrics()
                .set_namespace(namespace.map(str::to_owned))
                .set_metric_name(metric.map(str::to_owned))
                .set_next_token(token.clone());
        for (k, v) in filters {
            req = req.dimensions(
                DimensionFilter::builder()
                    .name(k)
                    .set_value(v.clone())
                    .build(),
            );
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ToolFailure::from_sdk(SERVICE, c.attempts, e))?;
        for m in resp.metrics() {
            let dims = m
                .dimensions()
                .iter()
                .filter_map(|d| Some((d.name()?.to_owned(), d.value()?.to_owned())))
                .collect();
            out.push((
                m.namespace().unwrap_or_default().to_owned(),
                m.metric_name().unwrap_or_default().to_owned(),
                dims,
            ));
        }
        token = resp.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

fn points_json(points: &[(i64, f64)]) -> Vec<Value> {
    points
        .iter()
        .map(|(t, v)| json!({"t": rfc3339(*t), "v": round(*v)}))
        .collect()
}

pub async fn get_metric_data(c: &Clients, a: GetMetricData) -> ToolResult<CallToolResult> {
    let stat = a.stat.unwrap_or_else(|| "Average".into());
    check_stat(&stat)?;
    let period = a.period_seconds.unwrap_or(60);
    check_period(period)?;
    let minutes = check_minutes(a.minutes.unwrap_or(60), 20_160)?;
    let dimensions: Vec<(String, String)> = a.dimensions.unwrap_or_default().into_iter().collect();
    let spec = SeriesSpec {
        namespace: a.namespace.clone(),
        metric: a.metric.clone(),
        dimensions: dimensions.clone(),
        stat: stat.clone(),
        period,
    };
    let points = fetch(c, std::slice::from_ref(&spec), minutes)
        .await?
        .into_iter()
        .next()
        .unwrap_or_default();
    let title = format!(
        "{}/{} {} — {stat} per {period}s, last {minutes} min",
        a.namespace,
        a.metric,
        dims_text(&dimensions)
    );
    let Some(s) = summary::summarise(&points, a.threshold) else {
        explain_missing(c, &a.namespace, &a.metric, &dimensions).await?;
        let text = format!(
            "{title}: no datapoints in this window (the metric exists; it may not have been reported recently — try more minutes)"
        );
        return Ok(ok_json(
            text,
            &json!({"namespace": a.namespace, "metric": a.metric, "dimensions": dimensions_map(&dimensions), "stat": stat, "period_seconds": period, "summary": null, "points": []}),
        ));
    };
    let text = format!("{title}: {} points\n{}\n", s.points, line(&s));
    let structured = json!({
        "namespace": a.namespace, "metric": a.metric, "dimensions": dimensions_map(&dimensions),
        "stat": stat, "period_seconds": period, "minutes": minutes,
        "summary": s, "points": points_json(&points),
    });
    Ok(ok_json(text, &structured))
}

pub(crate) fn dimensions_map(d: &[(String, String)]) -> BTreeMap<String, String> {
    d.iter().cloned().collect()
}

/// Turns "no data" into a NotFound that says what does exist, when the metric or its
/// dimension set is wrong; `Ok` when the series exists but is quiet.
pub(crate) async fn explain_missing(
    c: &Clients,
    namespace: &str,
    metric: &str,
    dims: &[(String, String)],
) -> ToolResult<()> {
    let same_name = list(c, Some(namespace), Some(metric), &[]).await?;
    if same_name.is_empty() {
        let mut names: Vec<String> = list(c, Some(namespace), None, &[])
            .await?
            .into_iter()
            .map(|m| m.1)
            .collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Err(ToolFailure::NotFound(format!(
                "no metrics in namespace {namespace:?}; check the namespace (e.g. ContainerInsights, AWS/ApplicationELB) with list_metrics"
            )));
        }
        names.truncate(40);
        return Err(ToolFailure::NotFound(format!(
            "no metric {metric:?} in namespace {namespace:?}; its metrics: {}",
            names.join(", ")
        )));
    }
    let exact = same_name
        .iter()
        .any(|(_, _, d)| d.len() == dims.len() && dims.iter().all(|x| d.contains(x)));
    if exact {
        return Ok(());
    }
    let sets: Vec<String> = same_name
        .iter()
        .take(10)
        .map(|(_, _, d)| dims_text(d))
        .collect();
    Err(ToolFailure::NotFound(format!(
        "{namespace}/{metric} has no series with exactly the dimensions {}; CloudWatch matches the whole set. Existing sets: {}",
        dims_text(dims),
        sets.join("; ")
    )))
}

pub async fn list_metrics(c: &Clients, a: ListMetrics) -> ToolResult<CallToolResult> {
    let filters: Vec<(String, Option<String>)> = a
        .dimensions
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, (!v.is_empty()).then_some(v)))
        .collect();
    let found = list(c, a.namespace.as_deref(), a.metric.as_deref(), &filters).await?;
    let mut table = Table::new(["NAMESPACE", "METRIC", "DIMENSIONS"]);
    for (ns, name, dims) in found.iter().take(300) {
        table.row([ns.clone(), name.clone(), dims_text(dims)]);
    }
    let text = if found.is_empty() {
        "no metrics match; widen the filters (an empty dimension value matches any value)"
            .to_owned()
    } else {
        format!("{} metric(s)\n{}", found.len(), table.render())
    };
    let structured = json!({"metrics": found.iter().map(|(ns, n, d)| json!({"namespace": ns, "metric": n, "dimensions": dimensions_map(d)})).collect::<Vec<_>>()});
    Ok(ok_json(
        cap(&text, MAX_TEXT, "filter by namespace, metric or dimensions").text,
        &structured,
    ))
}

pub async fn container_insights(c: &Clients, a: ContainerInsights) -> ToolResult<CallToolResult> {
    let stat = a.stat.clone().unwrap_or_else(|| "Average".into());
    check_stat(&stat)?;
    let minutes = check_minutes(a.minutes.unwrap_or(60), 20_160)?;
    let pod_mode = a.namespace.is_some() || a.service.is_some() || a.pod.is_some();
    if pod_mode && a.node.is_some() {
        return Err(ToolFailure::BadArgument("give node alone (node metrics), or namespace with service or pod (pod metrics), not both".into()));
    }
    let cluster = ("ClusterName".to_owned(), Some(a.cluster.clone()));
    let (metric, filters, wanted): (&str, Filters, Vec<&str>) = if pod_mode {
        let Some(ns) = a.namespace.clone() else {
            return Err(ToolFailure::BadArgument("pod metrics need the namespace, e.g. {\"namespace\": \"payment\", \"service\": \"payment-service\"}".into()));
        };
        let metric = match a.metric {
            InsightsMetric::Cpu => "pod_cpu_utilization",
            InsightsMetric::Memory => "pod_memory_utilization",
            InsightsMetric::CpuOverLimit => "pod_cpu_utilization_over_pod_limit",
            InsightsMetric::MemoryOverLimit => "pod_memory_utilization_over_pod_limit",
            InsightsMetric::Restarts => "pod_number_of_container_restarts",
        };
        let mut f = vec![cluster, ("Namespace".to_owned(), Some(ns))];
        let wanted = match (&a.service, &a.pod) {
            (Some(s), _) => {
                f.push(("Service".into(), Some(s.clone())));
                vec!["ClusterName", "Namespace", "Service"]
            }
            (None, Some(p)) => {
                // A full pod name when the workload name does not match.
                let full = list(
                    c,
                    Some("ContainerInsights"),
                    Some(metric),
                    &[
                        f[0].clone(),
                        f[1].clone(),
                        ("FullPodName".into(), Some(p.clone())),
                    ],
                )
                .await?;
                if full.is_empty() {
                    f.push(("PodName".into(), Some(p.clone())));
                    vec!["ClusterName", "Namespace", "PodName"]
                } else {
                    f.push(("FullPodName".into(), Some(p.clone())));
                    vec!["ClusterName", "Namespace", "PodName", "FullPodName"]
                }
            }
            (None, None) => {
                f.push(("Service".into(), None));
                vec!["ClusterName", "Namespace", "Service"]
            }
        };
        (metric, f, wanted)
    } else {
        let metric = match a.metric {
            InsightsMetric::Cpu => "node_cpu_utilization",
            InsightsMetric::Memory => "node_memory_utilization",
            InsightsMetric::CpuOverLimit
            | InsightsMetric::MemoryOverLimit
            | InsightsMetric::Restarts => {
                return Err(ToolFailure::BadArgument("cpu_over_limit, memory_over_limit and restarts are pod metrics: give a namespace (and a service or pod)".into()));
            }
        };
        (
            metric,
            vec![cluster, ("NodeName".into(), a.node.clone())],
            vec!["ClusterName", "InstanceId", "NodeName"],
        )
    };
    let found: Vec<Vec<(String, String)>> =
        list(c, Some("ContainerInsights"), Some(metric), &filters)
            .await?
            .into_iter()
            .map(|m| m.2)
            .filter(|d| {
                d.len() == wanted.len() && wanted.iter().all(|w| d.iter().any(|(k, _)| k == w))
            })
            .collect();
    if found.is_empty() {
        return Err(ToolFailure::NotFound(nothing_found(c, &a, metric).await?));
    }
    let specs: Vec<SeriesSpec> = found
        .iter()
        .take(MAX_SERIES)
        .map(|d| SeriesSpec {
            namespace: "ContainerInsights".into(),
            metric: metric.into(),
            dimensions: d.clone(),
            stat: stat.clone(),
            period: 60,
        })
        .collect();
    let series = fetch(c, &specs, minutes).await?;
    let label_key = *wanted.last().unwrap_or(&"ClusterName");
    type Row<'a> = (String, &'a SeriesSpec, Option<Summary>, &'a Vec<(i64, f64)>);
    let mut rows: Vec<Row<'_>> = specs
        .iter()
        .zip(&series)
        .map(|(s, p)| {
            let label = s
                .dimensions
                .iter()
                .find(|(k, _)| k == label_key)
                .map_or_else(String::new, |(_, v)| v.clone());
            (label, s, summary::summarise(p, a.threshold), p)
        })
        .collect();
    rows.sort_by(|x, y| {
        y.2.as_ref()
            .map(|s| s.average)
            .unwrap_or(f64::MIN)
            .total_cmp(&x.2.as_ref().map(|s| s.average).unwrap_or(f64::MIN))
    });
    let mut table = Table::new([
        label_key.to_uppercase().as_str(),
        "AVG",
        "MAX",
        "P95",
        "LAST",
        "TREND",
        "FLAG",
    ]);
    for (label, _, s, _) in &rows {
        match s {
            Some(s) => {
                let hot = a.threshold.is_some_and(|t| s.average >= t);
                table.row([
                    label.clone(),
                    s.average.to_string(),
                    s.max.to_string(),
                    s.p95.to_string(),
                    s.last.to_string(),
                    format!("{} {:+}/h", s.trend, s.trend_per_hour),
                    if hot {
                        format!("≥ {}", a.threshold.unwrap_or_default())
                    } else {
                        String::new()
                    },
                ]);
            }
            None => table.row([
                label.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "no data".into(),
                String::new(),
            ]),
        }
    }
    let text = format!(
        "ContainerInsights/{metric} in {} — {stat} per 60s, last {minutes} min, highest average first\n{}",
        a.cluster,
        table.render()
    );
    let structured = json!({
        "cluster": a.cluster, "metric": metric, "stat": stat, "minutes": minutes,
        "series": rows.iter().map(|(label, s, sum, p)| json!({"label": label, "dimensions": dimensions_map(&s.dimensions), "summary": sum, "points": points_json(p)})).collect::<Vec<_>>(),
    });
    Ok(ok_json(
        cap(&text, MAX_TEXT, "narrow to a service, pod or node").text,
        &structured,
    ))
}

/// What exists in the cluster, for a request that matched nothing.
async fn nothing_found(c: &Clients, a: &ContainerInsights, metric: &str) -> ToolResult<String> {
    let all = list(
        c,
        Some("ContainerInsights"),
        Some(metric),
        &[("ClusterName".into(), Some(a.cluster.clone()))],
    )
    .await?;
    if all.is_empty() {
        let clusters: std::collections::BTreeSet<String> = list(
            c,
            Some("ContainerInsights"),
            None,
            &[("ClusterName".into(), None)],
        )
        .await?
        .into_iter()
        .flat_map(|m| m.2)
        .filter(|(k, _)| k == "ClusterName")
        .map(|(_, v)| v)
        .collect();
        return Ok(format!(
            "no Container Insights metric {metric} for cluster {:?}; clusters with Container Insights: {}",
            a.cluster,
            if clusters.is_empty() {
                "none".to_owned()
            } else {
                clusters.into_iter().collect::<Vec<_>>().join(", ")
            }
        ));
    }
    let values = |key: &str| -> String {
        let set: std::collections::BTreeSet<&str> = all
            .iter()
            .flat_map(|m| m.2.iter())
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect();
        set.into_iter().take(30).collect::<Vec<_>>().join(", ")
    };
    Ok(format!(
        "no {metric} series in cluster {:?} match; namespaces: [{}], services: [{}], pods (workloads): [{}], nodes: [{}]",
        a.cluster,
        values("Namespace"),
        values("Service"),
        values("PodName"),
        values("NodeName")
    ))
}
