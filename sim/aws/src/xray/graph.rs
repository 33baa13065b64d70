//! GetServiceGraph: every service with the edges it calls, each with its statistics over the
//! window (sums of the minutes) and a response-time histogram.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::model::Topology;
use super::{CLIENT, XRay};

/// Latency quantiles each minute is spread over in the histograms.
const BUCKETS: u32 = 10;

/// Statistics of calls (an edge) or of requests served (a service).
#[derive(Debug, Clone, Default)]
pub(crate) struct Stats {
    pub total: f64,
    pub fault: f64,
    pub error: f64,
    pub throttle: f64,
    /// Seconds, summed over requests.
    pub response_time: f64,
    /// Latency in seconds (two significant digits, as a key in micro-seconds) to count.
    pub histogram: BTreeMap<u64, f64>,
}

impl Stats {
    fn add(&mut self, other: &Stats) {
        self.total += other.total;
        self.fault += other.fault;
        self.error += other.error;
        self.throttle += other.throttle;
        self.response_time += other.response_time;
        for (k, v) in &other.histogram {
            *self.histogram.entry(*k).or_default() += v;
        }
    }

    fn json(&self) -> Value {
        let n = |v: f64| v.round();
        let (total, fault, error, throttle) = (
            n(self.total),
            n(self.fault),
            n(self.error),
            n(self.throttle),
        );
        json!({
            "OkCount": (total - fault - error - throttle).max(0.0),
            "ErrorStatistics": {"ThrottleCount": throttle, "OtherCount": error, "TotalCount": error + throttle},
            "FaultStatistics": {"OtherCount": fault, "TotalCount": fault},
            "TotalCount": total,
            "TotalResponseTime": (self.response_time * 1000.0).round() / 1000.0,
        })
    }

    fn histogram_json(&self) -> Value {
        #[allow(clippy::cast_precision_loss)]
        let entries: Vec<Value> = self
            .histogram
            .iter()
            .filter(|(_, c)| c.round() >= 1.0)
            .map(|(k, c)| json!({"Value": *k as f64 / 1e6, "Count": c.round()}))
            .collect();
        Value::Array(entries)
    }
}

/// Two significant digits of `seconds`, in microseconds.
fn bucket_key(seconds: f64) -> u64 {
    if seconds <= 0.0 || !seconds.is_finite() {
        return 0;
    }
    let magnitude = 10f64.powf(seconds.log10().floor() - 1.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let key = ((seconds / magnitude).round() * magnitude * 1e6).round() as u64;
    key
}

/// Statistics of every edge over `[from, to)`.
pub(crate) fn edge_stats(x: &XRay, from: i64, to: i64) -> Vec<Stats> {
    let topo = Topology { edges: &x.edges };
    let first = from.div_euclid(60) * 60 + if from.rem_euclid(60) == 0 { 0 } else { 60 };
    let mut out = vec![Stats::default(); x.edges.len()];
    let mut t = first;
    while t < to {
        for (i, e) in x.edges.iter().enumerate() {
            let m = e.minute(t);
            if m.requests <= 0.0 {
                continue;
            }
            let s = &mut out[i];
            let fault = topo.effective_fault(i, t, 0);
            s.total += m.requests;
            s.fault += m.requests * fault;
            s.error += m.requests * m.error.min(1.0 - fault);
            s.throttle += m.requests * m.throttle.min((1.0 - fault - m.error).max(0.0));
            s.response_time += m.requests * m.latency_ms / 1000.0;
            for k in 0..BUCKETS {
                let q = (f64::from(k) + 0.5) / f64::from(BUCKETS);
                let seconds = m.latency_ms / 1000.0 * -(1.0 - q).ln();
                *s.histogram.entry(bucket_key(seconds)).or_default() +=
                    m.requests / f64::from(BUCKETS);
            }
        }
        t += 60;
    }
    out
}

fn reference_id(node: Option<usize>) -> usize {
    node.map_or(0, |i| i + 1)
}

/// The GetServiceGraph response for `[from, to)`.
pub(crate) fn service_graph(x: &XRay, from: i64, to: i64) -> Value {
    let stats = edge_stats(x, from, to);
    let edges_of = |node: Option<usize>| -> Vec<Value> {
        x.edges
            .iter()
            .zip(&stats)
            .filter(|(e, _)| e.from == node)
            .map(|(e, s)| {
                json!({
                    "ReferenceId": reference_id(Some(e.to)),
                    "StartTime": from,
                    "EndTime": to,
                    "SummaryStatistics": s.json(),
                    "ResponseTimeHistogram": s.histogram_json(),
                    "Aliases": [],
                })
            })
            .collect()
    };
    let mut services = Vec::new();
    if x.edges.iter().any(|e| e.from.is_none()) {
        services.push(json!({
            "ReferenceId": 0,
            "Names": [],
            "Root": false,
            "Type": CLIENT,
            "State": "unknown",
            "StartTime": from,
            "EndTime": to,
            "Edges": edges_of(None),
        }));
    }
    for (i, n) in x.nodes.iter().enumerate() {
        let mut served = Stats::default();
        for (e, s) in x.edges.iter().zip(&stats) {
            if e.to == i {
                served.add(s);
            }
        }
        let root = x.edges.iter().any(|e| e.to == i && e.from.is_none());
        let mut service = json!({
            "ReferenceId": reference_id(Some(i)),
            "Name": n.name,
            "Names": [n.name],
            "Root": root,
            "Type": n.kind,
            "State": if n.inferred { "unknown" } else { "active" },
            "StartTime": from,
            "EndTime": to,
            "Edges": edges_of(Some(i)),
            "SummaryStatistics": served.json(),
            "DurationHistogram": served.histogram_json(),
            "ResponseTimeHistogram": served.histogram_json(),
        });
        if !n.inferred
            && let Some(obj) = service.as_object_mut()
        {
            obj.insert("AccountId".into(), json!(x.account));
        }
        services.push(service);
    }
    json!({
        "StartTime": from,
        "EndTime": to,
        "Services": services,
        "ContainsOldGroupVersions": false,
    })
}

#[cfg(test)]
mod tests {
    use super::bucket_key;

    #[test]
    fn buckets_keep_two_significant_digits() {
        assert_eq!(bucket_key(0.0834), 83_000);
        assert_eq!(bucket_key(12.34), 12_000_000);
        assert_eq!(bucket_key(0.0), 0);
    }
}
