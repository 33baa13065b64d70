//! forecast_metric and anomaly_band over stdio against the simulated AWS, through the real
//! SDK: a daily cycle whose known crossing time the forecast finds, a latency spike outside
//! the band, and clear errors for short, gappy or missing history.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Harness, test_now};
use serde_json::{Value, json};
use sopilot_sim_aws::AwsState;

const BASELINE: f64 = 1000.0;
const AMPLITUDE: f64 = 400.0;
/// The daily peak, minutes after the simulator starts.
const PEAK_IN: i64 = 240;

fn state() -> AwsState {
    let cw = json!({"metrics": [
        // Requests per 5 minutes, no noise (the clean series), with a daily cycle peaking four
        // hours from now.
        {"namespace": "AWS/ApplicationELB", "name": "RequestCount",
         "dimensions": {"LoadBalancer": "app/shop/1"}, "period": "5m", "history": "8d",
         "series": {"baseline": BASELINE, "daily": {"amplitude": AMPLITUDE, "peak": format!("+{PEAK_IN}m")}}},
        {"namespace": "AWS/ApplicationELB", "name": "RequestCount",
         "dimensions": {"LoadBalancer": "app/new/2"}, "period": "5m", "history": "6h",
         "series": {"baseline": 100}},
        {"namespace": "AWS/ApplicationELB", "name": "RequestCount",
         "dimensions": {"LoadBalancer": "app/flaky/3"}, "period": "5m", "history": "7d",
         "series": {"baseline": 100, "daily": {"amplitude": 20},
                    "gaps": [{"from": "-6d", "to": "-3d"}]}},
        {"namespace": "AWS/ApplicationELB", "name": "RequestCount",
         "dimensions": {"LoadBalancer": "app/gone/4"}, "period": "5m", "history": "7d",
         "series": {"baseline": 100, "gaps": [{"from": "-2h", "to": "+1d"}]}},
        // Pod network latency per zone: 1b spikes for the last 20 minutes.
        {"namespace": "ContainerInsights", "name": "pod_network_rx_latency_ms",
         "dimensions": {"ClusterName": "eks-prod", "AvailabilityZone": "us-east-1b"},
         "history": "3d",
         "series": {"baseline": 20, "daily": {"amplitude": 8, "peak": "now"},
                    "noise": {"stddev": 0.8, "seed": 3},
                    "events": [{"at": "-20m", "add": 40}]}},
        {"namespace": "ContainerInsights", "name": "pod_network_rx_latency_ms",
         "dimensions": {"ClusterName": "eks-prod", "AvailabilityZone": "us-east-1a"},
         "history": "3d",
         "series": {"baseline": 20, "daily": {"amplitude": 8, "peak": "now"},
                    "noise": {"stddev": 0.8, "seed": 4}}},
        {"namespace": "ContainerInsights", "name": "pod_network_rx_latency_ms",
         "dimensions": {"ClusterName": "eks-prod", "AvailabilityZone": "us-east-1c"},
         "history": "2h", "series": {"baseline": 20}}
    ]});
    AwsState::from_sections_at(Some(&cw), None, None, test_now()).unwrap()
}

fn requests(lb: &str, extra: Value) -> Value {
    let mut args = json!({"namespace": "AWS/ApplicationELB", "metric": "RequestCount",
                          "dimensions": {"LoadBalancer": lb}, "stat": "Sum"});
    args.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    args
}

fn epoch(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("{v}")))
        .unwrap()
        .timestamp()
}

#[tokio::test]
async fn the_forecast_finds_the_daily_rise_and_when_it_crosses_a_threshold() {
    let h = Harness::pinned(state(), test_now()).await;
    let started = test_now().timestamp();
    // The true value three hours before the peak, on the rise; the forecast should reach it
    // then.
    let lead = 180.0;
    let threshold = BASELINE + AMPLITUDE * (std::f64::consts::TAU * lead / 1440.0).cos();
    let r = h
        .ok(
            "forecast_metric",
            requests(
                "app/shop/1",
                json!({"horizon_minutes": 300, "threshold": threshold}),
            ),
        )
        .await;
    let s = &r.structured;
    assert!(
        s["model"].as_str().unwrap().starts_with("MSTL(daily)"),
        "{}",
        r.text
    );
    let points = s["points"].as_array().unwrap();
    assert_eq!(points.len(), 60, "300 min at 5 min");
    for p in points {
        let (lo, y, up) = (
            p["lower"].as_f64().unwrap(),
            p["yhat"].as_f64().unwrap(),
            p["upper"].as_f64().unwrap(),
        );
        assert!(lo <= y && y <= up, "{p}");
    }
    // The peak is forecast where the cycle peaks, at about the cycle's height.
    let peak_at = started + PEAK_IN * 60;
    let peak = &s["peak"];
    assert!(
        (epoch(&peak["t"]) - peak_at).abs() <= 15 * 60,
        "peak at {} vs {peak_at}: {}",
        peak["t"],
        r.text
    );
    let height = peak["yhat"].as_f64().unwrap();
    assert!(
        (height - (BASELINE + AMPLITUDE)).abs() < 40.0,
        "{height}: {}",
        r.text
    );
    // Within one period (5 min) of the true crossing, give or take the minute the call took.
    let truth = peak_at - (lead as i64) * 60;
    let crossing = epoch(&s["threshold_crossing"]);
    assert!(
        (crossing - truth).abs() <= 6 * 60,
        "crossing {crossing} vs truth {truth}: {}",
        r.text
    );
    let upper = epoch(&s["threshold"]["first_crossing_upper"]);
    assert!(upper <= crossing, "the upper bound crosses first");
    assert!(r.text.contains("point forecast reaches it"), "{}", r.text);
    assert!(r.text.contains("MSTL(daily)"), "{}", r.text);
}

#[tokio::test]
async fn a_threshold_out_of_reach_is_not_crossed() {
    let h = Harness::pinned(state(), test_now()).await;
    let r = h
        .ok(
            "forecast_metric",
            requests(
                "app/shop/1",
                json!({"horizon_minutes": 30, "threshold": 5000}),
            ),
        )
        .await;
    assert_eq!(r.structured["threshold_crossing"], Value::Null);
    assert_eq!(
        r.structured["threshold"]["first_crossing_upper"],
        Value::Null
    );
    assert!(r.text.contains("not within the horizon"), "{}", r.text);
}

#[tokio::test]
async fn short_gappy_stale_and_unknown_histories_are_clear_errors() {
    let h = Harness::pinned(state(), test_now()).await;
    let r = h
        .call("forecast_metric", requests("app/new/2", json!({})))
        .await;
    assert!(r.is_error, "{}", r.text);
    assert!(r.text.contains("history too short"), "{}", r.text);
    assert!(
        r.text.contains("history_hours of at least 48"),
        "{}",
        r.text
    );

    let r = h
        .call("forecast_metric", requests("app/flaky/3", json!({})))
        .await;
    assert!(r.is_error, "{}", r.text);
    assert!(r.text.contains("history too gappy"), "{}", r.text);
    assert!(
        r.text.contains("the longest gaps: 864 points from"),
        "{}",
        r.text
    );

    let r = h
        .call("forecast_metric", requests("app/gone/4", json!({})))
        .await;
    assert!(r.is_error, "{}", r.text);
    assert!(r.text.contains("stale data"), "{}", r.text);

    let r = h
        .call("forecast_metric", requests("app/nope/9", json!({})))
        .await;
    assert!(r.is_error, "{}", r.text);
    assert!(r.text.contains("Existing sets"), "{}", r.text);

    let r = h
        .call(
            "forecast_metric",
            requests(
                "app/shop/1",
                json!({"history_hours": 24, "horizon_minutes": 720}),
            ),
        )
        .await;
    assert!(r.is_error, "{}", r.text);
    assert!(r.text.contains("history too short"), "{}", r.text);

    let r = h
        .call(
            "forecast_metric",
            requests("app/shop/1", json!({"horizon_minutes": 0})),
        )
        .await;
    assert!(
        r.is_error && r.text.contains("horizon_minutes"),
        "{}",
        r.text
    );
}

fn latency(zone: &str, extra: Value) -> Value {
    let mut args = json!({"namespace": "ContainerInsights", "metric": "pod_network_rx_latency_ms",
                          "dimensions": {"ClusterName": "eks-prod", "AvailabilityZone": zone}});
    args.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    args
}

#[tokio::test]
async fn the_anomaly_band_flags_the_spiking_zone_only() {
    let h = Harness::pinned(state(), test_now()).await;
    let r = h
        .ok(
            "anomaly_band",
            latency("us-east-1b", json!({"minutes": 60, "band_width": 3})),
        )
        .await;
    let s = &r.structured;
    // With seeded noise and a ±3 sd band, about one point in 370 falls outside by chance
    // (≈ 15 % of 60-point windows have one): the calm zone below allows one, and so does this
    // one, besides the spike. Which times of day have such a point is pinned by the clock.
    let above = s["above"].as_u64().unwrap();
    assert!(
        (19..=22).contains(&above),
        "the 20-minute spike: {}",
        r.text
    );
    assert!(s["below"].as_u64().unwrap() <= 1, "{}", r.text);
    let runs = s["runs"].as_array().unwrap();
    let long: Vec<&Value> = runs
        .iter()
        .filter(|r| r["points"].as_u64().unwrap() > 1)
        .collect();
    assert_eq!(long.len(), 1, "one run besides stray points: {}", r.text);
    assert!(runs.len() <= 2, "at most one stray point: {}", r.text);
    assert_eq!(long[0]["direction"], "above");
    assert!(long[0]["points"].as_u64().unwrap() >= 18, "{}", r.text);
    assert!(long[0]["worst"]["v"].as_f64().unwrap() > 60.0);
    assert_eq!(s["latest"]["outside"], "above", "{}", r.text);
    assert!(r.text.contains("above the band"), "{}", r.text);
    assert!(s["points_checked"].as_u64().unwrap() >= 59);

    let r = h
        .ok(
            "anomaly_band",
            latency("us-east-1a", json!({"minutes": 60, "band_width": 3})),
        )
        .await;
    assert!(
        r.structured["outside_count"].as_u64().unwrap() <= 1,
        "a calm zone: {}",
        r.text
    );
    assert!(r.structured["runs"].as_array().unwrap().len() <= 1);
}

#[tokio::test]
async fn an_anomaly_band_without_history_or_with_a_bad_width_is_an_error() {
    let h = Harness::pinned(state(), test_now()).await;
    let r = h
        .call(
            "anomaly_band",
            latency("us-east-1c", json!({"minutes": 180})),
        )
        .await;
    assert!(r.is_error, "{}", r.text);
    assert!(r.text.contains("no anomaly band"), "{}", r.text);

    let r = h
        .call(
            "anomaly_band",
            latency("us-east-1a", json!({"band_width": 0})),
        )
        .await;
    assert!(r.is_error && r.text.contains("band_width"), "{}", r.text);

    let r = h
        .call("anomaly_band", latency("eu-west-1a", json!({})))
        .await;
    assert!(r.is_error && r.text.contains("Existing sets"), "{}", r.text);
}
