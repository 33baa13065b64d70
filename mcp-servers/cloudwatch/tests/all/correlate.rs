//! correlate over stdio against the simulated AWS, through the real SDK: the database's
//! connections lead the load balancer's 5XX by two minutes (as in the db-connection-exhaustion
//! case), latency moves with them, the pods' CPU after them, a flat series is named, and bad
//! input gets an error that says what to change.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Harness, test_now};
use serde_json::{Value, json};
use sopilot_sim_aws::AwsState;

const LB: &str = "app/k8s-payments-paymenta-2e4f6a8c1b/7d9e1f3a5b7c9d2e";

fn state() -> AwsState {
    let cw = json!({"metrics": [
        {"namespace": "AWS/ApplicationELB", "name": "HTTPCode_Target_5XX_Count",
         "dimensions": {"LoadBalancer": LB},
         "series": {"baseline": 1, "events": [{"at": "-13m", "add": 320, "ramp": "1m"}],
                    "noise": {"stddev": 12, "seed": 1401}, "integer": true, "min": 0}},
        {"namespace": "AWS/ApplicationELB", "name": "TargetResponseTime",
         "dimensions": {"LoadBalancer": LB},
         "series": {"baseline": 0.06, "events": [{"at": "-13m", "add": 1.9, "ramp": "1m"}],
                    "noise": {"stddev": 0.02, "seed": 1402}, "min": 0}},
        {"namespace": "AWS/RDS", "name": "DatabaseConnections",
         "dimensions": {"DBInstanceIdentifier": "payments-db-instance-1"},
         "series": {"baseline": 310, "events": [{"at": "-15m", "add": 300, "ramp": "1m"}],
                    "noise": {"stddev": 6, "seed": 1403}, "integer": true, "max": 600}},
        // The pods work harder once clients retry: a consequence, two minutes after the 5XX.
        {"namespace": "ContainerInsights", "name": "pod_cpu_utilization",
         "dimensions": {"ClusterName": "eks-prod", "Namespace": "payments", "PodName": "payments-api"},
         "series": {"baseline": 30, "events": [{"at": "-11m", "add": 25, "ramp": "1m"}],
                    "noise": {"stddev": 1.5, "seed": 1404}}},
        // Unrelated: a slow daily cycle with noise.
        {"namespace": "AWS/RDS", "name": "FreeStorageSpace",
         "dimensions": {"DBInstanceIdentifier": "payments-db-instance-1"},
         "series": {"baseline": 5.0e10, "daily": {"amplitude": 1.0e8, "peak": "-3h"},
                    "noise": {"stddev": 2.0e7, "seed": 1405}}},
        // Flat: the cache's connections never move.
        {"namespace": "AWS/ElastiCache", "name": "CurrConnections",
         "dimensions": {"CacheClusterId": "payments-cache-001"},
         "series": {"baseline": 48}}
    ]});
    AwsState::from_sections_at(Some(&cw), None, None, test_now()).unwrap()
}

fn metric(namespace: &str, metric: &str, dims: Value, stat: &str) -> Value {
    json!({"namespace": namespace, "metric": metric, "dimensions": dims, "stat": stat})
}

fn errors() -> Value {
    metric(
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
        json!({"LoadBalancer": LB}),
        "Sum",
    )
}

fn db() -> Value {
    metric(
        "AWS/RDS",
        "DatabaseConnections",
        json!({"DBInstanceIdentifier": "payments-db-instance-1"}),
        "Maximum",
    )
}

fn candidates() -> Value {
    json!([
        metric(
            "AWS/ApplicationELB",
            "TargetResponseTime",
            json!({"LoadBalancer": LB}),
            "p99"
        ),
        metric(
            "ContainerInsights",
            "pod_cpu_utilization",
            json!({"ClusterName": "eks-prod", "Namespace": "payments", "PodName": "payments-api"}),
            "Average"
        ),
        metric(
            "AWS/RDS",
            "FreeStorageSpace",
            json!({"DBInstanceIdentifier": "payments-db-instance-1"}),
            "Average"
        ),
        metric(
            "AWS/ElastiCache",
            "CurrConnections",
            json!({"CacheClusterId": "payments-cache-001"}),
            "Average"
        ),
        db(),
    ])
}

fn finding<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["ranking"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no finding {name}: {r}"))
}

#[tokio::test]
async fn the_database_connections_lead_the_5xx_and_rank_first() {
    let h = Harness::pinned(state(), test_now()).await;
    let r = h
        .ok(
            "correlate",
            json!({"symptom": errors(), "candidates": candidates(), "minutes": 60}),
        )
        .await;
    let s = &r.structured;
    let order: Vec<&str> = s["ranking"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(order[0], "DatabaseConnections", "{}", r.text);
    assert_eq!(order[4], "CurrConnections", "{}", r.text);

    let db = finding(s, "DatabaseConnections");
    assert_eq!(db["best_lag"]["steps"], -2, "{}", r.text);
    assert_eq!(db["best_lag"]["seconds"], -120);
    assert!(db["best_lag"]["r"].as_f64().unwrap() > 0.9, "{db}");
    assert_eq!(db["strength"], "strong");
    assert_eq!(db["anomaly_lead_seconds"], 120, "{db}");
    assert_eq!(
        finding(s, "TargetResponseTime")["best_lag"]["steps"],
        0,
        "{}",
        r.text
    );
    assert_eq!(
        finding(s, "pod_cpu_utilization")["best_lag"]["steps"],
        2,
        "{}",
        r.text
    );
    assert_eq!(finding(s, "CurrConnections")["status"], "flat");
    assert!(
        finding(s, "FreeStorageSpace")["best_lag"]["r"]
            .as_f64()
            .unwrap()
            .abs()
            < 0.5,
        "{}",
        r.text
    );

    let lines: Vec<&str> = r.text.lines().collect();
    assert!(
        lines[0].starts_with("Correlation with AWS/ApplicationELB/HTTPCode_Target_5XX_Count"),
        "{}",
        r.text
    );
    assert!(
        lines[1].starts_with("symptom HTTPCode_Target_5XX_Count: 60 of 60 points at 1 min steps"),
        "{}",
        r.text
    );
    assert!(
        lines[2].starts_with("1. DatabaseConnections led HTTPCode_Target_5XX_Count by 2 min, r="),
        "{}",
        r.text
    );
    assert!(
        lines[2].contains("2 min before the symptom's"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(
            "pod_cpu_utilization lagged HTTPCode_Target_5XX_Count by 2 min (moved after it)"
        ),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("CurrConnections is flat over the window"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(
            "4. FreeStorageSpace: weak correlation with HTTPCode_Target_5XX_Count (best r="
        ),
        "{}",
        r.text
    );
    assert_eq!(s["metrics"].as_array().unwrap().len(), 6);
    assert_eq!(s["metrics"][0]["points"].as_array().unwrap().len(), 60);
}

#[tokio::test]
async fn two_series_of_one_metric_are_told_apart_by_their_dimensions_or_labels() {
    let h = Harness::pinned(state(), test_now()).await;
    let other = metric(
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
        json!({"LoadBalancer": LB}),
        "Maximum",
    );
    let r = h
        .ok(
            "correlate",
            json!({"symptom": errors(), "candidates": [other, db()]}),
        )
        .await;
    assert!(
        r.text.contains(&format!(
            "HTTPCode_Target_5XX_Count{{LoadBalancer={LB}}} moved with"
        )),
        "{}",
        r.text
    );
    let mut labelled = db();
    labelled["label"] = json!("payments-db connections");
    let r = h
        .ok(
            "correlate",
            json!({"symptom": errors(), "candidates": [labelled]}),
        )
        .await;
    assert!(
        r.text.contains("1. payments-db connections led"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn bad_input_says_what_to_change() {
    let h = Harness::pinned(state(), test_now()).await;
    let e = h
        .fails("correlate", json!({"symptom": errors(), "candidates": []}))
        .await;
    assert!(e.contains("candidates must list 1 to 20 metrics"), "{e}");
    let e = h
        .fails("correlate", json!({"symptom": errors(), "candidates": [metric("AWS/RDS", "DatabaseConections", json!({"DBInstanceIdentifier": "payments-db-instance-1"}), "Maximum")]}))
        .await;
    assert!(
        e.contains("no metric \"DatabaseConections\" in namespace \"AWS/RDS\"")
            && e.contains("DatabaseConnections"),
        "{e}"
    );
    let e = h
        .fails(
            "correlate",
            json!({"symptom": errors(), "candidates": [db()], "max_lag_minutes": 45}),
        )
        .await;
    assert!(
        e.contains("max_lag_minutes must be between 0 and half the window (30 min"),
        "{e}"
    );
    let e = h
        .fails(
            "correlate",
            json!({"symptom": errors(), "candidates": [db()], "period_seconds": 90}),
        )
        .await;
    assert!(e.contains("period_seconds 90 is not valid"), "{e}");
    let mut bad = db();
    bad["stat"] = json!("Median");
    let e = h
        .fails(
            "correlate",
            json!({"symptom": errors(), "candidates": [bad]}),
        )
        .await;
    assert!(e.contains("stat \"Median\" is not valid"), "{e}");
}
