//! X-Ray's service topology for an investigation: `service_graph` (GetServiceGraph: one line
//! per service and per edge with fault, error and throttle rates and latency, the unhealthy
//! first, and where faults originate) and `trace_summaries` (GetTraceSummaries: the traces
//! matching a filter expression, grouped by fault root cause, edge and entry point).

mod traces;

use std::collections::BTreeMap;

use aws_sdk_xray::primitives::DateTime;
use aws_sdk_xray::types::{EdgeStatistics, HistogramEntry, Service, ServiceStatistics};
use rmcp::model::CallToolResult;
use serde::Serialize;
use serde_json::json;
use sopilot_mcp_common::{Table, cap, ok_json};

use crate::Clients;
use crate::args::ServiceGraph;
use crate::error::{ToolFailure, ToolResult};
use crate::summary::{rfc3339, round};

pub use traces::trace_summaries;

const SERVICE: &str = "X-Ray";
const MAX_TEXT: usize = 16 * 1024;
/// Pages of GetServiceGraph read at most (a group's graph rarely needs a second).
const MAX_PAGES: usize = 5;

/// Unhealthy above these rates (percent).
const FAULT_PCT: f64 = 1.0;
const ERROR_PCT: f64 = 5.0;
const THROTTLE_PCT: f64 = 1.0;

/// A window of `minutes` ending now, checked against `max`.
pub(crate) fn window(minutes: Option<i64>, default: i64, max: i64) -> ToolResult<(i64, i64)> {
    let minutes = minutes.unwrap_or(default);
    if !(1..=max).contains(&minutes) {
        return Err(ToolFailure::BadArgument(format!(
            "minutes must be between 1 and {max} (got {minutes})"
        )));
    }
    let now = crate::clock::now().timestamp();
    Ok((now - minutes * 60, now))
}

/// `12:10Z–12:40Z (30 min)`.
pub(crate) fn span(from: i64, to: i64) -> String {
    let hm = |t: i64| rfc3339(t).get(11..16).unwrap_or_default().to_owned();
    format!("{}Z–{}Z ({} min)", hm(from), hm(to), (to - from) / 60)
}

/// Statistics of a service or an edge, as rates.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Health {
    pub requests: i64,
    pub fault_pct: f64,
    pub error_pct: f64,
    pub throttle_pct: f64,
    /// Mean response time, seconds.
    pub avg_s: Option<f64>,
    /// Percentiles estimated from the response-time histogram, seconds.
    pub p50_s: Option<f64>,
    pub p99_s: Option<f64>,
}

impl Health {
    fn new(
        total: Option<i64>,
        fault: Option<i64>,
        error_other: Option<i64>,
        throttle: Option<i64>,
        response_time: Option<f64>,
        histogram: &[HistogramEntry],
    ) -> Self {
        let n = total.unwrap_or(0);
        #[allow(clippy::cast_precision_loss)]
        let pct = |c: Option<i64>| {
            if n > 0 {
                (c.unwrap_or(0) as f64 * 1000.0 / n as f64).round() / 10.0
            } else {
                0.0
            }
        };
        Health {
            requests: n,
            fault_pct: pct(fault),
            error_pct: pct(error_other),
            throttle_pct: pct(throttle),
            #[allow(clippy::cast_precision_loss)]
            avg_s: response_time.filter(|_| n > 0).map(|t| round(t / n as f64)),
            p50_s: percentile(histogram, 0.50),
            p99_s: percentile(histogram, 0.99),
        }
    }

    fn of_service(s: Option<&ServiceStatistics>, histogram: &[HistogramEntry]) -> Self {
        let Some(s) = s else { return Health::default() };
        let (e, f) = (s.error_statistics(), s.fault_statistics());
        Self::new(
            s.total_count(),
            f.and_then(|f| f.total_count()),
            e.and_then(|e| e.other_count()),
            e.and_then(|e| e.throttle_count()),
            s.total_response_time(),
            histogram,
        )
    }

    fn of_edge(s: Option<&EdgeStatistics>, histogram: &[HistogramEntry]) -> Self {
        let Some(s) = s else { return Health::default() };
        let (e, f) = (s.error_statistics(), s.fault_statistics());
        Self::new(
            s.total_count(),
            f.and_then(|f| f.total_count()),
            e.and_then(|e| e.other_count()),
            e.and_then(|e| e.throttle_count()),
            s.total_response_time(),
            histogram,
        )
    }

    fn unhealthy(&self) -> bool {
        self.fault_pct >= FAULT_PCT
            || self.error_pct >= ERROR_PCT
            || self.throttle_pct >= THROTTLE_PCT
    }

    /// Higher is worse: faults first, then errors and throttling.
    fn badness(&self) -> f64 {
        self.fault_pct * 2.0 + self.error_pct + self.throttle_pct
    }

    fn cells(&self) -> [String; 6] {
        let secs = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v} s"));
        [
            self.requests.to_string(),
            format!("{} %", self.fault_pct),
            format!("{} %", self.error_pct),
            format!("{} %", self.throttle_pct),
            secs(self.avg_s),
            format!("{} / {}", secs(self.p50_s), secs(self.p99_s)),
        ]
    }
}

/// The `q` quantile of a histogram (values in seconds), `None` when it is empty.
pub(crate) fn percentile(h: &[HistogramEntry], q: f64) -> Option<f64> {
    let mut entries: Vec<(f64, i64)> = h
        .iter()
        .map(|e| (e.value(), i64::from(e.count())))
        .collect();
    entries.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: i64 = entries.iter().map(|e| e.1).sum();
    if total <= 0 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let rank = q * total as f64;
    let mut seen = 0;
    for (v, c) in &entries {
        seen += c;
        #[allow(clippy::cast_precision_loss)]
        if seen as f64 >= rank {
            return Some(round(*v));
        }
    }
    entries.last().map(|e| round(e.0))
}

/// A node of the graph.
#[derive(Debug, Clone, Serialize)]
struct Node {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(flatten)]
    health: Health,
}

/// A caller → callee edge.
#[derive(Debug, Clone, Serialize)]
struct Link {
    from: String,
    to: String,
    to_type: String,
    #[serde(flatten)]
    health: Health,
}

fn node_name(s: &Service) -> String {
    s.name()
        .map(str::to_owned)
        .or_else(|| s.names().first().cloned())
        .unwrap_or_else(|| s.r#type().unwrap_or("client").to_owned())
}

async fn fetch(c: &Clients, a: &ServiceGraph, from: i64, to: i64) -> ToolResult<Vec<Service>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let resp = c
            .xray
            .get_service_graph()
            .start_time(DateTime::from_secs(from))
            .end_time(DateTime::from_secs(to))
            .set_group_name(a.group.clone())
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| ToolFailure::from_sdk(SERVICE, c.attempts, e))?;
        out.extend(resp.services().iter().cloned());
        token = resp.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

/// Nodes and edges of the graph, `focus` (a service) with its callers and callees only.
fn shape(services: &[Service], focus: Option<&str>) -> (Vec<Node>, Vec<Link>) {
    let by_ref: BTreeMap<i32, &Service> = services
        .iter()
        .filter_map(|s| Some((s.reference_id()?, s)))
        .collect();
    let mut nodes = Vec::new();
    let mut links = Vec::new();
    for s in services {
        let name = node_name(s);
        if s.r#type() != Some("client") {
            nodes.push(Node {
                name: name.clone(),
                kind: s.r#type().unwrap_or("?").to_owned(),
                health: Health::of_service(s.summary_statistics(), s.response_time_histogram()),
            });
        }
        for e in s.edges() {
            let Some(target) = e.reference_id().and_then(|r| by_ref.get(&r)) else {
                continue;
            };
            links.push(Link {
                from: name.clone(),
                to: node_name(target),
                to_type: target.r#type().unwrap_or("?").to_owned(),
                health: Health::of_edge(e.summary_statistics(), e.response_time_histogram()),
            });
        }
    }
    if let Some(f) = focus {
        links.retain(|l| l.from == f || l.to == f);
        nodes.retain(|n| n.name == f || links.iter().any(|l| l.from == n.name || l.to == n.name));
    }
    let order = |a: &Health, b: &Health| {
        b.unhealthy()
            .cmp(&a.unhealthy())
            .then(b.badness().total_cmp(&a.badness()))
            .then(b.requests.cmp(&a.requests))
    };
    nodes.sort_by(|a, b| order(&a.health, &b.health));
    links.sort_by(|a, b| order(&a.health, &b.health));
    (nodes, links)
}

/// Where faults begin: a service reached by a faulting edge none of whose own calls fault,
/// with the faulting path from an entry point down to it.
fn fault_origins(links: &[Link]) -> Vec<Vec<String>> {
    let faulty: Vec<&Link> = links
        .iter()
        .filter(|l| l.health.fault_pct >= FAULT_PCT)
        .collect();
    let mut out = Vec::new();
    for l in &faulty {
        if faulty.iter().any(|x| x.from == l.to)
            || out.iter().any(|p: &Vec<String>| p.last() == Some(&l.to))
        {
            continue;
        }
        let mut path = vec![l.to.clone(), l.from.clone()];
        while let Some(up) = faulty
            .iter()
            .find(|x| path.last() == Some(&x.to) && !path.contains(&x.from))
        {
            path.push(up.from.clone());
        }
        path.reverse();
        out.push(path);
    }
    out
}

fn render(nodes: &[Node], links: &[Link], origins: &[Vec<String>], limit: usize) -> String {
    let mut text = String::new();
    for path in origins {
        text.push_str(&format!(
            "Faults originate at {}: faulting calls {}.\n",
            path.last().map_or("?", String::as_str),
            path.join(" → ")
        ));
    }
    let head = ["REQUESTS", "FAULT", "ERROR", "THROTTLE", "AVG", "P50 / P99"];
    let mut t = Table::new(["SERVICE", "TYPE"].into_iter().chain(head));
    for n in nodes.iter().take(limit) {
        t.row(
            [n.name.clone(), n.kind.clone()]
                .into_iter()
                .chain(n.health.cells()),
        );
    }
    text.push_str(&format!("\nServices (unhealthy first):\n{}", t.render()));
    if nodes.len() > limit {
        text.push_str(&format!(
            "... {} more services (raise limit, or focus on one with service)\n",
            nodes.len() - limit
        ));
    }
    let mut t = Table::new(["EDGE", "CALLEE TYPE"].into_iter().chain(head));
    for l in links.iter().take(limit) {
        t.row(
            [format!("{} → {}", l.from, l.to), l.to_type.clone()]
                .into_iter()
                .chain(l.health.cells()),
        );
    }
    text.push_str(&format!(
        "\nEdges, caller → callee, as the caller saw them (unhealthy first):\n{}",
        t.render()
    ));
    if links.len() > limit {
        text.push_str(&format!("... {} more edges\n", links.len() - limit));
    }
    text
}

pub async fn service_graph(c: &Clients, a: ServiceGraph) -> ToolResult<CallToolResult> {
    let (from, to) = window(a.minutes, 30, 24 * 60)?;
    let limit = a.limit.unwrap_or(15).clamp(1, 50);
    let services = fetch(c, &a, from, to).await?;
    let (nodes, links) = shape(&services, a.service.as_deref());
    if let Some(f) = &a.service
        && nodes.iter().all(|n| &n.name != f)
    {
        let mut known: Vec<String> = services
            .iter()
            .filter(|s| s.r#type() != Some("client"))
            .map(node_name)
            .collect();
        known.truncate(30);
        return Err(ToolFailure::NotFound(format!(
            "service {f:?} is not in the X-Ray service graph of the last {} min; services: {}",
            (to - from) / 60,
            if known.is_empty() {
                "none (is the application instrumented, and the group right?)".to_owned()
            } else {
                known.join(", ")
            }
        )));
    }
    let origins = fault_origins(&links);
    let (mut nodes, mut links) = (nodes, links);
    // Where faults begin comes first: the callee that fails, then the calls into it.
    let origin = |name: &str| origins.iter().any(|p| p.last().is_some_and(|o| o == name));
    nodes.sort_by_key(|n| !origin(&n.name));
    links.sort_by_key(|l| !(origin(&l.to) && l.health.fault_pct >= FAULT_PCT));
    let unhealthy = nodes.iter().filter(|n| n.health.unhealthy()).count()
        + links.iter().filter(|l| l.health.unhealthy()).count();
    let text = if nodes.is_empty() {
        format!(
            "X-Ray service graph, {}: no services (no traced requests in the window{})",
            span(from, to),
            a.group
                .as_ref()
                .map_or(String::new(), |g| format!(" for group {g}"))
        )
    } else {
        format!(
            "X-Ray service graph, {}: {} services, {} edges, {unhealthy} unhealthy (fault ≥ {FAULT_PCT} %, error ≥ {ERROR_PCT} % or throttle ≥ {THROTTLE_PCT} %). Percentiles are estimated from X-Ray's response-time histograms.\n{}",
            span(from, to),
            nodes.len(),
            links.len(),
            render(&nodes, &links, &origins, limit)
        )
    };
    let structured = json!({
        "from": rfc3339(from),
        "to": rfc3339(to),
        "fault_origins": origins,
        "services": nodes,
        "edges": links,
    });
    Ok(ok_json(
        cap(&text, MAX_TEXT, "focus on one service, or lower limit").text,
        &structured,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(from: &str, to: &str, fault: f64) -> Link {
        Link {
            from: from.into(),
            to: to.into(),
            to_type: "x".into(),
            health: Health {
                requests: 100,
                fault_pct: fault,
                ..Health::default()
            },
        }
    }

    #[test]
    fn faults_are_followed_to_the_deepest_faulting_service() {
        let links = [
            link("client", "api", 40.0),
            link("api", "payments", 40.0),
            link("payments", "db", 45.0),
            link("api", "cache", 0.0),
        ];
        assert_eq!(
            fault_origins(&links),
            vec![vec!["client", "api", "payments", "db"]]
        );
        assert!(fault_origins(&[link("client", "api", 0.5)]).is_empty());
    }

    #[test]
    fn percentiles_come_from_the_histogram() {
        let h: Vec<HistogramEntry> = [(0.1, 90), (1.0, 9), (10.0, 1)]
            .into_iter()
            .map(|(v, c)| HistogramEntry::builder().value(v).count(c).build())
            .collect();
        assert_eq!(percentile(&h, 0.5), Some(0.1));
        assert_eq!(percentile(&h, 0.99), Some(1.0));
        assert_eq!(percentile(&h, 1.0), Some(10.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
