//! Metric math. The simulator evaluates none yet; this is where `ANOMALY_DETECTION_BAND(m1, 2)`
//! will be recognised and evaluated (it answers a band: one result per query, computed from
//! the referenced query's history, which a metric can extend with `history: 7d`).

use crate::error::ApiError;

/// A parsed `Expression` of a metric data query.
#[derive(Debug, Clone, PartialEq)]
pub enum Expression {
    /// `ANOMALY_DETECTION_BAND(id[, width])`.
    AnomalyDetectionBand { metric_id: String, width: f64 },
}

/// Parses the expressions the simulator knows; anything else is a validation error.
pub fn parse(text: &str) -> Result<Expression, ApiError> {
    let t = text.trim();
    if let Some(args) = t
        .strip_prefix("ANOMALY_DETECTION_BAND(")
        .and_then(|r| r.strip_suffix(')'))
    {
        let mut parts = args.split(',').map(str::trim);
        let metric_id = parts.next().unwrap_or_default().to_owned();
        let width = match parts.next() {
            Some(w) => w.parse().map_err(|_| invalid(text))?,
            None => 2.0,
        };
        if metric_id.is_empty() || parts.next().is_some() {
            return Err(invalid(text));
        }
        return Ok(Expression::AnomalyDetectionBand { metric_id, width });
    }
    Err(ApiError::client(
        "ValidationError",
        format!(
            "the simulated CloudWatch does not evaluate the metric math expression {text:?}; give MetricStat queries"
        ),
    ))
}

fn invalid(text: &str) -> ApiError {
    ApiError::client(
        "ValidationError",
        format!("Invalid metric math expression: {text:?}"),
    )
}

/// Evaluates a parsed expression. None is implemented yet.
pub fn unsupported(e: &Expression) -> ApiError {
    match e {
        Expression::AnomalyDetectionBand { .. } => ApiError::client(
            "ValidationError",
            "the simulated CloudWatch does not evaluate ANOMALY_DETECTION_BAND yet",
        ),
    }
}
