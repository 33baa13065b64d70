//! Which seasonal periods a history supports. Traffic-like metrics repeat daily
//! and weekly (source document §2.3 fits both); a decomposition can only
//! estimate a cycle it has seen at least twice, so the history decides.
//!
//! Forecasts use the daily cycle by default and the weekly one only when asked.
//! On the evaluation scenarios (the `accuracy` example), a weekly component
//! from 14 days of history made the level-shift scenario's 30-minute to 6-hour
//! MAPE 2.8-6.1 % instead of 1.4-2.3 % and cut the noisy scenario's interval
//! coverage to 79 %; from 28 days it gained 0.08-0.25 points on the clean and
//! noisy series but still lost 0.3-0.85 after a level shift, at ten times the
//! fit time. Within six hours the weekly cycle moves the level by a few
//! percent, which the ETS level follows anyway.
//!
//! Anomaly bands use the daily cycle too: fitted in-sample from two weeks, a
//! weekly component took up 30 % of the noise's spread and, with robust
//! weights, flagged 7.6 % of pure-noise points beyond 3 standard deviations
//! instead of 0.3 %.

use std::fmt;

use serde::Serialize;

use crate::error::ForecastError;

/// Seconds in a day.
pub const DAY_SECONDS: u64 = 86_400;
/// Seconds in a week.
pub const WEEK_SECONDS: u64 = 7 * DAY_SECONDS;

/// A named seasonal cycle, used in errors and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Seasonality {
    /// One cycle per day.
    Daily,
    /// One cycle per week.
    Weekly,
    /// A caller-chosen period, in steps.
    Period(usize),
}

impl fmt::Display for Seasonality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seasonality::Daily => f.write_str("daily"),
            Seasonality::Weekly => f.write_str("weekly"),
            Seasonality::Period(steps) => write!(f, "{steps}-step"),
        }
    }
}

/// The length of a `cycle_seconds` cycle in steps of `step_seconds`, rounded,
/// or `None` when the cycle spans fewer than two steps (no shape to learn).
pub fn period_steps(step_seconds: u64, cycle_seconds: u64) -> Option<usize> {
    if step_seconds == 0 {
        return None;
    }
    // Rounded so steps that do not divide a day (7 min) still get a period;
    // the drift is under half a step per cycle.
    let steps = (cycle_seconds + step_seconds / 2) / step_seconds;
    usize::try_from(steps).ok().filter(|&s| s >= 2)
}

/// The seasonal periods, in steps, that [`crate::forecast`] uses by default:
/// the daily cycle whenever a day spans two or more steps, which requires two
/// days of history; none for coarser steps. Weekly is left out (see the
/// module docs); ask for it with
/// [`crate::ForecastOptions::with_seasonal_periods`].
///
/// # Errors
/// [`ForecastError::HistoryTooShort`] when the history is shorter than two days
/// and the step is short enough for a daily cycle.
pub fn seasonal_periods(
    step_seconds: u64,
    history_points: usize,
) -> Result<Vec<usize>, ForecastError> {
    let Some(daily) = period_steps(step_seconds, DAY_SECONDS) else {
        return Ok(Vec::new());
    };
    if history_points < 2 * daily {
        return Err(ForecastError::HistoryTooShort {
            have: history_points,
            need: 2 * daily,
            step_seconds,
            seasonality: Seasonality::Daily,
        });
    }
    Ok(vec![daily])
}

/// The daily period when the history has seen it twice, else none: what the
/// anomaly band uses, since a band can still be drawn without a cycle.
pub(crate) fn daily_if_covered(step_seconds: u64, history_points: usize) -> Vec<usize> {
    period_steps(step_seconds, DAY_SECONDS)
        .filter(|&daily| history_points >= 2 * daily)
        .into_iter()
        .collect()
}

/// Checks caller-chosen periods: each at least two steps, each seen twice.
pub(crate) fn check_periods(
    periods: &[usize],
    step_seconds: u64,
    history_points: usize,
) -> Result<(), ForecastError> {
    for &period in periods {
        if period < 2 {
            return Err(ForecastError::InvalidArgument(format!(
                "seasonal period {period} is too short; a period spans at least 2 steps"
            )));
        }
        if history_points < 2 * period {
            return Err(ForecastError::HistoryTooShort {
                have: history_points,
                need: 2 * period,
                step_seconds,
                seasonality: name_of(period, step_seconds),
            });
        }
    }
    Ok(())
}

/// Names a period after the cycle it matches, for errors and model names.
pub(crate) fn name_of(period: usize, step_seconds: u64) -> Seasonality {
    if period_steps(step_seconds, DAY_SECONDS) == Some(period) {
        Seasonality::Daily
    } else if period_steps(step_seconds, WEEK_SECONDS) == Some(period) {
        Seasonality::Weekly
    } else {
        Seasonality::Period(period)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_minute_steps_default_to_the_daily_cycle() {
        assert_eq!(period_steps(300, DAY_SECONDS), Some(288));
        assert_eq!(period_steps(300, WEEK_SECONDS), Some(2016));
        assert_eq!(seasonal_periods(300, 2016).ok(), Some(vec![288]));
        assert_eq!(seasonal_periods(300, 4032).ok(), Some(vec![288]));
        assert_eq!(daily_if_covered(300, 4032), vec![288]);
        assert_eq!(daily_if_covered(300, 575), Vec::<usize>::new());
    }

    #[test]
    fn a_day_of_history_is_too_short() {
        match seasonal_periods(300, 288) {
            Err(ForecastError::HistoryTooShort {
                need, seasonality, ..
            }) => {
                assert_eq!(need, 576);
                assert_eq!(seasonality, Seasonality::Daily);
            }
            other => panic!("expected HistoryTooShort, got {other:?}"),
        }
    }

    #[test]
    fn daily_steps_have_no_daily_cycle() {
        assert_eq!(period_steps(DAY_SECONDS, DAY_SECONDS), None);
        assert_eq!(seasonal_periods(DAY_SECONDS, 14).ok(), Some(vec![]));
        assert_eq!(daily_if_covered(DAY_SECONDS, 14), Vec::<usize>::new());
    }

    #[test]
    fn explicit_periods_are_named_in_errors() {
        match check_periods(&[2016], 300, 3000) {
            Err(ForecastError::HistoryTooShort { seasonality, .. }) => {
                assert_eq!(seasonality, Seasonality::Weekly);
            }
            other => panic!("expected HistoryTooShort, got {other:?}"),
        }
        assert!(matches!(
            check_periods(&[1], 300, 3000),
            Err(ForecastError::InvalidArgument(_))
        ));
    }
}
