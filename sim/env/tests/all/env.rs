//! The whole environment from one scenario: every simulator listens, the URLs and the MCP
//! servers' environment point at them, a bad section is named, and shutdown stops every
//! listener while letting an in-flight request finish.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sopilot_sim_env::{RunningSim, SIM_REGION, Scenario, SimError, SimOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(10);

fn demo_scenario() -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/demo.yaml");
    Scenario::from_file(path).expect("the demo scenario loads")
}

/// `http://127.0.0.1:PORT/...` → the address.
fn addr_of(url: &str) -> SocketAddr {
    let rest = url.strip_prefix("http://").unwrap();
    rest.split('/').next().unwrap().parse().unwrap()
}

/// Sends raw HTTP/1.1 and returns the status line.
async fn status_line(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    read_status(&mut stream).await
}

async fn read_status(stream: &mut TcpStream) -> String {
    let mut head = [0u8; 12];
    tokio::time::timeout(TIMEOUT, stream.read_exact(&mut head))
        .await
        .expect("an answer in time")
        .expect("an HTTP answer");
    String::from_utf8_lossy(&head).into_owned()
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n")
}

fn addrs(sim: &RunningSim) -> [(&'static str, SocketAddr); 4] {
    [
        ("kubernetes", sim.kubernetes_addr()),
        ("aws", addr_of(&sim.aws_url())),
        ("slack", addr_of(&sim.slack_url())),
        ("model", addr_of(&sim.model_url())),
    ]
}

#[tokio::test]
async fn every_simulator_starts_from_its_section_and_answers() {
    let sim = sopilot_sim_env::start(demo_scenario(), SimOptions::default())
        .await
        .unwrap();
    let urls = sim.urls();
    assert_eq!(urls["kubernetes"], sim.kubernetes_url());
    assert_eq!(urls["kubeconfig"], sim.kubeconfig().display().to_string());
    assert_eq!(urls["aws"], sim.aws_url());
    assert_eq!(urls["slack"], sim.slack_url());
    assert_eq!(urls["model"], sim.model_url());
    assert!(sim.model_url().ends_with("/v1") && sim.slack_url().ends_with("/api/"));
    let env: std::collections::HashMap<String, String> = sim.server_env().into_iter().collect();
    assert_eq!(env["KUBECONFIG"], sim.kubeconfig().display().to_string());
    assert_eq!(env["AWS_ENDPOINT_URL"], sim.aws_url());
    assert_eq!(env["AWS_REGION"], SIM_REGION);
    assert_eq!(env["SLACK_API_URL"], sim.slack_url());
    assert_eq!(env["SLACK_BOT_TOKEN"], sim.slack().token());
    assert!(sim.scenario().model.is_some(), "the demo has a script");
    assert!(
        sim.get("ns", None, "payment").is_some(),
        "the cluster is seeded"
    );

    let kube = status_line(sim.kubernetes_addr(), &get("/api/v1/namespaces")).await;
    assert_eq!(kube, "HTTP/1.1 200");
    let model = status_line(addr_of(&sim.model_url()), &get("/v1/models")).await;
    assert_eq!(model, "HTTP/1.1 200");
    let slack = status_line(addr_of(&sim.slack_url()), &get("/api/auth.test")).await;
    assert!(slack.starts_with("HTTP/1.1 "), "{slack}");
    let aws = status_line(addr_of(&sim.aws_url()), &get("/")).await;
    assert!(aws.starts_with("HTTP/1.1 "), "{aws}");
    sim.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_every_listener_and_lets_a_request_finish() {
    let sim = common::start_yaml("description: empty world\n").await;
    let addrs = addrs(&sim);
    // A request to the model that is still arriving when the shutdown starts.
    let body = r#"{"model": "m", "messages": []}"#;
    let mut in_flight = TcpStream::connect(addr_of(&sim.model_url())).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..5]
    );
    in_flight.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let shutdown = tokio::spawn(sim.shutdown());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!shutdown.is_finished(), "shutdown waits for the request");
    in_flight.write_all(&body.as_bytes()[5..]).await.unwrap();
    // No bearer token: the simulated model answers 401, in full.
    assert_eq!(read_status(&mut in_flight).await, "HTTP/1.1 401");
    tokio::time::timeout(TIMEOUT, shutdown)
        .await
        .expect("shutdown finished")
        .unwrap();
    for (name, addr) in addrs {
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "the {name} listener is closed"
        );
    }
}

async fn start_error(yaml: &str) -> String {
    let scenario = Scenario::from_yaml(yaml).unwrap();
    match sopilot_sim_env::start(scenario, SimOptions::default()).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("{yaml} should not start"),
    }
}

#[tokio::test]
async fn a_bad_section_is_named() {
    let model = start_error("model:\n  turns: 3\n").await;
    assert!(model.starts_with("scenario section `model`: "), "{model}");
    let slack = start_error("slack:\n  channels: 3\n").await;
    assert!(
        slack.starts_with("scenario section `slack`: slack."),
        "{slack}"
    );
    let aws = start_error("cloudwatch:\n  metrics: 3\n").await;
    assert!(
        aws.starts_with("scenario: scenario section `cloudwatch`"),
        "{aws}"
    );
    let kube = start_error(
        "kubernetes:\n  objects:\n    - {apiVersion: v1, kind: Pod, metadata: {name: p, ownerReferences: [{kind: ReplicaSet, name: ghost}]}, spec: {containers: [{name: c, image: i}]}}\n",
    )
    .await;
    assert!(kube.starts_with("scenario line 3: "), "{kube}");
}

#[tokio::test]
async fn a_kubernetes_section_error_keeps_its_line() {
    match Scenario::from_yaml("kubernetes:\n  logs:\n    ns/pod: hi\n") {
        Err(SimError::Scenario { line, message }) => {
            assert_eq!(line, 3);
            assert!(message.contains("NAMESPACE/POD/CONTAINER"), "{message}");
        }
        other => panic!("expected a scenario error, got {other:?}"),
    }
}
