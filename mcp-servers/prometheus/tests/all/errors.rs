//! Failures as tool errors that name the query and the fix: bad PromQL and wrong types from
//! a real Prometheus, bad arguments, an unreachable server, a server that never answers,
//! something that is not Prometheus, and a bad URL at startup.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{connect, free_port, mcp};

#[tokio::test]
async fn bad_promql_is_a_tool_error_naming_the_query_and_the_fix() {
    let Some((_p, c)) = connect().await else {
        return;
    };
    let q = "sum(rate(http_requests_total[5m])";
    let e = c.fails("query", json!({"query": q})).await;
    assert!(
        e.starts_with(&format!("Prometheus refused the PromQL `{q}`: ")),
        "{e}"
    );
    assert!(
        e.contains("parse error") && e.contains("Fix the expression"),
        "{e}"
    );
    let e = c
        .fails("query_range", json!({"query": "rate(http_requests_total)"}))
        .await;
    assert!(e.contains("expected type range vector"), "{e}");
    assert!(e.contains("metric[5m]"), "{e}");
    let e = c.fails("series", json!({"match": ["{"]})).await;
    assert!(e.starts_with("Prometheus refused the PromQL `{`"), "{e}");
    // Arguments checked before anything is sent.
    let e = c
        .fails("query", json!({"query": "up", "time": "yesterday"}))
        .await;
    assert!(
        e.contains("time \"yesterday\" is not an RFC 3339 time"),
        "{e}"
    );
    let e = c
        .fails("query_range", json!({"query": "up", "minutes": 0}))
        .await;
    assert!(e.contains("minutes must be between 1 and 10080"), "{e}");
    let e = c.fails("label_values", json!({"label": "pod name"})).await;
    assert!(e.contains("is not a Prometheus label name"), "{e}");
    let e = c.fails("alerts", json!({"state": "burning"})).await;
    assert!(e.contains("use \"firing\" or \"pending\""), "{e}");
}

#[tokio::test]
async fn an_unreachable_server_says_to_check_the_url() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let c = mcp(&url).stdio().await;
    let e = c.fails("query", json!({"query": "up"})).await;
    assert!(
        e.starts_with(&format!(
            "cannot reach Prometheus at {url} for the query `up`: "
        )),
        "{e}"
    );
    assert!(e.contains("Check PROMETHEUS_URL"), "{e}");
}

/// Accepts connections and reads requests without ever answering.
async fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            held.push(s);
        }
    });
    url
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_with_advice() {
    let url = silent_server().await;
    let c = mcp(&url).args(["--timeout-seconds", "1"]).stdio().await;
    let started = std::time::Instant::now();
    let e = c.fails("query_range", json!({"query": "up"})).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(
        e.starts_with(&format!(
            "Prometheus at {url} did not answer within 1 s for the range query `up`; ask for less"
        )),
        "{e}"
    );
}

#[tokio::test]
async fn something_that_is_not_prometheus_says_where_the_url_should_point() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let body = "<html>Grafana</html>";
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(reply.as_bytes()).await;
        }
    });
    let c = mcp(&url).stdio().await;
    let e = c.fails("rules", json!({})).await;
    assert!(
        e.contains("is not the Prometheus HTTP API (HTTP 200, not JSON: <html>Grafana</html>)"),
        "{e}"
    );
    assert!(
        e.contains("PROMETHEUS_URL must point at the server root"),
        "{e}"
    );
}

#[tokio::test]
async fn a_bad_url_stops_the_server_at_startup() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-prometheus"))
        .env("PROMETHEUS_URL", "prometheus:9090/api")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PROMETHEUS_URL \"prometheus:9090/api\""),
        "{stderr}"
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-prometheus"))
        .env("PROMETHEUS_URL", "http://127.0.0.1:9090")
        .env("PROMETHEUS_AUTH", "bearer")
        .env_remove("PROMETHEUS_BEARER_TOKEN")
        .env_remove("PROMETHEUS_BEARER_TOKEN_FILE")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--auth bearer needs PROMETHEUS_BEARER_TOKEN"),
        "{stderr}"
    );
}
