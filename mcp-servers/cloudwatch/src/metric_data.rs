//! GetMetricData queries: a metric's statistic by id (every metric tool builds its queries
//! here), and [`query`], which runs a metric with the expressions over it for
//! `forecast_metric` and `anomaly_band`, every page read, results merged by id and label.

use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};

use crate::Clients;
use crate::error::{ToolFailure, ToolResult};

const SERVICE: &str = "CloudWatch";
/// Pages of GetMetricData one tool call reads at most.
const MAX_PAGES: usize = 40;

/// One result series of a GetMetricData call, pages merged.
#[derive(Debug, Default)]
pub(crate) struct Answered {
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) points: Vec<(i64, f64)>,
    pub(crate) messages: Vec<String>,
}

/// The metric `namespace`/`metric` with the dimensions `dims`.
pub(crate) fn metric_of(namespace: &str, metric: &str, dims: &[(String, String)]) -> Metric {
    let mut m = Metric::builder().namespace(namespace).metric_name(metric);
    for (k, v) in dims {
        m = m.dimensions(Dimension::builder().name(k).value(v).build());
    }
    m.build()
}

/// A query named `id` for the statistic `stat` of `metric` per `period` seconds.
pub(crate) fn stat_query(id: &str, metric: Metric, period: i32, stat: &str) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(period)
                .stat(stat)
                .build(),
        )
        .build()
}

/// Runs GetMetricData over `[start, end)`, every page, oldest point first.
pub(crate) async fn query(
    c: &Clients,
    queries: Vec<MetricDataQuery>,
    start: i64,
    end: i64,
) -> ToolResult<Vec<Answered>> {
    let mut out: Vec<Answered> = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let resp =
            c.cw.get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(AwsDateTime::from_secs(start))
                .end_time(AwsDateTime::from_secs(end))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| ToolFailure::from_sdk(SERVICE, c.attempts, e))?;
        for r in resp.metric_data_results() {
            let (id, label) = (r.id().unwrap_or_default(), r.label().unwrap_or_default());
            let i = match out.iter().position(|a| a.id == id && a.label == label) {
                Some(i) => i,
                None => {
                    out.push(Answered {
                        id: id.to_owned(),
                        label: label.to_owned(),
                        ..Answered::default()
                    });
                    out.len() - 1
                }
            };
            if let Some(a) = out.get_mut(i) {
                a.points.extend(
                    r.timestamps()
                        .iter()
                        .map(|t| t.secs())
                        .zip(r.values().iter().copied()),
                );
                for m in r.messages() {
                    if let Some(v) = m.value()
                        && !a.messages.iter().any(|x| x == v)
                    {
                        a.messages.push(v.to_owned());
                    }
                }
            }
        }
        token = resp.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}
