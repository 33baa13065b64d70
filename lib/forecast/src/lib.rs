//! Metric forecasting for SOPilot's `cloudwatch.forecast_metric` and
//! `cloudwatch.anomaly_band` tools: pure functions, no I/O, no async.
//!
//! - [`Series`] holds a regular metric series (NaN = missing);
//!   [`Series::from_points`] regularises CloudWatch's irregular datapoints.
//! - [`forecast`] fits MSTL (the daily cycle by default, weekly on request;
//!   see [`season`] for why) with an `augurs` AutoETS model on the
//!   deseasonalised series and returns points with a prediction interval;
//!   [`Forecast::first_crossing`] says when a threshold is first reached.
//! - [`anomaly_band`] computes a band like CloudWatch's
//!   `ANOMALY_DETECTION_BAND(m, width)` and the points outside it.
//! - [`synthetic`] and [`evaluate`] generate seeded test series and measure
//!   accuracy; the README's accuracy table comes from them.

mod band;
mod error;
pub mod evaluate;
mod forecast;
mod impute;
pub mod season;
mod series;
pub mod synthetic;

pub use band::{Anomaly, Band, BandPoint, Direction, anomaly_band};
pub use error::ForecastError;
pub use forecast::{
    DEFAULT_LEVEL, Forecast, ForecastOptions, ForecastPoint, MAX_MISSING_FRACTION, forecast,
};
pub use season::{Seasonality, seasonal_periods};
pub use series::{Gap, MAX_POINTS, Series};
