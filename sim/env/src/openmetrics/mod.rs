//! The simulated world's metric history as OpenMetrics text, for a real Prometheus:
//! `promtool tsdb create-blocks-from openmetrics FILE DIR` backfills a TSDB from it.
//!
//! Written, over a window ending at the scenario's now:
//! - kube-state-metrics series of the Kubernetes objects (pods, containers, deployments,
//!   nodes; [`kube`]): the cluster as it stands, each pod from its creation;
//! - cAdvisor series for the pods the scenario's `kubernetes.metrics` gives usage for;
//! - every CloudWatch metric of the scenario as `aws_<namespace>_<metric>` with its
//!   dimensions as `dimension_<Name>` labels (the convention of the CloudWatch exporters);
//! - the scenario's own `prometheus.series` ([`section`]): gauges, counters (the series is
//!   the rate per second) and histograms (a request rate and a mean latency), generated like
//!   CloudWatch series (baseline, events, noise...). `prometheus.rules` is the rule file a
//!   test gives the server ([`rules_file`]).

mod kube;
mod section;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::{RunningSim, SimError};

pub use section::rules_file;

/// A window and a resolution for the series that have none of their own.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Seconds between the points of the Kubernetes series.
    pub step: i64,
}

impl Window {
    /// The `hours` before the simulated world's now, one point a minute.
    pub fn before_now(sim: &RunningSim, hours: i64) -> Window {
        let to = sim.aws().start();
        Window {
            from: to - chrono::Duration::hours(hours),
            to,
            step: 60,
        }
    }

    /// Epoch seconds of each step in `[from, to]`, starting no earlier than `since`.
    pub(crate) fn ticks(&self, since: i64) -> impl Iterator<Item = i64> + use<> {
        let (from, to, step) = (self.from.timestamp(), self.to.timestamp(), self.step.max(1));
        let first = from.max(since);
        let first = first + (step - (first - from).rem_euclid(step)) % step;
        (0..)
            .map(move |i| first + i * step)
            .take_while(move |t| *t <= to)
    }
}

/// The kind of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Gauge,
    /// Sample names end in `_total`; the family name does not.
    Counter,
    /// `_bucket`, `_count` and `_sum` samples.
    Histogram,
}

/// Samples grouped by family then series, as OpenMetrics wants them.
#[derive(Debug, Default)]
pub(crate) struct Families {
    families: BTreeMap<String, Family>,
}

/// One metric family: its type, help and series (by sample name and labels).
#[derive(Debug)]
struct Family {
    kind: Kind,
    help: String,
    series: BTreeMap<String, Vec<(i64, f64)>>,
}

impl Families {
    /// Adds the points of one series: `sample` is the sample name (`x_total`, `x_bucket`),
    /// `labels` already rendered (`{a="b"}` or empty).
    pub fn add(
        &mut self,
        family: &str,
        kind: Kind,
        help: &str,
        sample: &str,
        labels: &str,
        points: &[(i64, f64)],
    ) {
        let f = self
            .families
            .entry(family.to_owned())
            .or_insert_with(|| Family {
                kind,
                help: help.to_owned(),
                series: BTreeMap::new(),
            });
        f.series
            .entry(format!("{sample}{labels}"))
            .or_default()
            .extend_from_slice(points);
    }

    /// Series and samples.
    pub fn counts(&self) -> (usize, usize) {
        let series = self.families.values().map(|f| f.series.len()).sum();
        let samples = self
            .families
            .values()
            .flat_map(|f| f.series.values())
            .map(Vec::len)
            .sum();
        (series, samples)
    }

    /// The OpenMetrics text, ending in `# EOF`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, Family { kind, help, series }) in &self.families {
            let kind = match kind {
                Kind::Gauge => "gauge",
                Kind::Counter => "counter",
                Kind::Histogram => "histogram",
            };
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
            for (id, points) in series {
                let mut points = points.clone();
                points.sort_by_key(|p| p.0);
                points.dedup_by_key(|p| p.0);
                for (t, v) in points {
                    let _ = writeln!(out, "{id} {} {t}", number(v));
                }
            }
        }
        out.push_str("# EOF\n");
        out
    }
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

/// `{a="b",c="d"}` (empty for no labels), values escaped, names made valid.
pub(crate) fn labels<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let parts: Vec<String> = pairs
        .into_iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{}=\"{v}\"", sanitize(k))
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

/// A valid metric or label name: `[a-zA-Z_][a-zA-Z0-9_]*`, other characters as `_`.
pub(crate) fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        out.insert(0, '_');
    }
    out
}

/// `HTTPCode_Target_5XX_Count` → `httpcode_target_5xx_count`, `CPUUtilization` →
/// `cpuutilization`: lower case, other characters as `_` (as the CloudWatch exporters do).
pub(crate) fn snake(name: &str) -> String {
    sanitize(name).to_lowercase()
}

/// The scenario's metric history over `window` as OpenMetrics text, with its counts.
#[derive(Debug, Clone)]
pub struct Export {
    pub text: String,
    pub series: usize,
    pub samples: usize,
}

/// Writes the simulated world's metric history over `window`.
pub fn export(sim: &RunningSim, window: Window) -> Result<Export, SimError> {
    let mut f = Families::default();
    kube::kube_state(sim, window, &mut f);
    kube::cadvisor(sim, window, &mut f);
    section::cloudwatch(sim.aws(), window, &mut f);
    section::series(
        sim.scenario().prometheus.as_ref(),
        sim.aws().start(),
        window,
        &mut f,
    )?;
    let (series, samples) = f.counts();
    Ok(Export {
        text: f.render(),
        series,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_render_as_openmetrics() {
        let mut f = Families::default();
        f.add(
            "b",
            Kind::Counter,
            "b things",
            "b_total",
            &labels([("pod", "p\"1")]),
            &[(120, 2.0), (60, 1.0)],
        );
        f.add("a", Kind::Gauge, "a", "a", "", &[(60, 0.5)]);
        assert_eq!(
            f.render(),
            "# TYPE a gauge\n# HELP a a\na 0.5 60\n# TYPE b counter\n# HELP b b things\nb_total{pod=\"p\\\"1\"} 1 60\nb_total{pod=\"p\\\"1\"} 2 120\n# EOF\n"
        );
        assert_eq!(f.counts(), (2, 3));
        assert_eq!(
            snake("HTTPCode_Target_5XX_Count"),
            "httpcode_target_5xx_count"
        );
        assert_eq!(sanitize("AWS/ApplicationELB"), "AWS_ApplicationELB");
        assert_eq!(sanitize("9lives"), "_9lives");
    }

    #[test]
    fn ticks_are_aligned_to_the_window() {
        let from = DateTime::from_timestamp(1000, 0).unwrap_or_default();
        let to = DateTime::from_timestamp(1300, 0).unwrap_or_default();
        let w = Window {
            from,
            to,
            step: 100,
        };
        assert_eq!(w.ticks(0).collect::<Vec<_>>(), vec![1000, 1100, 1200, 1300]);
        assert_eq!(w.ticks(1150).collect::<Vec<_>>(), vec![1200, 1300]);
        assert_eq!(w.ticks(1200).collect::<Vec<_>>(), vec![1200, 1300]);
    }
}
