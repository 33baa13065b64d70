//! Regularising CloudWatch-style datapoints, reporting gaps, forecasting
//! through them, and the JSON the MCP tool passes on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::json;
use sopilot_forecast::evaluate::mape;
use sopilot_forecast::synthetic::{Rng, Spec};
use sopilot_forecast::{ForecastError, ForecastOptions, Gap, Series, forecast};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn at(minutes: i64, seconds: i64) -> DateTime<Utc> {
    t0() + TimeDelta::minutes(minutes) + TimeDelta::seconds(seconds)
}

#[test]
fn irregular_points_land_on_the_grid() {
    // Unsorted, a few seconds off the grid, two in one slot, 10:00-15:00 missing.
    let points = [
        (at(20, 0), 5.0),
        (at(0, 0), 1.0),
        (at(5, 3), 2.0),
        (at(4, 58), 4.0),
        (at(25, 0), f64::NAN),
        (at(30, -2), 7.0),
    ];
    let series = Series::from_points(&points, 300).unwrap();
    assert_eq!(series.start, t0());
    assert_eq!(series.step_seconds, 300);
    let shown: Vec<Option<f64>> = series
        .values
        .iter()
        .map(|v| (!v.is_nan()).then_some(*v))
        .collect();
    assert_eq!(
        shown,
        vec![Some(1.0), Some(3.0), None, None, Some(5.0), None, Some(7.0)]
    );
    assert_eq!(
        series.gaps(),
        vec![
            Gap {
                start: at(10, 0),
                index: 2,
                points: 2
            },
            Gap {
                start: at(25, 0),
                index: 5,
                points: 1
            },
        ]
    );
    assert_eq!(series.missing_points(), 3);
    assert!((series.missing_fraction() - 3.0 / 7.0).abs() < 1e-12);
    assert_eq!(series.time_at(6), Some(at(30, 0)));
}

#[test]
fn regularising_refuses_what_it_cannot_place() {
    assert!(matches!(
        Series::from_points(&[], 300),
        Err(ForecastError::InvalidArgument(_))
    ));
    assert!(matches!(
        Series::from_points(&[(t0(), 1.0)], 0),
        Err(ForecastError::InvalidArgument(_))
    ));
    assert!(matches!(
        Series::from_points(&[(t0(), f64::NEG_INFINITY)], 300),
        Err(ForecastError::NonFinite { index: 0, .. })
    ));
    // One stray point years away would allocate millions of slots.
    let stray = [(t0(), 1.0), (t0() + TimeDelta::days(3650), 2.0)];
    assert!(matches!(
        Series::from_points(&stray, 300),
        Err(ForecastError::InvalidArgument(_))
    ));
}

#[test]
fn forecasts_through_gaps_and_a_missing_last_hour() {
    let spec = Spec {
        noise_sd: 20.0,
        ..Spec::traffic(7 * 288 + 72, 11)
    };
    let generated = spec.generate();
    let mut history = Series::new(
        generated.series.start,
        300,
        generated.series.values[..7 * 288].to_vec(),
    );
    // Ten percent of points scattered, a two-hour hole mid-week, and the last
    // hour missing: a forecast origin whose recent data is imputed.
    let mut rng = Rng::new(5);
    for v in &mut history.values {
        if rng.uniform() < 0.1 {
            *v = f64::NAN;
        }
    }
    history.values[1000..1024].fill(f64::NAN);
    let n = history.len();
    history.values[n - 12..].fill(f64::NAN);

    let fc = forecast(&history, &ForecastOptions::new(72)).unwrap();
    assert!(fc.missing_points > 200, "{}", fc.missing_points);
    let actual = &generated.truth[7 * 288..];
    let yhat: Vec<f64> = fc.points.iter().map(|p| p.yhat).collect();
    let m = mape(actual, &yhat);
    assert!(m < 3.0, "MAPE against the truth {m:.2} %");
    assert_eq!(fc.points[0].t, history.time_at(n).unwrap());
}

#[test]
fn leading_missing_points_are_dropped() {
    let mut series = Spec::traffic(4 * 288, 1).generate().series;
    series.values[..100].fill(f64::NAN);
    let fc = forecast(&series, &ForecastOptions::new(6)).unwrap();
    assert_eq!(fc.history_points, 4 * 288 - 100);
    assert_eq!(fc.missing_points, 0);
}

#[test]
fn forecast_points_serialise_as_the_contract_says() {
    let series = Spec::traffic(3 * 288, 1).generate().series;
    let fc = forecast(&series, &ForecastOptions::new(2)).unwrap();
    let value = serde_json::to_value(fc.points[0]).unwrap();
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["t", "yhat", "lower", "upper"]);
    assert_eq!(value["t"], json!("2026-01-08T00:00:00Z"));
    let p = fc.points[0];
    assert!(p.lower <= p.yhat && p.yhat <= p.upper, "{p:?}");
    assert_eq!(
        fc.model,
        "MSTL(daily) + ".to_owned() + fc.model.split(" + ").nth(1).unwrap()
    );
    assert!(fc.model.contains("ETS(A,"), "{}", fc.model);
}

#[test]
fn a_query_window_keeps_leading_and_trailing_holes() {
    // Asked for 12:00-12:30; datapoints only at 12:10 and 12:15, one a
    // second early, and one outside the window.
    let points = [(at(10, -1), 2.0), (at(15, 0), 3.0), (at(45, 0), 9.0)];
    let series = Series::from_points_in(&points, 300, t0(), at(30, 0)).unwrap();
    assert_eq!(series.start, t0());
    assert_eq!(series.len(), 6);
    assert_eq!(series.values[2], 2.0);
    assert_eq!(series.values[3], 3.0);
    assert_eq!(series.missing_points(), 4);
    let trailing = series.gaps().pop().unwrap();
    assert_eq!((trailing.index, trailing.points), (4, 2));
    assert!(matches!(
        Series::from_points_in(&points, 300, t0(), t0()),
        Err(ForecastError::InvalidArgument(_))
    ));
}
