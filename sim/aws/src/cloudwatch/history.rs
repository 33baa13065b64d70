//! Every metric's generated history over a window, for exporters that replay the simulated
//! world elsewhere (sim/env writes it as OpenMetrics for a real Prometheus).

use super::CloudWatch;

/// One metric's points over a window, at its native resolution, gaps left out.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricHistory {
    pub namespace: String,
    pub name: String,
    /// In the order the scenario gives them.
    pub dimensions: Vec<(String, String)>,
    pub unit: Option<String>,
    /// `(epoch seconds, value)`, oldest first.
    pub points: Vec<(i64, f64)>,
}

impl CloudWatch {
    /// Each metric's points in `[from, to]` (epoch seconds), never before its history starts.
    pub fn history(&self, from: i64, to: i64) -> Vec<MetricHistory> {
        self.metrics
            .iter()
            .map(|m| {
                let period = m.series.period.max(1);
                let first = from.max(m.since).div_euclid(period) * period;
                let first = if first < from.max(m.since) {
                    first + period
                } else {
                    first
                };
                let points = (0..)
                    .map(|i| first + i * period)
                    .take_while(|t| *t <= to)
                    .filter_map(|t| m.series.value_at(t).map(|v| (t, v)))
                    .collect();
                MetricHistory {
                    namespace: m.namespace.clone(),
                    name: m.name.clone(),
                    dimensions: m.dimensions.clone(),
                    unit: m.unit.clone(),
                    points,
                }
            })
            .collect()
    }
}
