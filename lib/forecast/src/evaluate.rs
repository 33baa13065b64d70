//! Rolling-origin accuracy: fit on a window of history ending at each origin,
//! forecast, and compare with what actually followed. Errors are taken at
//! fixed lead times ("30 minutes ahead"), the way a pre-scaling decision
//! consumes the forecast.

use serde::Serialize;

use crate::error::ForecastError;
use crate::forecast::{ForecastOptions, forecast};
use crate::series::Series;

/// Accuracy of forecasts from many origins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accuracy {
    /// Lead times evaluated, in steps (1 = the first forecast point).
    pub leads: Vec<usize>,
    /// Mean absolute percentage error at each lead, in percent.
    pub mape: Vec<f64>,
    /// Share of actual values inside the prediction interval, over every
    /// lead from 1 to the longest, in `0..=1`.
    pub coverage: f64,
    /// How many origins were evaluated.
    pub origins: usize,
    /// The model name of the last fit.
    pub model: String,
}

/// Mean absolute percentage error of `predicted` against `actual`, in
/// percent, over pairs whose actual value is finite and non-zero.
pub fn mape(actual: &[f64], predicted: &[f64]) -> f64 {
    let (sum, n) = actual
        .iter()
        .zip(predicted)
        .filter(|(a, _)| a.is_finite() && **a != 0.0)
        .fold((0.0, 0usize), |(s, n), (a, p)| {
            (s + ((a - p) / a).abs(), n + 1)
        });
    if n == 0 {
        f64::NAN
    } else {
        100.0 * sum / n as f64
    }
}

/// Forecasts from each origin in `origins` (the index of the first point to
/// predict) using the `history_points` before it, and scores the forecasts
/// against `series` at each of `leads`.
///
/// # Errors
/// [`ForecastError::InvalidArgument`] when an origin leaves too little
/// history or future in `series`; any error of [`forecast`].
pub fn rolling_origin(
    series: &Series,
    history_points: usize,
    origins: &[usize],
    leads: &[usize],
    options: &ForecastOptions,
) -> Result<Accuracy, ForecastError> {
    if leads.is_empty() || leads.contains(&0) {
        return Err(ForecastError::InvalidArgument(
            "leads must be one step or more, and at least one".into(),
        ));
    }
    let horizon = leads.iter().copied().max().unwrap_or(1);
    let mut predicted: Vec<Vec<f64>> = vec![Vec::new(); leads.len()];
    let mut actual: Vec<Vec<f64>> = vec![Vec::new(); leads.len()];
    let (mut inside, mut scored) = (0usize, 0usize);
    let mut model = String::new();
    for &origin in origins {
        if origin < history_points || origin + horizon > series.len() {
            return Err(ForecastError::InvalidArgument(format!(
                "origin {origin} needs {history_points} points before and {horizon} after \
                 in a series of {}",
                series.len()
            )));
        }
        let window = Series::new(
            series
                .time_at(origin - history_points)
                .unwrap_or(series.start),
            series.step_seconds,
            series.values[origin - history_points..origin].to_vec(),
        );
        let options = ForecastOptions {
            horizon_steps: horizon,
            ..options.clone()
        };
        let fc = forecast(&window, &options)?;
        for (k, point) in fc.points.iter().enumerate() {
            let a = series.values[origin + k];
            if a.is_finite() {
                scored += 1;
                inside += usize::from(point.lower <= a && a <= point.upper);
            }
        }
        for (i, &lead) in leads.iter().enumerate() {
            if let Some(point) = fc.points.get(lead - 1) {
                predicted[i].push(point.yhat);
                actual[i].push(series.values[origin + lead - 1]);
            }
        }
        model = fc.model;
    }
    Ok(Accuracy {
        leads: leads.to_vec(),
        mape: actual
            .iter()
            .zip(&predicted)
            .map(|(a, p)| mape(a, p))
            .collect(),
        coverage: if scored == 0 {
            f64::NAN
        } else {
            inside as f64 / scored as f64
        },
        origins: origins.len(),
        model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mape_is_in_percent_and_skips_zero_actuals() {
        assert_eq!(mape(&[100.0, 200.0, 0.0], &[110.0, 180.0, 5.0]), 10.0);
        assert!(mape(&[f64::NAN], &[1.0]).is_nan());
    }
}
