//! The topology resolved against the simulator's start: what one minute of an edge looks
//! like, and how likely a call is to fault because something below it did.

use crate::cloudwatch::series::Series;

use super::ExceptionSpec;

/// How deep fault propagation is followed (a cycle in the graph stops here).
pub(crate) const MAX_DEPTH: usize = 8;

/// A service of the graph.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub name: String,
    /// The X-Ray type, e.g. `AWS::EKS::Container`, `Database::SQL`.
    pub kind: String,
    /// Known only from its callers (a database, a remote API).
    pub inferred: bool,
}

/// Calls from one service (or the client) to another.
#[derive(Debug, Clone)]
pub(crate) struct Edge {
    /// The caller's index in `nodes`; `None` for the client.
    pub from: Option<usize>,
    pub to: usize,
    pub requests: Series,
    pub latency_ms: Series,
    pub fault_rate: Series,
    pub error_rate: Series,
    pub throttle_rate: Series,
    pub exception: Option<ExceptionSpec>,
    pub method: String,
    pub url: Option<String>,
    /// Mixed into every random draw of this edge's traces.
    pub seed: u64,
}

/// One minute of an edge, as stated by the scenario.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Minute {
    pub requests: f64,
    pub latency_ms: f64,
    pub fault: f64,
    pub error: f64,
    pub throttle: f64,
}

fn rate(s: &Series, t: i64) -> f64 {
    s.value_at(t).unwrap_or(0.0).clamp(0.0, 1.0)
}

impl Edge {
    /// The minute starting at `t` (a gap in `requests` is no traffic).
    pub fn minute(&self, t: i64) -> Minute {
        Minute {
            requests: self.requests.value_at(t).unwrap_or(0.0).max(0.0),
            latency_ms: self.latency_ms.value_at(t).unwrap_or(0.0).max(0.0),
            fault: rate(&self.fault_rate, t),
            error: rate(&self.error_rate, t),
            throttle: rate(&self.throttle_rate, t),
        }
    }
}

/// The graph of a scenario, for computations over it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Topology<'a> {
    pub edges: &'a [Edge],
}

impl Topology<'_> {
    /// Requests per minute into `node` at `t`, from every caller.
    pub fn incoming(&self, node: usize, t: i64) -> f64 {
        self.edges
            .iter()
            .filter(|e| e.to == node)
            .map(|e| e.minute(t).requests)
            .sum()
    }

    /// The indices of the edges leaving `node`.
    pub fn outgoing(&self, node: usize) -> impl Iterator<Item = usize> + '_ {
        self.edges
            .iter()
            .enumerate()
            .filter(move |(_, e)| e.from == Some(node))
            .map(|(i, _)| i)
    }

    /// Share of one request into `node` that makes the call `edge` (at most 1).
    pub fn call_share(&self, edge: usize, t: i64) -> f64 {
        let Some(e) = self.edges.get(edge) else {
            return 0.0;
        };
        let Some(from) = e.from else { return 1.0 };
        let inc = self.incoming(from, t);
        if inc <= 0.0 {
            0.0
        } else {
            (e.minute(t).requests / inc).min(1.0)
        }
    }

    /// Probability that a request into `node` at `t` meets a fault in one of its downstream
    /// calls (which then propagates to it).
    pub fn downstream_fault(&self, node: usize, t: i64, depth: usize) -> f64 {
        if depth >= MAX_DEPTH {
            return 0.0;
        }
        let clean: f64 = self
            .outgoing(node)
            .map(|i| 1.0 - self.call_share(i, t) * self.effective_fault(i, t, depth + 1))
            .product();
        (1.0 - clean).clamp(0.0, 1.0)
    }

    /// The fault rate a caller observes on `edge` at `t`: the stated one, or what the callee's
    /// own downstream faults impose if that is more.
    pub fn effective_fault(&self, edge: usize, t: i64, depth: usize) -> f64 {
        let Some(e) = self.edges.get(edge) else {
            return 0.0;
        };
        e.minute(t).fault.max(self.downstream_fault(e.to, t, depth))
    }
}

/// A small deterministic generator (splitmix64): same seed, same traces.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let v = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        v
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An exponentially distributed latency around `mean`.
    pub fn latency(&mut self, mean: f64) -> f64 {
        mean * -(1.0 - self.unit()).max(1e-12).ln()
    }
}
