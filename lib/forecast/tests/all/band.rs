//! The anomaly band finds injected incidents, flags about as many ordinary
//! points as its width implies, and covers every point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sopilot_forecast::synthetic::Spec;
use sopilot_forecast::{Direction, Series, anomaly_band};

const NOISE_SD: f64 = 20.0;

/// Two weeks of traffic with noise, CloudWatch's training window.
fn two_weeks() -> Series {
    Spec {
        noise_sd: NOISE_SD,
        ..Spec::traffic(14 * 288, 9)
    }
    .generate()
    .series
}

/// Spikes of +12 sd at five points and a 30-minute dip of -12 sd.
fn with_incidents(mut series: Series) -> (Series, Vec<usize>, Vec<usize>) {
    let spikes = vec![500, 1500, 2500, 3300, 4000];
    for &i in &spikes {
        series.values[i] += 12.0 * NOISE_SD;
    }
    let dip: Vec<usize> = (3600..3606).collect();
    for &i in &dip {
        series.values[i] -= 12.0 * NOISE_SD;
    }
    (series, spikes, dip)
}

#[test]
fn incidents_fall_outside_the_band() {
    let (series, spikes, dip) = with_incidents(two_weeks());
    let band = anomaly_band(&series, 3.0).unwrap();
    assert_eq!(band.model, "MSTL(daily)");
    assert_eq!(band.points.len(), series.len());
    for i in &spikes {
        assert!(
            band.anomalies
                .iter()
                .any(|a| a.index == *i && a.direction == Direction::Above),
            "spike at {i} not flagged"
        );
    }
    for i in &dip {
        assert!(
            band.anomalies
                .iter()
                .any(|a| a.index == *i && a.direction == Direction::Below),
            "dip at {i} not flagged"
        );
    }
    // The robust spread is the noise's, not inflated by the incidents.
    assert!(
        (band.sigma - NOISE_SD).abs() < 0.25 * NOISE_SD,
        "sigma {}",
        band.sigma
    );
}

#[test]
fn false_alarms_match_the_band_width() {
    // Gaussian noise leaves 4.6 % of points beyond 2 sd and 0.27 % beyond 3.
    let series = two_weeks();
    let n = series.len() as f64;
    let two = anomaly_band(&series, 2.0).unwrap().anomalies.len() as f64 / n;
    let three = anomaly_band(&series, 3.0).unwrap().anomalies.len() as f64 / n;
    assert!(
        (0.02..0.09).contains(&two),
        "{:.2} % outside 2 sd",
        two * 100.0
    );
    assert!(three < 0.01, "{:.2} % outside 3 sd", three * 100.0);
}

#[test]
fn missing_points_get_a_band_but_are_never_anomalies() {
    let (mut series, _, _) = with_incidents(two_weeks());
    series.values[500] = f64::NAN; // the first spike, now missing
    series.values[2000..2010].fill(f64::NAN);
    let band = anomaly_band(&series, 3.0).unwrap();
    assert!(band.anomalies.iter().all(|a| a.index != 500));
    let p = band.points[2005];
    assert_eq!(p.value, None);
    assert!(p.lower < p.expected && p.expected < p.upper);
    assert_eq!(p.t, series.time_at(2005).unwrap());
}

#[test]
fn a_short_series_uses_a_rolling_median() {
    let mut series = Spec {
        noise_sd: 5.0,
        ..Spec::traffic(200, 4)
    }
    .generate()
    .series;
    series.values[100] += 200.0;
    let band = anomaly_band(&series, 2.0).unwrap();
    assert_eq!(band.model, "rolling median (11 points)");
    assert!(band.anomalies.iter().any(|a| a.index == 100));
}
