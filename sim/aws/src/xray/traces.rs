//! GetTraceSummaries: traces sampled from the entry points' edges minute by minute, each
//! following the calls below it (a call is made as often as its edge's share of the
//! callee's traffic), faulting, erroring and throttling at the edges' rates, with the fault
//! root cause the deepest service that faulted. Filtered by the request's expression and
//! paged.

use serde_json::{Value, json};

use super::XRay;
use super::filter::{self, Flag, NumField, Subject, TextField};
use super::model::{MAX_DEPTH, Rng, Topology};
use crate::error::{ApiError, ApiResult};
use crate::req::{str_of, token_offset};

/// Summaries per page.
const PAGE: usize = 100;
const TOKEN: &str = "xt-";

/// One call of a trace: the edge and how it ended.
#[derive(Debug, Clone)]
struct Call {
    edge: usize,
    from: String,
    to: String,
    fault: bool,
    error: bool,
    throttle: bool,
    seconds: f64,
}

impl Subject for Call {
    fn flag(&self, f: Flag) -> bool {
        match f {
            Flag::Ok => !(self.fault || self.error || self.throttle),
            Flag::Fault => self.fault,
            Flag::Error => self.error || self.throttle,
            Flag::Throttle => self.throttle,
        }
    }
    fn number(&self, f: NumField) -> Option<f64> {
        match f {
            NumField::ResponseTime | NumField::Duration => Some(self.seconds),
            NumField::HttpStatus => Some(f64::from(status(self.fault, self.error, self.throttle))),
        }
    }
    fn text(&self, _: TextField) -> Option<&str> {
        None
    }
    fn service_parts(&self, _: &str) -> Vec<&dyn Subject> {
        Vec::new()
    }
    fn edge_parts(&self, _: &str, _: &str) -> Vec<&dyn Subject> {
        Vec::new()
    }
}

/// Where a fault or an error began: the services from the entry point down to it, and the
/// call that failed there.
#[derive(Debug, Clone)]
struct Origin {
    path: Vec<usize>,
    edge: usize,
}

#[derive(Debug, Clone)]
struct Trace {
    id: String,
    start: f64,
    method: String,
    url: Option<String>,
    calls: Vec<Call>,
    fault: Option<Origin>,
    error: Option<Origin>,
    throttle: bool,
    seconds: f64,
}

fn status(fault: bool, error: bool, throttle: bool) -> u16 {
    if fault {
        500
    } else if throttle {
        429
    } else if error {
        400
    } else {
        200
    }
}

impl Trace {
    fn status(&self) -> u16 {
        status(self.fault.is_some(), self.error.is_some(), self.throttle)
    }
}

impl Subject for Trace {
    fn flag(&self, f: Flag) -> bool {
        match f {
            Flag::Ok => self.fault.is_none() && self.error.is_none() && !self.throttle,
            Flag::Fault => self.fault.is_some(),
            Flag::Error => self.error.is_some() || self.throttle,
            Flag::Throttle => self.throttle,
        }
    }
    fn number(&self, f: NumField) -> Option<f64> {
        match f {
            NumField::ResponseTime | NumField::Duration => Some(self.seconds),
            NumField::HttpStatus => Some(f64::from(self.status())),
        }
    }
    fn text(&self, f: TextField) -> Option<&str> {
        match f {
            TextField::Url => self.url.as_deref(),
            TextField::Method => Some(&self.method),
        }
    }
    fn service_parts(&self, service: &str) -> Vec<&dyn Subject> {
        self.calls
            .iter()
            .filter(|c| c.to == service)
            .map(|c| c as &dyn Subject)
            .collect()
    }
    fn edge_parts(&self, from: &str, to: &str) -> Vec<&dyn Subject> {
        self.calls
            .iter()
            .filter(|c| c.from == from && c.to == to)
            .map(|c| c as &dyn Subject)
            .collect()
    }
}

/// Walks one trace: calls, faults and their origins.
struct Walk<'a> {
    x: &'a XRay,
    topo: Topology<'a>,
    t: i64,
    rng: Rng,
    calls: Vec<Call>,
    error: Option<Origin>,
    throttle: bool,
}

/// How one call ended.
struct Outcome {
    fault: Option<Origin>,
    seconds: f64,
}

impl Walk<'_> {
    fn name(&self, node: Option<usize>) -> String {
        node.and_then(|i| self.x.nodes.get(i))
            .map_or_else(|| super::CLIENT.to_owned(), |n| n.name.clone())
    }

    fn call(&mut self, edge: usize, path: &mut Vec<usize>, depth: usize) -> Outcome {
        let Some(e) = self.x.edges.get(edge) else {
            return Outcome {
                fault: None,
                seconds: 0.0,
            };
        };
        let m = e.minute(self.t);
        path.push(e.to);
        let mut fault = None;
        let mut below = 0.0;
        if depth < MAX_DEPTH {
            let out: Vec<usize> = self.topo.outgoing(e.to).collect();
            for o in out {
                if self.rng.chance(self.topo.call_share(o, self.t)) {
                    let r = self.call(o, path, depth + 1);
                    below += r.seconds;
                    fault = fault.or(r.fault);
                }
            }
        }
        if fault.is_none() {
            let g = self.topo.downstream_fault(e.to, self.t, depth);
            let own = if g < 1.0 {
                ((m.fault - g) / (1.0 - g)).max(0.0)
            } else {
                0.0
            };
            if self.rng.chance(own) {
                fault = Some(Origin {
                    path: path.clone(),
                    edge,
                });
            }
        }
        let (mut error, mut throttle) = (false, false);
        if fault.is_none() {
            if self.rng.chance(m.error) {
                error = true;
            } else if self.rng.chance(m.throttle) {
                throttle = true;
            }
            if (error || throttle) && self.error.is_none() {
                self.error = Some(Origin {
                    path: path.clone(),
                    edge,
                });
            }
            self.throttle |= throttle;
        }
        let seconds = (self.rng.latency(m.latency_ms) / 1000.0).max(below);
        self.calls.push(Call {
            edge,
            from: self.name(e.from),
            to: self.name(Some(e.to)),
            fault: fault.is_some(),
            error,
            throttle,
            seconds,
        });
        path.pop();
        Outcome { fault, seconds }
    }
}

/// How many traces of `requests` in a minute X-Ray's default sampling keeps (the first
/// request each second and 5 % of the rest), at most `cap`.
fn sampled(requests: f64, cap: u32) -> u32 {
    let n = requests.min(60.0) + 0.05 * (requests - 60.0).max(0.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = n.round().max(0.0) as u32;
    n.min(cap)
}

/// Every trace whose entry falls in `[from, to)`, oldest first.
fn traces(x: &XRay, from: i64, to: i64) -> Vec<Trace> {
    let topo = Topology { edges: &x.edges };
    let first = from.div_euclid(60) * 60;
    let mut out = Vec::new();
    let mut t = first;
    while t < to {
        for (i, e) in x.edges.iter().enumerate().filter(|(_, e)| e.from.is_none()) {
            let n = sampled(e.minute(t).requests, x.max_traces_per_minute);
            for k in 0..n {
                #[allow(clippy::cast_sign_loss)]
                let seed = e.seed ^ (t as u64).wrapping_mul(0x2545_f491_4f6c_dd1d) ^ u64::from(k);
                let start = t as f64 + f64::from(k) * 60.0 / f64::from(n);
                if start < from as f64 || start >= to as f64 {
                    continue;
                }
                let mut w = Walk {
                    x,
                    topo,
                    t,
                    rng: Rng::new(seed),
                    calls: Vec::new(),
                    error: None,
                    throttle: false,
                };
                let id = format!(
                    "1-{:08x}-{:024x}",
                    start as i64,
                    w.rng.next_u64() as u128 * 0x1_0000 + u128::from(k)
                );
                let r = w.call(i, &mut Vec::new(), 0);
                out.push(Trace {
                    id: id.chars().take(35).collect(),
                    start,
                    method: e.method.clone(),
                    url: e.url.clone(),
                    calls: w.calls,
                    fault: r.fault,
                    error: w.error,
                    throttle: w.throttle,
                    seconds: r.seconds,
                });
            }
        }
        t += 60;
    }
    out.sort_by(|a, b| a.start.total_cmp(&b.start));
    out
}

fn service_id(x: &XRay, node: usize) -> Value {
    let Some(n) = x.nodes.get(node) else {
        return json!({});
    };
    let mut v = json!({"Name": n.name, "Names": [n.name], "Type": n.kind});
    if !n.inferred
        && let Some(o) = v.as_object_mut()
    {
        o.insert("AccountId".into(), json!(x.account));
    }
    v
}

/// A FaultRootCause/ErrorRootCause: the service where it began, reached through `path`.
fn root_cause(x: &XRay, o: &Origin, with_exception: bool) -> Value {
    let Some(&culprit) = o.path.last() else {
        return json!({});
    };
    let exception = x
        .edges
        .get(o.edge)
        .and_then(|e| e.exception.clone())
        .filter(|_| with_exception);
    let entities: Vec<Value> = o
        .path
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let last = i + 1 == o.path.len();
            let mut v = json!({"Name": x.nodes.get(*n).map(|n| n.name.clone()), "Remote": last && x.nodes.get(*n).is_some_and(|n| n.inferred)});
            if last && let (Some(ex), Some(obj)) = (&exception, v.as_object_mut()) {
                obj.insert("Exceptions".into(), json!([{"Name": ex.name, "Message": ex.message}]));
            }
            v
        })
        .collect();
    let mut service = service_id(x, culprit);
    if let Some(obj) = service.as_object_mut() {
        obj.insert("EntityPath".into(), Value::Array(entities));
        obj.insert(
            "Inferred".into(),
            json!(x.nodes.get(culprit).is_some_and(|n| n.inferred)),
        );
    }
    json!({"Services": [service], "ClientImpacting": true})
}

fn summary(x: &XRay, t: &Trace) -> Value {
    let mut services: Vec<usize> = Vec::new();
    for c in t.calls.iter().rev() {
        if let Some(e) = x.edges.get(c.edge)
            && !services.contains(&e.to)
        {
            services.push(e.to);
        }
    }
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    let mut v = json!({
        "Id": t.id,
        "StartTime": round(t.start),
        "Duration": round(t.seconds),
        "ResponseTime": round(t.seconds),
        "HasFault": t.fault.is_some(),
        "HasError": t.error.is_some() || t.throttle,
        "HasThrottle": t.throttle,
        "IsPartial": false,
        "Http": {"HttpMethod": t.method, "HttpStatus": t.status()},
        "ServiceIds": services.iter().map(|n| service_id(x, *n)).collect::<Vec<_>>(),
        "EntryPoint": services.first().map(|n| service_id(x, *n)),
        "FaultRootCauses": t.fault.iter().map(|o| root_cause(x, o, true)).collect::<Vec<_>>(),
        "ErrorRootCauses": t.error.iter().map(|o| root_cause(x, o, false)).collect::<Vec<_>>(),
    });
    if let (Some(url), Some(http)) = (&t.url, v.get_mut("Http").and_then(Value::as_object_mut)) {
        http.insert("HttpURL".into(), json!(url));
    }
    v
}

/// The GetTraceSummaries response for `[from, to)`.
pub(crate) fn trace_summaries(x: &XRay, request: &Value, from: i64, to: i64) -> ApiResult {
    let filter = match str_of(request, "FilterExpression").map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(filter::parse(text).map_err(|e| {
            ApiError::client(
                "InvalidRequestException",
                format!("Invalid filter expression {text:?}: {e}"),
            )
        })?),
    };
    let offset = token_offset(request, "NextToken", TOKEN, "InvalidRequestException")?;
    let all = traces(x, from, to);
    let matching: Vec<&Trace> = all
        .iter()
        .filter(|t| filter.as_ref().is_none_or(|f| f.eval(*t)))
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(PAGE)
        .map(|t| summary(x, t))
        .collect();
    let mut out = json!({
        "TraceSummaries": page,
        "ApproximateTime": to,
        "TracesProcessedCount": all.len(),
    });
    if let (Some(next), Some(obj)) = (
        crate::req::next_token(TOKEN, offset, PAGE, matching.len()),
        out.as_object_mut(),
    ) {
        obj.insert("NextToken".into(), json!(next));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::sampled;

    #[test]
    fn sampling_keeps_one_a_second_and_five_percent() {
        assert_eq!(sampled(30.0, 100), 30);
        assert_eq!(sampled(660.0, 100), 90);
        assert_eq!(sampled(660.0, 20), 20);
        assert_eq!(sampled(0.0, 20), 0);
    }
}
