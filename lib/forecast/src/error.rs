//! The crate's one error type. Messages are read by people and by the model
//! driving `cloudwatch.forecast_metric`, so each says what to change.

use chrono::{DateTime, Utc};

use crate::season::Seasonality;

/// Why a forecast or an anomaly band could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ForecastError {
    /// The history covers fewer than two cycles of a seasonality the model needs.
    #[error(
        "history too short: {have} points ({}) at {step_seconds} s steps; {seasonality} seasonality needs at least {need} points ({})",
        human_duration(*have, *step_seconds),
        human_duration(*need, *step_seconds)
    )]
    HistoryTooShort {
        /// Points in the history (observed or missing).
        have: usize,
        /// Points needed: two full cycles of `seasonality`.
        need: usize,
        /// The series' step.
        step_seconds: u64,
        /// The seasonality that needs the longer history.
        seasonality: Seasonality,
    },
    /// Too large a share of the history is missing for imputation to be honest.
    #[error(
        "history too gappy: {:.1}% of the points are missing, at most {:.1}% may be",
        missing_fraction * 100.0,
        max_fraction * 100.0
    )]
    TooGappy {
        /// Missing points over all points, in `0..=1`.
        missing_fraction: f64,
        /// The largest fraction accepted.
        max_fraction: f64,
    },
    /// A value is infinite; missing points must be NaN instead.
    #[error("value {value} at {at} (index {index}) is not finite; mark missing points as NaN")]
    NonFinite {
        /// Index of the first offending point.
        index: usize,
        /// Its timestamp.
        at: DateTime<Utc>,
        /// The value itself (an infinity).
        value: f64,
    },
    /// The horizon asks for more than the history can support.
    #[error(
        "horizon too long: {requested} steps ({}) asked, at most {max} steps ({}) with this history",
        human_duration(*requested, *step_seconds),
        human_duration(*max, *step_seconds)
    )]
    HorizonTooLong {
        /// Steps asked for.
        requested: usize,
        /// Most steps allowed: half the history.
        max: usize,
        /// The series' step.
        step_seconds: u64,
    },
    /// An argument is out of range (step, level, band width, horizon of zero...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The decomposition or the ETS fit failed, or produced non-finite numbers.
    #[error("model fit failed: {0}")]
    Model(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// `points` steps of `step_seconds` as "2 days", "16 h 40 min" or "30 min".
pub(crate) fn human_duration(points: usize, step_seconds: u64) -> String {
    let total = (points as u64).saturating_mul(step_seconds);
    let (days, rest) = (total / 86_400, total % 86_400);
    let (hours, minutes, seconds) = (rest / 3_600, rest % 3_600 / 60, rest % 60);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days} day{}", if days == 1 { "" } else { "s" }));
    }
    if hours > 0 {
        parts.push(format!("{hours} h"));
    }
    if minutes > 0 {
        parts.push(format!("{minutes} min"));
    }
    if seconds > 0 || parts.is_empty() {
        parts.push(format!("{seconds} s"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(576, 300), "2 days");
        assert_eq!(human_duration(200, 300), "16 h 40 min");
        assert_eq!(human_duration(6, 300), "30 min");
        assert_eq!(human_duration(0, 300), "0 s");
        assert_eq!(human_duration(3, 20), "1 min");
    }

    #[test]
    fn too_short_says_what_is_needed() {
        let err = ForecastError::HistoryTooShort {
            have: 200,
            need: 576,
            step_seconds: 300,
            seasonality: Seasonality::Daily,
        };
        assert_eq!(
            err.to_string(),
            "history too short: 200 points (16 h 40 min) at 300 s steps; daily seasonality needs at least 576 points (2 days)"
        );
    }
}
