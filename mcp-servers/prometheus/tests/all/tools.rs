//! Every tool against a real Prometheus serving the payment scenario's history: real PromQL
//! (rate, sum by, histogram_quantile, increase), alerts and rules evaluated by the server,
//! discovery, and target health. One server for all of them (starting one takes seconds).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use crate::support::connect;

const CRASHING: &str = "payment-service-7d8f9c6b5-x2k9p";

fn number(text: &str, after: &str) -> f64 {
    let rest = &text[text
        .find(after)
        .unwrap_or_else(|| panic!("no {after:?} in {text}"))
        + after.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|e| panic!("{after:?} in {text}: {e}"))
}

#[tokio::test]
async fn every_tool_against_a_real_prometheus() {
    let Some((p, c)) = connect().await else {
        return;
    };
    assert!(
        p.series > 100 && p.samples > 10_000,
        "{} series, {} samples",
        p.series,
        p.samples
    );
    let now = p.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

    // kube-state-metrics: the crash-looping pod's restarts, at the scenario's now.
    let r = c
        .ok("query", json!({"query": format!("kube_pod_container_status_restarts_total{{pod=\"{CRASHING}\"}}")}))
        .await;
    assert!(
        r.text.starts_with(&format!(
            "`kube_pod_container_status_restarts_total{{pod=\"{CRASHING}\"}}` at {now}\n1 series\n"
        )),
        "{}",
        r.text
    );
    assert_eq!(r.structured["result"][0]["value"], "7", "{}", r.text);

    // rate + sum by over a counter: 4 errors a second after the spike, 0.1 before it.
    let errors = "sum by (code) (rate(http_requests_total{service=\"payment-service\"}[5m]))";
    let r = c.ok("query", json!({"query": errors})).await;
    let v500 = number(&r.text, "{code=\"500\"}  ");
    assert!((3.9..4.3).contains(&v500), "{}", r.text);
    let before = (p.now - chrono::Duration::minutes(40)).to_rfc3339();
    let r = c
        .ok("query", json!({"query": errors, "time": before}))
        .await;
    let v500 = number(&r.text, "{code=\"500\"}  ");
    assert!((0.05..0.15).contains(&v500), "{}", r.text);

    // histogram_quantile over an hour: the step fits the budget; the p99 rose past 1 s.
    let p99 = "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service=\"payment-service\"}[5m])))";
    let r = c
        .ok("query_range", json!({"query": p99, "minutes": 60}))
        .await;
    assert!(r.text.contains("1 series, step 30s\n"), "{}", r.text);
    assert!(r.text.contains("rising"), "{}", r.text);
    let max = r.structured["series"][0]["summary"]["max"]
        .as_f64()
        .unwrap();
    let min = r.structured["series"][0]["summary"]["min"]
        .as_f64()
        .unwrap();
    assert!(max > 2.0 && min < 0.5, "{}", r.text);
    assert_eq!(r.structured["step_seconds"], 30);

    // cAdvisor: the crashing pod's CPU, a counter at 940m, read back through rate().
    let cpu = format!("sum(rate(container_cpu_usage_seconds_total{{pod=\"{CRASHING}\"}}[5m]))");
    let r = c
        .ok(
            "query_range",
            json!({"query": cpu, "minutes": 30, "step_seconds": 60}),
        )
        .await;
    assert!(r.text.contains("step 1m"), "{}", r.text);
    let last = r.structured["series"][0]["summary"]["last"]
        .as_f64()
        .unwrap();
    assert!((0.93..0.95).contains(&last), "{}", r.text);
    assert_eq!(
        r.structured["series"][0]["summary"]["trend"], "flat",
        "{}",
        r.text
    );

    // The simulated AWS's ALB 5xx, as a CloudWatch exporter names it, over three hours.
    let alb = "aws_applicationelb_httpcode_target_5xx_count";
    let r = c
        .ok("query_range", json!({"query": alb, "minutes": 180}))
        .await;
    assert!(
        r.text.contains(
            "dimension_LoadBalancer=\"app/k8s-payment-paymenti-5f2c8e1d7a/9c3b6a2e4d1f8071\""
        ),
        "{}",
        r.text
    );
    assert!(
        r.structured["series"][0]["summary"]["max"]
            .as_f64()
            .unwrap()
            > 250.0,
        "{}",
        r.text
    );

    // Which signal moved first: the database pool filled 5 minutes before the errors.
    let r = c
        .ok(
            "correlate",
            json!({
                "symptom": "sum(rate(http_requests_total{service=\"payment-service\",code=\"500\"}[5m]))",
                "candidates": [
                    format!("sum(rate(container_cpu_usage_seconds_total{{pod=\"{CRASHING}\"}}[5m]))"),
                    "max by (pool) (db_connections_in_use)",
                    "sum by (code) (rate(http_requests_total{code=\"200\"}[5m]))",
                ],
                "minutes": 60,
            }),
        )
        .await;
    let first = r
        .text
        .lines()
        .find(|l| l.starts_with("1. "))
        .unwrap_or_default();
    assert!(
        first.starts_with("1. max by (pool) (db_connections_in_use) led "),
        "{}",
        r.text
    );
    let lead = r.structured["ranking"]["findings"][0]["best_lag"]["seconds"]
        .as_i64()
        .unwrap();
    assert!(
        (-480..=-240).contains(&lead),
        "a lead of about 5 min: {lead} s\n{}",
        r.text
    );
    assert!(r.text.contains("flat"), "the CPU is flat: {}", r.text);
    let e = c
        .fails(
            "correlate",
            json!({"symptom": "http_requests_total", "candidates": ["up"]}),
        )
        .await;
    assert!(
        e.contains("returned 2 series in the window; it must return one"),
        "{e}"
    );

    // Alerts evaluated by the server: firing first, with the rule behind each.
    let r = c.ok("alerts", json!({})).await;
    assert!(
        r.text
            .starts_with("3 firing, 1 pending (of 5 alerting rules)\n"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("FIRING  PaymentHighErrorRate  since "),
        "{}",
        r.text
    );
    assert!(
        r.text
            .contains("  labels: namespace=\"payment\", severity=\"critical\"\n"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(
            "  rule: sum(rate(http_requests_total{code=~\"5..\",service=\"payment-service\"}[5m]))"
        ),
        "{}",
        r.text
    );
    assert!(
        r.text
            .contains("  summary: payment-service answers more than 5% of requests with 5xx\n"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(&format!("pod=\"{CRASHING}\"")),
        "the restart alert names the pod: {}",
        r.text
    );
    let pending = c.ok("alerts", json!({"state": "pending"})).await;
    assert!(
        pending.text.starts_with("0 firing, 1 pending"),
        "{}",
        pending.text
    );
    assert!(
        pending.text.contains("PENDING  PaymentLatencyP99High")
            && pending.text.contains("  for 1h  (group payment)"),
        "{}",
        pending.text
    );
    let critical = c
        .ok("alerts", json!({"labels": {"severity": "critical"}}))
        .await;
    assert_eq!(
        critical.structured["alerts"].as_array().unwrap().len(),
        1,
        "{}",
        critical.text
    );

    // Rules: both groups, the recording rule, the inactive alert, and the broken rule's error.
    let r = c.ok("rules", json!({})).await;
    assert!(r.text.starts_with("7 rules in 2 groups\n"), "{}", r.text);
    assert!(
        r.text.contains("CheckoutDown") && r.text.contains("inactive"),
        "{}",
        r.text
    );
    assert!(r.text.contains("payment:http_errors:rate5m"), "{}", r.text);
    assert!(
        r.text
            .contains("broken:many_to_many (broken): last evaluation failed: "),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("many-to-many matching not allowed"),
        "{}",
        r.text
    );
    let records = c.ok("rules", json!({"type": "record"})).await;
    assert!(
        records.text.starts_with("2 rules in 2 groups"),
        "{}",
        records.text
    );

    // Discovery.
    let r = c.ok("series", json!({"match": ["{namespace=\"payment\", __name__=\"kube_pod_container_status_restarts_total\"}"]})).await;
    assert!(
        r.text
            .contains("by metric: kube_pod_container_status_restarts_total ("),
        "{}",
        r.text
    );
    assert!(r.text.contains(CRASHING), "{}", r.text);
    let r = c
        .ok(
            "label_values",
            json!({"label": "pod", "match": ["kube_pod_info{namespace=\"payment\"}"]}),
        )
        .await;
    assert!(r.text.contains(CRASHING), "{}", r.text);
    let r = c.ok("label_values", json!({"label": "__name__"})).await;
    for name in [
        "http_request_duration_seconds_bucket",
        "kube_deployment_status_replicas_available",
        "node_cpu_usage_seconds_total",
        "container_memory_working_set_bytes",
    ] {
        assert!(r.text.contains(name), "{name}: {}", r.text);
    }

    // Target health: the closed port is down (listed first), Prometheus itself up.
    let r = c.ok("targets", json!({})).await;
    assert!(
        r.text.starts_with(
            "2 active targets; payment-exporter: 0 up, 1 down; prometheus: 1 up, 0 down\n"
        ),
        "{}",
        r.text
    );
    let first_row = r.text.lines().nth(2).unwrap_or_default();
    assert!(
        first_row.starts_with("payment-exporter") && first_row.contains("connection refused"),
        "{}",
        r.text
    );
    let up = c.ok("targets", json!({"health": "up"})).await;
    assert_eq!(
        up.structured["targets"].as_array().unwrap().len(),
        1,
        "{}",
        up.text
    );
}
