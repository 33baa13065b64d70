//! The capacity of a load balancer per zone: its healthy targets, from CloudWatch's
//! `HealthyHostCount` by `AvailabilityZone` (summed over its target groups; the minimum of
//! the last minutes, so a flapping target is not counted). Zones are named by name in
//! CloudWatch and by ID in ARC: [`ZoneMap`] joins them. Anything else (an EKS cluster, an
//! Auto Scaling group) has no capacity read here and is reported unknown.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{Dimension, DimensionFilter, Metric, MetricDataQuery, MetricStat};
use serde::Serialize;

use crate::error::{ToolFailure, ToolResult};
use crate::zones::ZoneMap;
use crate::{Clients, clock};

const METRIC: &str = "HealthyHostCount";
/// The window the minimum is taken over.
const WINDOW_SECS: i64 = 5 * 60;
/// Metrics (target group × zone) read at most.
const MAX_METRICS: usize = 100;
/// Pages of ListMetrics read at most.
const MAX_PAGES: usize = 10;

/// Healthy targets per zone ID, or why they are not known.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Capacity {
    Known {
        /// Zone ID → healthy targets.
        per_zone: BTreeMap<String, f64>,
        /// Where the numbers come from, for the reader.
        source: String,
    },
    Unknown {
        unknown: String,
    },
}

impl Capacity {
    fn unknown(why: impl Into<String>) -> Self {
        Capacity::Unknown {
            unknown: why.into(),
        }
    }
}

/// CloudWatch's namespace and `LoadBalancer` dimension of a load balancer's ARN
/// (`...:loadbalancer/app/shop/50dc6c495c0c9188` → `AWS/ApplicationELB`, `app/shop/50dc...`).
pub fn load_balancer_of(arn: &str) -> Option<(&'static str, &str)> {
    let (_, lb) = arn.split_once(":loadbalancer/")?;
    let namespace = match lb.split('/').next()? {
        "app" => "AWS/ApplicationELB",
        "net" => "AWS/NetworkELB",
        "gwy" => "AWS/GatewayELB",
        _ => return None,
    };
    Some((namespace, lb))
}

/// The healthy targets per zone of the resource `arn` in `zone_ids`.
pub async fn read(c: &Clients, arn: &str, zone_ids: &[String]) -> ToolResult<Capacity> {
    let Some((namespace, lb)) = load_balancer_of(arn) else {
        return Ok(Capacity::unknown(format!(
            "{arn} is not a load balancer; its capacity per zone is not read here"
        )));
    };
    let metrics = zone_metrics(c, namespace, lb).await?;
    if metrics.is_empty() {
        return Ok(Capacity::unknown(format!(
            "CloudWatch has no {METRIC} by AvailabilityZone for {lb} in {namespace}"
        )));
    }
    let by_name = latest_minimum(c, &metrics).await?;
    Ok(per_zone_id(&c.zones, by_name, zone_ids, namespace))
}

/// Sums per zone name to per zone ID; unknown when a zone of the resource has no name.
fn per_zone_id(
    zones: &ZoneMap,
    by_name: BTreeMap<String, f64>,
    zone_ids: &[String],
    namespace: &str,
) -> Capacity {
    let mut per_zone = BTreeMap::new();
    for id in zone_ids {
        let Some(name) = zones.name_of(id) else {
            return Capacity::unknown(format!(
                "zone {id} has no zone name in SOPILOT_AZ_IDS, so its healthy targets (CloudWatch names zones by name: {}) cannot be matched; set SOPILOT_AZ_IDS=NAME=ID,...",
                by_name.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
        };
        per_zone.insert(id.clone(), by_name.get(name).copied().unwrap_or(0.0));
    }
    Capacity::Known {
        per_zone,
        source: format!(
            "{namespace} {METRIC}, minimum over the last {} minutes, summed over target groups",
            WINDOW_SECS / 60
        ),
    }
}

/// Every `HealthyHostCount` metric of `lb` that has an `AvailabilityZone` dimension.
async fn zone_metrics(c: &Clients, namespace: &str, lb: &str) -> ToolResult<Vec<Metric>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page =
            c.cw.list_metrics()
                .namespace(namespace)
                .metric_name(METRIC)
                .dimensions(
                    DimensionFilter::builder()
                        .name("LoadBalancer")
                        .value(lb)
                        .build(),
                )
                .dimensions(DimensionFilter::builder().name("AvailabilityZone").build())
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| ToolFailure::from_sdk("CloudWatch", c.attempts, e))?;
        out.extend(page.metrics().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() || out.len() >= MAX_METRICS {
            break;
        }
    }
    out.truncate(MAX_METRICS);
    Ok(out)
}

fn zone_of(m: &Metric) -> Option<&str> {
    m.dimensions()
        .iter()
        .find(|d: &&Dimension| d.name() == Some("AvailabilityZone"))
        .and_then(Dimension::value)
}

/// The latest per-minute minimum of each metric, summed per zone name.
async fn latest_minimum(c: &Clients, metrics: &[Metric]) -> ToolResult<BTreeMap<String, f64>> {
    let queries: Vec<MetricDataQuery> = metrics
        .iter()
        .enumerate()
        .map(|(i, m)| {
            MetricDataQuery::builder()
                .id(format!("m{i}"))
                .metric_stat(
                    MetricStat::builder()
                        .metric(m.clone())
                        .period(60)
                        .stat("Minimum")
                        .build(),
                )
                .build()
        })
        .collect();
    let end = clock::now().timestamp();
    let resp =
        c.cw.get_metric_data()
            .set_metric_data_queries(Some(queries))
            .start_time(AwsDateTime::from_secs(end - WINDOW_SECS))
            .end_time(AwsDateTime::from_secs(end))
            .send()
            .await
            .map_err(|e| ToolFailure::from_sdk("CloudWatch", c.attempts, e))?;
    let mut by_name: BTreeMap<String, f64> = BTreeMap::new();
    for r in resp.metric_data_results() {
        let index = r
            .id()
            .and_then(|id| id.strip_prefix('m')?.parse::<usize>().ok());
        let zone = index.and_then(|i| metrics.get(i)).and_then(zone_of);
        let latest = r
            .timestamps()
            .iter()
            .zip(r.values())
            .max_by_key(|(t, _)| t.secs())
            .map(|(_, v)| *v);
        if let (Some(zone), Some(v)) = (zone, latest) {
            *by_name.entry(zone.to_owned()).or_default() += v;
        }
    }
    Ok(by_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_balancers_map_to_their_namespace_and_dimension() {
        let arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop/1";
        assert_eq!(
            load_balancer_of(arn),
            Some(("AWS/ApplicationELB", "app/shop/1"))
        );
        let nlb = "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/edge/9f";
        assert_eq!(
            load_balancer_of(nlb),
            Some(("AWS/NetworkELB", "net/edge/9f"))
        );
        assert_eq!(
            load_balancer_of("arn:aws:eks:us-east-1:1:cluster/prod"),
            None
        );
    }

    #[test]
    fn capacity_by_zone_id_needs_every_zone_named() {
        let zones = ZoneMap::parse("us-east-1a=use1-az1,us-east-1b=use1-az2").unwrap();
        let by_name = BTreeMap::from([
            ("us-east-1a".to_owned(), 3.0),
            ("us-east-1b".to_owned(), 2.0),
        ]);
        let ids = vec!["use1-az1".to_owned(), "use1-az2".to_owned()];
        let Capacity::Known { per_zone, .. } = per_zone_id(&zones, by_name.clone(), &ids, "ns")
        else {
            panic!("known")
        };
        assert_eq!(per_zone["use1-az1"], 3.0);
        assert_eq!(per_zone["use1-az2"], 2.0);
        let ids = vec!["use1-az1".to_owned(), "use1-az4".to_owned()];
        let Capacity::Unknown { unknown } = per_zone_id(&zones, by_name, &ids, "ns") else {
            panic!("unknown")
        };
        assert!(
            unknown.contains("use1-az4") && unknown.contains("SOPILOT_AZ_IDS"),
            "{unknown}"
        );
    }
}
