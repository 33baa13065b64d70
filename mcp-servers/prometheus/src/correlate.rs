//! `correlate`: which signal moved first. Runs a symptom query and candidate queries over one
//! window and step, and ranks every candidate series with `sopilot-correlate` (Pearson's r at
//! lag 0, the lead or lag with the largest |r|, change points, the first anomalous point).
//! Its arguments live here, beside the tool.

use chrono::{DateTime, Utc};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use sopilot_correlate::{Options, Ranking, Series as Points, rank};
use sopilot_mcp_common::{cap, ok_json, run};

use crate::client::Prom;
use crate::error::{ToolFailure, ToolResult};
use crate::query::{MAX_TEXT, Range, fetch_range};
use crate::series::{Series, rfc3339};
use crate::{PrometheusTools, window};

/// Most candidate series one call ranks.
const MAX_CANDIDATES: usize = 20;

/// Arguments of `correlate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Correlate {
    /// PromQL for the symptom, returning one series (aggregate it), e.g.
    /// `sum(rate(http_requests_total{service="payment-service",code=~"5.."}[5m]))`.
    pub symptom: String,
    /// 1 to 20 PromQL queries for what may have caused it: a dependency's saturation or
    /// errors (`max(db_connections_in_use / db_connections_max)`), the service's CPU or
    /// memory, an upstream's latency. A query returning several series (`sum by (pod) (...)`)
    /// ranks each; at most 20 series in all.
    pub candidates: Vec<String>,
    /// How far back from `end`, in minutes (default 60, at most 1440). Include calm before
    /// the incident: the first quarter of the window is each series' baseline.
    pub minutes: Option<i64>,
    /// End of the window, RFC 3339; default now.
    pub end: Option<String>,
    /// The smallest step in seconds; default the one giving about 120 points.
    pub step_seconds: Option<i64>,
    /// The longest lead or lag tried, in minutes (default 15, at most half the window).
    pub max_lag_minutes: Option<i64>,
}

#[tool_router(router = correlate_router, vis = "pub(crate)")]
impl PrometheusTools {
    #[tool(
        description = "Which signal moved first: rank candidate PromQL series against a symptom query over one window. For each candidate series: Pearson's r at lag 0, the lead or lag (within max_lag_minutes) with the strongest correlation (\"max(db_connections_in_use) led sum(rate(http_requests_total{code=~\\\"5..\\\"}[5m])) by 5 min, r=0.95\"), its changes in level and its first anomalous point against the window's first quarter, and whether that came before the symptom's. Strong correlations that lead rank first; a candidate that moved after the symptom is a consequence, not the cause; flat series are named as such. Correlation says where to look, not proof: confirm with the dependency's own errors, logs or events.",
        annotations(
            title = "Correlate PromQL series",
            read_only_hint = true,
            open_world_hint = true
        )
    )]
    async fn correlate(
        &self,
        Parameters(a): Parameters<Correlate>,
    ) -> Result<CallToolResult, McpError> {
        run(self.deadline() * 2, correlate(&self.prom, a)).await
    }
}

fn check(a: &Correlate) -> ToolResult<(Range, i64)> {
    if a.candidates.is_empty() || a.candidates.len() > MAX_CANDIDATES {
        return Err(ToolFailure::BadArgument(format!(
            "candidates must list 1 to {MAX_CANDIDATES} PromQL queries (got {}); pick the dependencies and resources the symptom could come from",
            a.candidates.len()
        )));
    }
    let minutes = window::minutes(a.minutes, 60, 1_440)?;
    let range = Range::new(Some(minutes), a.end.as_deref(), a.step_seconds)?;
    let lag = a.max_lag_minutes.unwrap_or(15.min(minutes / 2));
    if !(0..=minutes / 2).contains(&lag) {
        return Err(ToolFailure::BadArgument(format!(
            "max_lag_minutes must be between 0 and half the window ({} min; got {lag})",
            minutes / 2
        )));
    }
    Ok((range, lag))
}

fn points(s: &Series) -> Points {
    Points::new(
        s.points
            .iter()
            .filter_map(|&(t, v)| {
                #[allow(clippy::cast_possible_truncation)]
                DateTime::<Utc>::from_timestamp(t as i64, 0).map(|at| (at, v))
            })
            .collect(),
    )
}

pub async fn correlate(p: &Prom, a: Correlate) -> ToolResult<CallToolResult> {
    let (range, lag) = check(&a)?;
    let symptom = fetch_range(p, &a.symptom, &range).await?;
    let [symptom] = symptom.as_slice() else {
        return Err(ToolFailure::BadArgument(format!(
            "the symptom `{}` returned {} series in the window; it must return one: aggregate it (e.g. sum(...) or max(...)) or add label matchers",
            a.symptom,
            symptom.len()
        )));
    };
    let mut candidates: Vec<(String, Series)> = Vec::new();
    let mut left_out = 0;
    for q in &a.candidates {
        let found = fetch_range(p, q, &range).await?;
        let several = found.len() > 1;
        for s in found {
            if candidates.len() == MAX_CANDIDATES {
                left_out += 1;
                continue;
            }
            let name = if several { s.labels.clone() } else { q.clone() };
            candidates.push((name, s));
        }
    }
    let options = Options {
        step_seconds: u64::try_from(range.step).ok(),
        max_lag_steps: usize::try_from(lag * 60 / range.step).unwrap_or(0),
        ..Options::default()
    };
    let named: Vec<(String, Points)> = candidates
        .iter()
        .map(|(n, s)| (n.clone(), points(s)))
        .collect();
    let ranking = rank(&points(symptom), &named, &options).map_err(|e| {
        ToolFailure::BadArgument(format!(
            "cannot correlate `{}`: {e}; widen the window or check that the symptom has data",
            a.symptom
        ))
    })?;
    Ok(render(
        &a,
        &range,
        lag,
        &ranking,
        symptom,
        &candidates,
        left_out,
    ))
}

fn render(
    a: &Correlate,
    range: &Range,
    lag: i64,
    ranking: &Ranking,
    symptom: &Series,
    candidates: &[(String, Series)],
    left_out: usize,
) -> CallToolResult {
    let mut lines = ranking.lines(&a.symptom);
    for (i, line) in lines.iter_mut().enumerate().skip(1) {
        *line = format!("{i}. {line}");
    }
    let (from, to) = (
        rfc3339(range.start.timestamp() as f64),
        rfc3339(range.end.timestamp() as f64),
    );
    let mut text = format!(
        "Correlation with `{}` from {from} to {to} at {} steps, leads and lags up to {lag} min (led = the candidate moved first):\n{}\n",
        a.symptom,
        window::duration(range.step),
        lines.join("\n")
    );
    if left_out > 0 {
        text.push_str(&format!(
            "[{left_out} more candidate series not ranked (at most {MAX_CANDIDATES}); aggregate or add label matchers]\n"
        ));
    }
    text.push_str("A strong correlation where the candidate moved first says where to look, not that it is the cause: confirm with that dependency's own errors, logs or events.\n");
    let capped = cap(&text, MAX_TEXT, "fewer candidates");
    let series_json = |name: &str, s: &Series| -> Value {
        json!({"name": name, "series": s.labels, "points": s.points.len()})
    };
    let structured = json!({
        "window": {"start": from, "end": to, "step_seconds": range.step, "max_lag_minutes": lag},
        "symptom": series_json(&a.symptom, symptom),
        "candidates": candidates.iter().map(|(n, s)| series_json(n, s)).collect::<Vec<_>>(),
        "ranking": ranking,
    });
    ok_json(capped.text, &structured)
}
