//! X-Ray through the real `aws-sdk-xray` client (its deserializers check the wire shapes):
//! the service graph and trace summaries of tests/scenarios/aws-payment.yaml, filter
//! expressions, paging, validation and throttling.

use aws_sdk_xray::primitives::DateTime;
use sopilot_sim_aws::{Fault, FaultKind, Service};

use crate::common;

fn window(sim: &common::Sim, minutes: i64) -> (DateTime, DateTime) {
    let now = sim.state.start().timestamp();
    (
        DateTime::from_secs(now - minutes * 60),
        DateTime::from_secs(now),
    )
}

#[tokio::test]
async fn the_service_graph_shows_the_faulting_database_edge() {
    let sim = common::start().await;
    let (from, to) = window(&sim, 30);
    let g = sim
        .xray(1)
        .get_service_graph()
        .start_time(from)
        .end_time(to)
        .send()
        .await
        .unwrap();
    let services = g.services();
    let names: Vec<Option<&str>> = services.iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        [
            None,
            Some("payment-service"),
            Some("postgres"),
            Some("payment-gateway")
        ]
    );
    assert_eq!(services[0].r#type(), Some("client"));
    let payment = &services[1];
    assert!(payment.root().unwrap_or_default());
    let served = payment.summary_statistics().unwrap();
    let total = served.total_count().unwrap();
    assert!((16_000..20_000).contains(&total), "{total}");
    // About 40 % of the database calls fault, and every fault reaches payment-service's
    // callers: its own fault rate follows the database's.
    let faults = served.fault_statistics().unwrap().total_count().unwrap();
    assert!(
        (37..=43).contains(&(faults * 100 / total)),
        "{faults} of {total}"
    );
    let db_edge = payment
        .edges()
        .iter()
        .find(|e| e.reference_id() == services[2].reference_id())
        .unwrap();
    let db = db_edge.summary_statistics().unwrap();
    let rate =
        db.fault_statistics().unwrap().total_count().unwrap() * 100 / db.total_count().unwrap();
    assert!((37..=43).contains(&rate), "{rate} %");
    let avg = db.total_response_time().unwrap() / db.total_count().unwrap() as f64;
    assert!((3.9..4.1).contains(&avg), "{avg} s");
    let histogram = db_edge.response_time_histogram();
    assert!(
        histogram.len() >= 5 && histogram.iter().all(|h| h.count() > 0),
        "{histogram:?}"
    );
    let gateway = payment
        .edges()
        .iter()
        .find(|e| e.reference_id() == services[3].reference_id())
        .unwrap();
    let errors = gateway
        .summary_statistics()
        .unwrap()
        .error_statistics()
        .unwrap();
    assert!(errors.throttle_count().unwrap() > 0 && errors.other_count().unwrap() > 0);
    assert_eq!(
        gateway
            .summary_statistics()
            .unwrap()
            .fault_statistics()
            .unwrap()
            .total_count(),
        Some(0)
    );
    assert_eq!(services[2].r#type(), Some("Database::SQL"));

    // Before the NetworkPolicy, nothing faulted.
    let now = sim.state.start().timestamp();
    let g = sim
        .xray(1)
        .get_service_graph()
        .start_time(DateTime::from_secs(now - 4 * 3600))
        .end_time(DateTime::from_secs(now - 3 * 3600))
        .send()
        .await
        .unwrap();
    let calm = g.services()[1].summary_statistics().unwrap();
    assert!(
        calm.fault_statistics().unwrap().total_count().unwrap() * 100 / calm.total_count().unwrap()
            < 2
    );
}

#[tokio::test]
async fn trace_summaries_name_the_database_as_the_fault_root_cause() {
    let sim = common::start().await;
    let (from, to) = window(&sim, 30);
    let x = sim.xray(1);
    let r = x
        .get_trace_summaries()
        .start_time(from)
        .end_time(to)
        .filter_expression("fault = true")
        .send()
        .await
        .unwrap();
    let traces = r.trace_summaries();
    assert!(traces.len() >= 100, "{}", traces.len());
    assert!(r.traces_processed_count().unwrap() > traces.len() as i64);
    assert!(
        r.next_token().is_some(),
        "more than a page of faulty traces"
    );
    for t in traces {
        assert_eq!(t.has_fault(), Some(true));
        assert_eq!(t.http().unwrap().http_status(), Some(500));
        assert_eq!(t.entry_point().unwrap().name(), Some("payment-service"));
        let cause = &t.fault_root_causes()[0].services()[0];
        assert_eq!(cause.name(), Some("postgres"), "{t:?}");
        assert_eq!(cause.inferred(), Some(true));
        let path: Vec<_> = cause
            .entity_path()
            .iter()
            .map(|e| e.name().unwrap())
            .collect();
        assert_eq!(path, ["payment-service", "postgres"]);
        let ex = &cause.entity_path()[1].exceptions()[0];
        assert_eq!(ex.name(), Some("java.net.SocketTimeoutException"));
        assert!(t.id().unwrap().starts_with("1-") && t.id().unwrap().len() == 35);
    }
    let next = x
        .get_trace_summaries()
        .start_time(from)
        .end_time(to)
        .filter_expression("fault = true")
        .next_token(r.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert!(!next.trace_summaries().is_empty());
    assert_ne!(next.trace_summaries()[0].id(), traces[0].id());

    // Scoped and combined filters.
    let edge = x
        .get_trace_summaries()
        .start_time(from)
        .end_time(to)
        .filter_expression(
            r#"edge("payment-service", "postgres") { fault = true } AND responsetime > 1"#,
        )
        .send()
        .await
        .unwrap();
    assert!(!edge.trace_summaries().is_empty());
    assert!(
        edge.trace_summaries()
            .iter()
            .all(|t| t.response_time().unwrap() > 1.0)
    );
    let gateway = x
        .get_trace_summaries()
        .start_time(from)
        .end_time(to)
        .filter_expression(r#"service("payment-gateway") { fault }"#)
        .send()
        .await
        .unwrap();
    assert!(
        gateway.trace_summaries().is_empty(),
        "the gateway never faults"
    );
    let ok = x
        .get_trace_summaries()
        .start_time(from)
        .end_time(to)
        .filter_expression("ok")
        .send()
        .await
        .unwrap();
    assert!(
        ok.trace_summaries()
            .iter()
            .all(|t| t.has_fault() == Some(false) && t.http().unwrap().http_status() == Some(200))
    );
}

#[tokio::test]
async fn bad_requests_and_throttling_are_answered_as_x_ray_does() {
    let sim = common::start().await;
    let (from, to) = window(&sim, 10);
    let x = sim.xray(1);
    let e = x
        .get_trace_summaries()
        .start_time(from)
        .end_time(to)
        .filter_expression("annotation.user = \"x\"")
        .send()
        .await
        .unwrap_err();
    let e = e.into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");
    assert!(format!("{e:?}").contains("annotation.user"), "{e:?}");
    let now = sim.state.start().timestamp();
    let e = x
        .get_trace_summaries()
        .start_time(DateTime::from_secs(now - 25 * 3600))
        .end_time(to)
        .send()
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_invalid_request_exception());
    let e = x
        .get_service_graph()
        .start_time(to)
        .end_time(from)
        .send()
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_invalid_request_exception());

    sim.state.inject(
        Service::XRay,
        Fault {
            operation: "GetServiceGraph".into(),
            kind: FaultKind::Throttle,
            times: Some(2),
        },
    );
    let e = x
        .get_service_graph()
        .start_time(from)
        .end_time(to)
        .send()
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_throttled_exception());
    // The SDK retries throttling: the second call's retries outlast the one fault left.
    sim.xray(3)
        .get_service_graph()
        .start_time(from)
        .end_time(to)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_section_with_an_unknown_service_is_refused_naming_the_field() {
    let section = serde_json::json!({
        "services": [{"name": "api"}],
        "edges": [{"from": "api", "to": "db", "requests": {"baseline": 1}, "latency_ms": {"baseline": 1}}],
    });
    let e = sopilot_sim_aws::AwsState::from_sections(None, None, None)
        .unwrap()
        .with_xray(Some(&section))
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("edges[0].to") && text.contains("\"db\"") && text.contains("api"),
        "{text}"
    );
}
