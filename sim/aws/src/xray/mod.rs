//! AWS X-Ray: the `xray` scenario section (services, and edges between them whose request
//! rate, fault/error/throttle rates and latency are generated series) and the REST-JSON
//! operations GetServiceGraph (`POST /ServiceGraph`) and GetTraceSummaries
//! (`POST /TraceSummaries`).
//!
//! The graph's statistics are sums over the minutes of the asked window; traces are sampled
//! from the same edges (a fault in a downstream call propagates to its callers, so a trace's
//! fault root cause is the deepest service that faulted), so the graph and the traces agree.

mod filter;
mod graph;
mod model;
mod traces;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::cloudwatch::series::{Series, SeriesSpec};
use crate::error::{ApiError, ApiResult, AwsSimError, decode};
use crate::faults::Fault;
use crate::req::num_of;
use crate::state::Clock;

pub(crate) use model::{Edge, Node};

const SECTION: &str = "xray";

/// The name edges use for callers outside X-Ray (an entry point's client).
pub(crate) const CLIENT: &str = "client";

/// The longest window GetTraceSummaries accepts, as the real service (24 hours).
const MAX_TRACE_WINDOW: i64 = 24 * 3600;

/// The `xray` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    /// Account id of every service (default `123456789012`).
    account: Option<String>,
    /// Sampled traces per minute and entry point at most (default 20).
    max_traces_per_minute: Option<u32>,
    #[serde(default)]
    services: Vec<ServiceSpec>,
    #[serde(default)]
    edges: Vec<EdgeSpec>,
    #[serde(default)]
    faults: Vec<Fault>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceSpec {
    name: String,
    /// The X-Ray type: `AWS::EKS::Container` (default), `Database::SQL`, `remote`,
    /// `AWS::DynamoDB::Table`...
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Inferred from its callers' subsegments (a database, a remote API): sends no segments
    /// of its own. Default: true for `Database::SQL`, `remote` and `AWS::*` other than
    /// compute types.
    inferred: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EdgeSpec {
    /// The caller: a service's name, or `client` for an entry point.
    from: String,
    to: String,
    /// Requests per minute.
    requests: SeriesSpec,
    /// Mean latency of a call, milliseconds.
    latency_ms: SeriesSpec,
    /// Share of calls answered with a fault (5xx), 0 to 1.
    #[serde(default)]
    fault_rate: SeriesSpec,
    /// Share of calls answered with an error other than throttling (4xx), 0 to 1.
    #[serde(default)]
    error_rate: SeriesSpec,
    /// Share of calls throttled (429), 0 to 1.
    #[serde(default)]
    throttle_rate: SeriesSpec,
    /// What the caller records when the call faults: `{name, message}`.
    exception: Option<ExceptionSpec>,
    /// For entry points: the request's method and URL in trace summaries.
    method: Option<String>,
    url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExceptionSpec {
    pub name: String,
    #[serde(default)]
    pub message: String,
}

/// The simulated X-Ray.
#[derive(Debug, Default)]
pub(crate) struct XRay {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub account: String,
    pub max_traces_per_minute: u32,
}

fn field_err(field: impl Into<String>, message: impl Into<String>) -> AwsSimError {
    AwsSimError::scenario(SECTION, field, message)
}

fn inferred_by_default(kind: &str) -> bool {
    kind == "remote"
        || kind.starts_with("Database::")
        || (kind.starts_with("AWS::")
            && ![
                "AWS::EKS::Container",
                "AWS::ECS::Container",
                "AWS::EC2::Instance",
                "AWS::Lambda::Function",
                "AWS::Lambda",
            ]
            .contains(&kind))
}

impl XRay {
    /// Loads the section (absent means no services: an empty graph).
    pub fn from_section(
        section: Option<&Value>,
        start: DateTime<Utc>,
    ) -> Result<(XRay, Vec<Fault>), AwsSimError> {
        let s: Section = match section {
            Some(v) => decode(SECTION, v)?,
            None => Section::default(),
        };
        let mut xray = XRay {
            account: s.account.unwrap_or_else(|| "123456789012".into()),
            max_traces_per_minute: s.max_traces_per_minute.unwrap_or(20).clamp(1, 200),
            ..XRay::default()
        };
        for (i, sv) in s.services.iter().enumerate() {
            if sv.name.is_empty() || sv.name == CLIENT {
                return Err(field_err(
                    format!("services[{i}].name"),
                    format!(
                        "a service needs a name other than `{CLIENT}` (reserved for callers outside X-Ray)"
                    ),
                ));
            }
            if xray.nodes.iter().any(|n| n.name == sv.name) {
                return Err(field_err(
                    format!("services[{i}].name"),
                    format!("service {:?} is defined twice", sv.name),
                ));
            }
            let kind = sv
                .kind
                .clone()
                .unwrap_or_else(|| "AWS::EKS::Container".into());
            xray.nodes.push(Node {
                inferred: sv.inferred.unwrap_or_else(|| inferred_by_default(&kind)),
                name: sv.name.clone(),
                kind,
            });
        }
        for (i, e) in s.edges.iter().enumerate() {
            let edge = xray.resolve_edge(i, e, start)?;
            if xray
                .edges
                .iter()
                .any(|x| x.from == edge.from && x.to == edge.to)
            {
                return Err(field_err(
                    format!("edges[{i}]"),
                    format!("edge {} -> {} is defined twice", e.from, e.to),
                ));
            }
            xray.edges.push(edge);
        }
        Ok((xray, s.faults))
    }

    fn resolve_edge(
        &self,
        i: usize,
        e: &EdgeSpec,
        start: DateTime<Utc>,
    ) -> Result<Edge, AwsSimError> {
        let index = |name: &str, f: &str| -> Result<Option<usize>, AwsSimError> {
            if name == CLIENT && f == "from" {
                return Ok(None);
            }
            self.nodes
                .iter()
                .position(|n| n.name == name)
                .map(Some)
                .ok_or_else(|| {
                    field_err(
                        format!("edges[{i}].{f}"),
                        format!(
                            "{name:?} is not a service of the section; services: {}{}",
                            self.nodes
                                .iter()
                                .map(|n| n.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                            if f == "from" {
                                format!(" (or `{CLIENT}` for an entry point)")
                            } else {
                                String::new()
                            }
                        ),
                    )
                })
        };
        let from = index(&e.from, "from")?;
        let to = index(&e.to, "to")?.unwrap_or_default();
        let identity = format!("xray|{}|{}", e.from, e.to);
        let series = |spec: &SeriesSpec, f: &str| {
            Series::resolve(spec, start, 60, &format!("{identity}|{f}"))
                .map_err(|(sub, msg)| field_err(format!("edges[{i}].{f}.{sub}"), msg))
        };
        Ok(Edge {
            from,
            to,
            requests: series(&e.requests, "requests")?,
            latency_ms: series(&e.latency_ms, "latency_ms")?,
            fault_rate: series(&e.fault_rate, "fault_rate")?,
            error_rate: series(&e.error_rate, "error_rate")?,
            throttle_rate: series(&e.throttle_rate, "throttle_rate")?,
            exception: e.exception.clone(),
            method: e.method.clone().unwrap_or_else(|| "GET".into()),
            url: e.url.clone(),
            seed: crate::cloudwatch::series::fnv1a(&identity),
        })
    }

    /// Answers one operation.
    pub fn handle(&self, operation: &str, request: &Value, clock: Clock) -> ApiResult {
        match operation {
            "GetServiceGraph" => {
                let (from, to) = window(request, clock, None)?;
                Ok(graph::service_graph(self, from, to))
            }
            "GetTraceSummaries" => {
                let (from, to) = window(request, clock, Some(MAX_TRACE_WINDOW))?;
                traces::trace_summaries(self, request, from, to)
            }
            other => Err(ApiError::client(
                "InvalidRequestException",
                format!(
                    "the simulated X-Ray does not implement {other}; it serves GetServiceGraph and GetTraceSummaries"
                ),
            )),
        }
    }
}

/// `[StartTime, EndTime)` in epoch seconds, checked; nothing after now is seen.
fn window(request: &Value, clock: Clock, max: Option<i64>) -> Result<(i64, i64), ApiError> {
    let time = |key: &str| {
        #[allow(clippy::cast_possible_truncation)]
        num_of(request, key).filter(|t| t.is_finite()).map(|t| t.floor() as i64).ok_or_else(|| {
            ApiError::client(
                "InvalidRequestException",
                format!("1 validation error detected: Value null at '{key}' failed to satisfy constraint: Member must not be null"),
            )
        })
    };
    let (from, to) = (time("StartTime")?, time("EndTime")?);
    if to <= from {
        return Err(ApiError::client(
            "InvalidRequestException",
            "EndTime must be after StartTime",
        ));
    }
    if let Some(max) = max
        && to - from > max
    {
        return Err(ApiError::client(
            "InvalidRequestException",
            format!(
                "Time range must be less than or equal to {} hours",
                max / 3600
            ),
        ));
    }
    Ok((from, to.min(clock.now.timestamp()).max(from)))
}

/// The error the section's `faults` and injected throttling answer.
pub(crate) fn throttled() -> ApiError {
    ApiError {
        status: 429,
        code: "ThrottledException".into(),
        message: "Rate exceeded".into(),
    }
}
