//! moto (PyPI `moto[server]`) as an independent second backend for Cost Explorer. moto does
//! not compute costs: it answers GetCostAndUsage from a queue of results seeded through
//! `POST /moto-api/static/ce/cost-and-usage-results`, one per distinct request. The seeds are
//! the two months of the seed document's scenario, so compare_periods must find its drivers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use serde_json::{Value, json};
use sopilot_test_support::moto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// POSTs JSON to moto over a plain HTTP/1.1 connection; returns the status line.
async fn post(port: u16, path: &str, body: &Value) -> String {
    let body = body.to_string();
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out.lines().next().unwrap_or_default().to_owned()
}

fn month(start: &str, end: &str, rows: &[(&str, &str, &str)]) -> Value {
    json!({
        "ResultsByTime": [{
            "TimePeriod": {"Start": start, "End": end},
            "Total": {},
            "Groups": rows.iter().map(|(s, u, a)| json!({"Keys": [s, u], "Metrics": {"UnblendedCost": {"Amount": a, "Unit": "USD"}}})).collect::<Vec<_>>(),
            "Estimated": false,
        }],
        "DimensionValueAttributes": [],
        "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
    })
}

#[tokio::test]
async fn compare_periods_against_moto() {
    let m = moto().await;
    const EC2: &str = "Amazon Elastic Compute Cloud - Compute";
    const OTHER: &str = "EC2 - Other";
    const ELB: &str = "Amazon Elastic Load Balancing";
    let base = month(
        "2026-01-01",
        "2026-02-01",
        &[
            (EC2, "USE1-BoxUsage:m5.xlarge", "4900"),
            (EC2, "USE1-BoxUsage:m5.4xlarge", "400"),
            (OTHER, "USE1-DataTransfer-Regional-Bytes", "300"),
            (OTHER, "USE1-EBS:VolumeUsage.gp3", "250"),
            (OTHER, "USE1-NatGateway-Bytes", "2449.21"),
            (ELB, "USE1-LCUUsage", "170"),
            (
                "Amazon Elastic Kubernetes Service",
                "USE1-AmazonEKS-Hours:perCluster",
                "117",
            ),
        ],
    );
    let later = month(
        "2026-02-01",
        "2026-03-01",
        &[
            (EC2, "USE1-BoxUsage:m5.xlarge", "4900"),
            (EC2, "USE1-BoxUsage:m5.4xlarge", "3600"),
            (OTHER, "USE1-DataTransfer-Regional-Bytes", "2100"),
            (OTHER, "USE1-EBS:VolumeUsage.gp3", "1200"),
            (OTHER, "USE1-NatGateway-Bytes", "113"),
            (ELB, "USE1-LCUUsage", "420"),
            (
                "Amazon Elastic Kubernetes Service",
                "USE1-AmazonEKS-Hours:perCluster",
                "117",
            ),
        ],
    );
    let status = post(
        m.port,
        "/moto-api/static/ce/cost-and-usage-results",
        &json!({"results": [base, later]}),
    )
    .await;
    assert!(status.contains("201"), "{status}");

    let client = common::server(&m.url).stdio().await;
    let r = client
        .call("compare_periods", json!({"base_start": "2026-01-01", "base_end": "2026-02-01", "compare_start": "2026-02-01", "compare_end": "2026-03-01"}))
        .await;
    let text = &r.text;
    assert!(!r.is_error, "{text}");
    let c = &r.structured["comparison"];
    assert_eq!(
        (
            c["base_total"].as_f64(),
            c["compare_total"].as_f64(),
            c["change_percent"].as_f64()
        ),
        (Some(8586.21), Some(12450.0), Some(45.0)),
        "{text}"
    );
    let shares: Vec<f64> = c["increases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["share_percent"].as_f64().unwrap().round())
        .collect();
    assert_eq!(shares, [52.0, 29.0, 15.0, 4.0], "{text}");

    // moto has no GetCostForecast: the tool says so instead of failing obscurely.
    let today = chrono::Utc::now().date_naive();
    let r = client
        .call("cost_forecast", json!({"start": today.to_string(), "end": (today + chrono::Duration::days(3)).to_string()}))
        .await;
    let text = &r.text;
    assert!(r.is_error, "{text}");
    assert!(text.contains("Cost Explorer"), "{text}");
    client.cancel().await.unwrap();
}
