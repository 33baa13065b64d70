//! Inputs the forecast refuses, and what it says. The messages reach the
//! model calling `cloudwatch.forecast_metric`, so they are checked verbatim
//! where they tell it what to change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use sopilot_forecast::synthetic::Spec;
use sopilot_forecast::{
    ForecastError, ForecastOptions, Seasonality, Series, anomaly_band, forecast,
};

fn days(n: usize) -> Series {
    Spec {
        noise_sd: 20.0,
        ..Spec::traffic(n * 288, 3)
    }
    .generate()
    .series
}

#[test]
fn a_day_of_history_is_too_short_for_the_daily_cycle() {
    let err = forecast(&days(1), &ForecastOptions::new(6)).unwrap_err();
    assert!(matches!(
        err,
        ForecastError::HistoryTooShort {
            have: 288,
            need: 576,
            seasonality: Seasonality::Daily,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "history too short: 288 points (1 day) at 300 s steps; daily seasonality needs at least 576 points (2 days)"
    );
}

#[test]
fn asking_for_weekly_needs_two_weeks() {
    let options = ForecastOptions::new(6).with_seasonal_periods(vec![288, 2016]);
    let err = forecast(&days(7), &options).unwrap_err();
    assert_eq!(
        err.to_string(),
        "history too short: 2016 points (7 days) at 300 s steps; weekly seasonality needs at least 4032 points (14 days)"
    );
}

#[test]
fn a_gappy_history_is_refused_with_its_fraction() {
    let mut series = days(3);
    for v in series.values.iter_mut().step_by(3) {
        *v = f64::NAN;
    }
    let err = forecast(&series, &ForecastOptions::new(6)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "history too gappy: 33.3% of the points are missing, at most 25.0% may be"
    );
    assert!(matches!(
        anomaly_band(&series, 2.0),
        Err(ForecastError::TooGappy { .. })
    ));
}

#[test]
fn an_all_missing_history_is_too_gappy() {
    let series = Series::new(Utc::now(), 300, vec![f64::NAN; 600]);
    assert!(matches!(
        forecast(&series, &ForecastOptions::new(6)),
        Err(ForecastError::TooGappy { missing_fraction, .. }) if missing_fraction == 1.0
    ));
}

#[test]
fn infinities_are_refused_and_located() {
    let mut series = days(3);
    series.values[10] = f64::INFINITY;
    let err = forecast(&series, &ForecastOptions::new(6)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "value inf at 2026-01-05 00:50:00 UTC (index 10) is not finite; mark missing points as NaN"
    );
}

#[test]
fn the_horizon_is_at_most_half_the_history() {
    let err = forecast(&days(2), &ForecastOptions::new(289)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "horizon too long: 289 steps (1 day 5 min) asked, at most 288 steps (1 day) with this history"
    );
    assert!(forecast(&days(2), &ForecastOptions::new(288)).is_ok());
}

#[test]
fn bad_arguments_are_named() {
    let series = days(3);
    for (options, needle) in [
        (ForecastOptions::new(0), "horizon of 0 steps"),
        (ForecastOptions::new(6).with_level(1.0), "level 1"),
        (ForecastOptions::new(6).with_level(f64::NAN), "level NaN"),
        (
            ForecastOptions::new(6).with_seasonal_periods(vec![1]),
            "seasonal period 1",
        ),
    ] {
        let err = forecast(&series, &options).unwrap_err();
        assert!(matches!(err, ForecastError::InvalidArgument(_)), "{err:?}");
        assert!(err.to_string().contains(needle), "{err} lacks {needle}");
    }
    let zero_step = Series::new(series.start, 0, series.values.clone());
    assert!(matches!(
        forecast(&zero_step, &ForecastOptions::new(6)),
        Err(ForecastError::InvalidArgument(_))
    ));
    for width in [0.0, -1.0, f64::NAN] {
        assert!(matches!(
            anomaly_band(&series, width),
            Err(ForecastError::InvalidArgument(_))
        ));
    }
}

#[test]
fn coarse_steps_forecast_without_seasonality() {
    // Daily datapoints have no daily cycle to learn: ETS alone.
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let values: Vec<f64> = (0..30).map(|i| 100.0 + f64::from(i)).collect();
    let fc = forecast(
        &Series::new(start, 86_400, values),
        &ForecastOptions::new(3),
    )
    .unwrap();
    assert!(fc.model.starts_with("ETS("), "{}", fc.model);
    assert!(fc.seasonal_periods.is_empty());
    // A clean linear trend continues.
    assert!(
        (fc.points[0].yhat - 130.0).abs() < 1.0,
        "{:?}",
        fc.points[0]
    );
}

#[test]
fn a_flat_metric_forecasts_flat() {
    // Error counts and idle CPU sit at one value for days; ETS cannot fit a
    // variance of zero, so this must not become a model error.
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    for level in [0.0, 42.0] {
        let series = Series::new(start, 300, vec![level; 3 * 288]);
        let fc = forecast(&series, &ForecastOptions::new(12)).unwrap();
        for p in &fc.points {
            assert!((p.yhat - level).abs() < 1e-6, "{p:?}");
            assert!(p.lower <= p.yhat && p.yhat <= p.upper, "{p:?}");
        }
    }
}
