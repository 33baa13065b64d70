//! The scenario's CloudWatch metrics as `aws_*` gauges, and its `prometheus` section: series
//! only a Prometheus has (generated with the CloudWatch series' generator: baseline, daily
//! cycle, trend, events, noise, gaps) and the rule groups a test gives the server.
//!
//! ```yaml
//! prometheus:
//!   series:
//!     - name: http_requests_total          # counter: `series` is the rate per second
//!       type: counter
//!       labels: {service: payment, code: "500"}
//!       series: {baseline: 0.2, events: [{at: -20m, add: 3}]}
//!     - name: http_request_duration_seconds  # histogram: a rate and a mean latency
//!       type: histogram
//!       labels: {service: payment}
//!       series: {baseline: 40}
//!       latency: {baseline: 0.08, events: [{at: -20m, add: 0.9}]}
//!   rules:                                  # Prometheus rule groups, as in a rule file
//!     - name: payment
//!       rules:
//!         - {alert: PaymentErrors, expr: 'sum(rate(http_requests_total{code="500"}[5m])) > 1', for: 0s}
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sopilot_sim_aws::AwsState;

use super::{Families, Kind, Window, labels, sanitize, snake};
use crate::SimError;

const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    #[serde(default)]
    series: Vec<SeriesDef>,
    /// Rule groups, as a rule file's `groups`.
    #[serde(default)]
    rules: Vec<Value>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum TypeName {
    #[default]
    Gauge,
    Counter,
    Histogram,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesDef {
    name: String,
    #[serde(default, rename = "type")]
    kind: TypeName,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    help: Option<String>,
    /// Resolution (default `1m`) and how far back data exists (default `1d`), as CloudWatch's.
    period: Option<String>,
    history: Option<String>,
    /// The value (gauge), the rate per second (counter, histogram): CloudWatch's series spec.
    #[serde(default)]
    series: Value,
    /// Histogram only: the mean latency in seconds (exponentially distributed).
    latency: Option<Value>,
    /// Histogram only: bucket bounds (default Prometheus's client defaults).
    buckets: Option<Vec<f64>>,
}

fn error(message: impl Into<String>) -> SimError {
    SimError::scenario(0, format!("section `prometheus`: {}", message.into()))
}

fn section(v: Option<&Value>) -> Result<Section, SimError> {
    match v {
        None => Ok(Section::default()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| error(e.to_string())),
    }
}

/// The rule file of the scenario's `prometheus.rules` (JSON, which Prometheus reads as
/// YAML), or `None` when it has none.
pub fn rules_file(prometheus: Option<&Value>) -> Result<Option<String>, SimError> {
    let s = section(prometheus)?;
    Ok((!s.rules.is_empty()).then(|| json!({"groups": s.rules}).to_string()))
}

/// Every CloudWatch metric as `aws_<namespace>_<metric>{dimension_<Name>="..."}`.
pub fn cloudwatch(aws: &AwsState, w: Window, f: &mut Families) {
    for m in aws.metric_history(w.from.timestamp(), w.to.timestamp()) {
        let ns = m.namespace.strip_prefix("AWS/").unwrap_or(&m.namespace);
        let family = format!("aws_{}_{}", snake(ns), snake(&m.name));
        let dims: Vec<(String, &str)> = m
            .dimensions
            .iter()
            .map(|(k, v)| (format!("dimension_{}", sanitize(k)), v.as_str()))
            .collect();
        let l = labels(dims.iter().map(|(k, v)| (k.as_str(), *v)));
        let help = format!(
            "CloudWatch {}/{} ({})",
            m.namespace,
            m.name,
            m.unit.as_deref().unwrap_or("None")
        );
        f.add(&family, Kind::Gauge, &help, &family, &l, &m.points);
    }
}

/// The scenario's own Prometheus series, generated from `start` (the scenario's now).
pub fn series(
    prometheus: Option<&Value>,
    start: DateTime<Utc>,
    w: Window,
    f: &mut Families,
) -> Result<(), SimError> {
    let s = section(prometheus)?;
    if s.series.is_empty() {
        return Ok(());
    }
    let generated = generate(&s.series, start, w)?;
    for (i, def) in s.series.iter().enumerate() {
        let main = generated.get(&format!("s{i}")).cloned().unwrap_or_default();
        let latency = generated.get(&format!("l{i}")).cloned().unwrap_or_default();
        write(def, &main, &latency, f)?;
    }
    Ok(())
}

/// Generates every series (and latency) with the simulated CloudWatch's generator.
fn generate(
    defs: &[SeriesDef],
    start: DateTime<Utc>,
    w: Window,
) -> Result<BTreeMap<String, Vec<(i64, f64)>>, SimError> {
    let metric = |name: String, d: &SeriesDef, series: &Value| {
        let mut m = json!({"namespace": "prometheus", "name": name, "series": series});
        if let Some(p) = &d.period {
            m["period"] = json!(p);
        }
        if let Some(h) = &d.history {
            m["history"] = json!(h);
        }
        m
    };
    let mut metrics = Vec::new();
    for (i, d) in defs.iter().enumerate() {
        metrics.push(metric(format!("s{i}"), d, &d.series));
        match (d.kind, &d.latency) {
            (TypeName::Histogram, Some(l)) => metrics.push(metric(format!("l{i}"), d, l)),
            (TypeName::Histogram, None) => {
                return Err(error(format!(
                    "series[{i}] ({}): a histogram needs `latency`, the mean in seconds",
                    d.name
                )));
            }
            (_, Some(_)) => {
                return Err(error(format!(
                    "series[{i}] ({}): `latency` is for histograms only",
                    d.name
                )));
            }
            _ => {}
        }
    }
    let cw = json!({"metrics": metrics});
    let state = AwsState::from_sections_at(Some(&cw), None, None, start)
        .map_err(|e| error(e.to_string().replace("metrics[", "generated series [")))?;
    Ok(state
        .metric_history(w.from.timestamp(), w.to.timestamp())
        .into_iter()
        .map(|m| (m.name, m.points))
        .collect())
}

fn check_name(def: &SeriesDef) -> Result<(), SimError> {
    if sanitize(&def.name) != def.name || def.name.starts_with('_') {
        return Err(error(format!(
            "{:?} is not a metric name: letters, digits and _, not starting with a digit",
            def.name
        )));
    }
    if let Some(k) = def
        .labels
        .keys()
        .find(|k| sanitize(k) != **k || k.starts_with("__"))
    {
        return Err(error(format!("{}: {k:?} is not a label name", def.name)));
    }
    Ok(())
}

/// Running sums of `rate × seconds since the previous point`.
fn integrate(points: &[(i64, f64)], mut each: impl FnMut(i64, f64)) {
    let mut prev: Option<i64> = None;
    for (t, rate) in points {
        #[allow(clippy::cast_precision_loss)]
        let dt = prev.map_or(0.0, |p| (t - p) as f64);
        each(*t, rate.max(0.0) * dt);
        prev = Some(*t);
    }
}

fn write(
    def: &SeriesDef,
    main: &[(i64, f64)],
    latency: &[(i64, f64)],
    f: &mut Families,
) -> Result<(), SimError> {
    check_name(def)?;
    let pairs: Vec<(&str, &str)> = def
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let help = def
        .help
        .clone()
        .unwrap_or_else(|| format!("{} (scenario series)", def.name));
    match def.kind {
        TypeName::Gauge => f.add(
            &def.name,
            Kind::Gauge,
            &help,
            &def.name,
            &labels(pairs),
            main,
        ),
        TypeName::Counter => {
            let family = def.name.strip_suffix("_total").unwrap_or(&def.name);
            let mut total = 0.0;
            let mut pts = Vec::new();
            integrate(main, |t, inc| {
                total += inc;
                pts.push((t, total));
            });
            f.add(
                family,
                Kind::Counter,
                &help,
                &format!("{family}_total"),
                &labels(pairs),
                &pts,
            );
        }
        TypeName::Histogram => histogram(def, &pairs, &help, main, latency, f),
    }
    Ok(())
}

/// `_bucket{le}`, `_count` and `_sum` of requests at `main`'s rate whose latencies are
/// exponential with `latency`'s mean: a bucket gets `1 - exp(-le/mean)` of them.
fn histogram(
    def: &SeriesDef,
    pairs: &[(&str, &str)],
    help: &str,
    main: &[(i64, f64)],
    latency: &[(i64, f64)],
    f: &mut Families,
) {
    let mean: BTreeMap<i64, f64> = latency.iter().copied().collect();
    let buckets = def
        .buckets
        .clone()
        .unwrap_or_else(|| DEFAULT_BUCKETS.to_vec());
    let mut counts = vec![0.0; buckets.len()];
    let (mut count, mut sum) = (0.0, 0.0);
    let mut out: Vec<Vec<(i64, f64)>> = vec![Vec::new(); buckets.len() + 2];
    integrate(main, |t, n| {
        let m = mean.get(&t).copied().unwrap_or(0.0).max(1e-9);
        for (i, le) in buckets.iter().enumerate() {
            counts[i] += n * (1.0 - (-le / m).exp());
            out[i].push((t, counts[i]));
        }
        count += n;
        sum += n * m;
        out[buckets.len()].push((t, count));
        out[buckets.len() + 1].push((t, sum));
    });
    let name = &def.name;
    for (i, le) in buckets.iter().enumerate() {
        let le = format!("{le}");
        let l = labels(pairs.iter().copied().chain([("le", le.as_str())]));
        f.add(
            name,
            Kind::Histogram,
            help,
            &format!("{name}_bucket"),
            &l,
            &out[i],
        );
    }
    let inf = labels(pairs.iter().copied().chain([("le", "+Inf")]));
    f.add(
        name,
        Kind::Histogram,
        help,
        &format!("{name}_bucket"),
        &inf,
        &out[buckets.len()],
    );
    f.add(
        name,
        Kind::Histogram,
        help,
        &format!("{name}_count"),
        &labels(pairs.iter().copied()),
        &out[buckets.len()],
    );
    f.add(
        name,
        Kind::Histogram,
        help,
        &format!("{name}_sum"),
        &labels(pairs.iter().copied()),
        &out[buckets.len() + 1],
    );
}
