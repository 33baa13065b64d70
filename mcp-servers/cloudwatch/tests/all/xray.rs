//! `service_graph` and `trace_summaries` over stdio against the simulated X-Ray, through the
//! real aws-sdk-xray client: the payment topology of tests/scenarios/aws-payment.yaml, where
//! the NetworkPolicy makes 40 % of payment-service's database calls time out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use serde_json::json;
use sopilot_sim_aws::{Fault, FaultKind, Service};

/// The repository's scenario with the simulator's and the server's clocks frozen at
/// [`common::test_now`]: the simulated traces are drawn per minute, so an unpinned run found
/// none of the gateway's rare errors in some half hours.
async fn pinned() -> Harness {
    let s = common::scenario();
    let now = common::test_now();
    let state = sopilot_sim_aws::AwsState::from_sections_at(
        s.get("cloudwatch"),
        s.get("logs"),
        s.get("cost"),
        now,
    )
    .and_then(|state| state.with_xray(s.get("xray")))
    .unwrap();
    Harness::pinned(state, now).await
}

#[tokio::test]
async fn the_service_graph_puts_the_faulting_database_edge_first_and_names_the_origin() {
    let h = pinned().await;
    let r = h.ok("service_graph", json!({"minutes": 30})).await;
    let s = &r.structured;
    assert_eq!(
        s["fault_origins"],
        json!([["client", "payment-service", "postgres"]]),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(
            "Faults originate at postgres: faulting calls client → payment-service → postgres."
        ),
        "{}",
        r.text
    );
    let first = &s["edges"][0];
    assert_eq!(
        (first["from"].as_str(), first["to"].as_str()),
        (Some("payment-service"), Some("postgres")),
        "{}",
        r.text
    );
    let fault = first["fault_pct"].as_f64().unwrap();
    assert!((37.0..43.0).contains(&fault), "{fault}");
    let avg = first["avg_s"].as_f64().unwrap();
    assert!((3.9..4.1).contains(&avg), "{avg}");
    assert!(first["p99_s"].as_f64().unwrap() > first["p50_s"].as_f64().unwrap());
    // The healthy gateway comes last, with its throttling shown but under the threshold.
    let gateway = s["edges"].as_array().unwrap().last().unwrap();
    assert_eq!(gateway["to"], "payment-gateway");
    assert_eq!(gateway["fault_pct"], 0.0);
    assert!(gateway["throttle_pct"].as_f64().unwrap() > 0.0);
    // One line per service and per edge.
    assert_eq!(s["services"].as_array().unwrap().len(), 3);
    assert!(r.text.contains("payment-service → postgres"), "{}", r.text);

    let focused = h
        .ok("service_graph", json!({"service": "payment-gateway"}))
        .await;
    assert_eq!(
        focused.structured["edges"].as_array().unwrap().len(),
        1,
        "{}",
        focused.text
    );
    assert!(
        focused.structured["fault_origins"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let e = h
        .fails("service_graph", json!({"service": "paymnet-service"}))
        .await;
    assert!(
        e.contains("\"paymnet-service\"")
            && e.contains("payment-service, postgres, payment-gateway"),
        "{e}"
    );
    let e = h.fails("service_graph", json!({"minutes": 5000})).await;
    assert!(e.contains("minutes must be between 1 and 1440"), "{e}");
}

#[tokio::test]
async fn a_graph_before_the_incident_is_healthy() {
    // The server's clock is pinned three hours before the simulator's start: the
    // NetworkPolicy (at -2h) has not happened yet.
    let state = common::common_state();
    let before = state.start() - chrono::Duration::hours(3);
    let h = Harness::pinned(state, before).await;
    let r = h.ok("service_graph", json!({"minutes": 60})).await;
    assert!(
        r.structured["fault_origins"].as_array().unwrap().is_empty(),
        "{}",
        r.text
    );
    assert!(r.text.contains("0 unhealthy"), "{}", r.text);
}

#[tokio::test]
async fn trace_summaries_group_the_faults_by_root_cause() {
    let h = pinned().await;
    let r = h.ok("trace_summaries", json!({"minutes": 30})).await;
    let s = &r.structured;
    assert_eq!(s["filter"], "fault = true");
    let causes = s["root_causes"].as_array().unwrap();
    assert_eq!(causes.len(), 1, "{}", r.text);
    assert_eq!(causes[0]["service"], "postgres");
    assert_eq!(causes[0]["failing_call"], "payment-service → postgres");
    assert!(
        causes[0]["exception"]
            .as_str()
            .unwrap()
            .starts_with("java.net.SocketTimeoutException: connect timed out")
    );
    let n = causes[0]["traces"].as_u64().unwrap();
    assert_eq!(n, s["traces_read"].as_u64().unwrap());
    assert!(n > 150, "{n}: 30 minutes x 20 traces x 40 %");
    assert_eq!(s["entry_points"][0]["statuses"], json!({"500": n}));
    assert!(r.text.contains("postgres (fault)"), "{}", r.text);
    assert!(
        r.text
            .contains("POST https://payment.example.com/api/v1/payments"),
        "{}",
        r.text
    );

    // Errors of the gateway are another root cause; none of them is a fault.
    let r = h
        .ok(
            "trace_summaries",
            json!({"filter": "error = true AND NOT fault"}),
        )
        .await;
    let causes = r.structured["root_causes"].as_array().unwrap();
    assert!(
        causes
            .iter()
            .any(|c| c["service"] == "payment-gateway" && c["kind"] == "error"),
        "{}",
        r.text
    );

    let e = h
        .fails(
            "trace_summaries",
            json!({"filter": "annotation.customer = \"x\""}),
        )
        .await;
    assert!(
        e.contains("Invalid filter expression") && e.contains("annotation.customer"),
        "{e}"
    );
    let e = h.fails("trace_summaries", json!({"minutes": 2000})).await;
    assert!(e.contains("minutes must be between 1 and 1440"), "{e}");
}

#[tokio::test]
async fn x_ray_throttling_is_retried_then_reported() {
    let h = pinned().await;
    h.state.inject(
        Service::XRay,
        Fault {
            operation: "GetServiceGraph".into(),
            kind: FaultKind::Throttle,
            times: Some(1),
        },
    );
    h.ok("service_graph", json!({})).await;
    h.state.inject(
        Service::XRay,
        Fault {
            operation: "GetTraceSummaries".into(),
            kind: FaultKind::Throttle,
            times: None,
        },
    );
    let e = h.fails("trace_summaries", json!({})).await;
    assert!(
        e.contains("X-Ray") && e.to_lowercase().contains("throttl"),
        "{e}"
    );
}
