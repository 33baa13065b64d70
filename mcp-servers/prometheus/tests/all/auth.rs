//! Authentication through stand-ins that check it and forward to the real Prometheus
//! (`tests/prom_auth_proxy.py`): Amazon Managed Prometheus's SigV4 verified by botocore (the
//! AWS SDK for Python, independent of the Rust signer), a bearer token and basic auth; and
//! the errors a refused identity gets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Stdio;

use serde_json::json;
use sopilot_test_support::Server;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::{RealProm, mcp};

const KEY: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SESSION: &str = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN";

/// A proxy process, killed when dropped, and its URL.
struct Proxy {
    child: Child,
    url: String,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl Proxy {
    async fn start(upstream: &str, args: &[&str]) -> Proxy {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/prom_auth_proxy.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--upstream", upstream])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("the proxy started in time")
            .unwrap()
            .unwrap_or_else(|| panic!("the proxy exited (is botocore installed? scripts/test installs moto, which brings it)"));
        let port = first.strip_prefix("listening on ").expect("listening line");
        Proxy {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// What it logged on stderr so far (stopping it first).
    async fn log(mut self) -> String {
        let _ = self.child.start_kill();
        let mut stderr = self.child.stderr.take().unwrap();
        let mut text = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text).await;
        text
    }
}

/// `mcp-prometheus` with SigV4 from static keys, and nothing else of the AWS chain.
fn amp_server(url: &str, p: &RealProm, secret: &str) -> Server {
    mcp(url)
        .env("SOPILOT_NOW", p.now.to_rfc3339())
        .env("PROMETHEUS_AUTH", "sigv4")
        .env("PROMETHEUS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_SESSION_TOKEN", SESSION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env_remove("AWS_PROFILE")
}

#[tokio::test]
async fn amazon_managed_prometheus_sigv4_is_verified_by_botocore() {
    let Some(p) = RealProm::start().await else {
        return;
    };
    let proxy = Proxy::start(
        &p.url,
        &[
            "--mode",
            "sigv4",
            "--access-key",
            KEY,
            "--secret-key",
            SECRET,
            "--session-token",
            SESSION,
        ],
    )
    .await;
    let workspace = format!("{}/workspaces/ws-test", proxy.url);
    let c = amp_server(&workspace, &p, SECRET).stdio().await;
    // POST with a form body (query), GET with query parameters (label values, rules).
    let r = c
        .ok("query", json!({"query": "sum by (code) (rate(http_requests_total{service=\"payment-service\"}[5m]))"}))
        .await;
    assert!(r.text.contains("{code=\"500\"}"), "{}", r.text);
    let r = c
        .ok(
            "label_values",
            json!({"label": "pod", "match": ["kube_pod_info{namespace=\"payment\"}"]}),
        )
        .await;
    assert!(
        r.text.contains("payment-service-7d8f9c6b5-x2k9p"),
        "{}",
        r.text
    );
    let r = c.ok("alerts", json!({"state": "firing"})).await;
    assert!(r.text.contains("PaymentHighErrorRate"), "{}", r.text);
    let r = c
        .ok(
            "query_range",
            json!({"query": "db_connections_in_use", "minutes": 60}),
        )
        .await;
    assert!(r.text.contains("rising"), "{}", r.text);

    // The wrong secret: AWS's refusal, and what the identity needs.
    let wrong = amp_server(&workspace, &p, "not-the-secret").stdio().await;
    let e = wrong.fails("query", json!({"query": "up"})).await;
    assert!(e.contains("refused the request for the query `up` (403): The request signature we calculated does not match"), "{e}");
    assert!(e.contains("aps:QueryMetrics"), "{e}");
    let log = proxy.log().await;
    assert!(
        log.contains("verified POST /workspaces/ws-test/api/v1/query\n"),
        "{log}"
    );
    assert!(
        log.contains("verified GET /workspaces/ws-test/api/v1/label/pod/values?match%5B%5D="),
        "{log}"
    );
    assert_eq!(log.matches("refused").count(), 1, "{log}");
}

#[tokio::test]
async fn bearer_and_basic_auth_reach_the_server_and_refusals_say_what_to_set() {
    let Some(p) = RealProm::start().await else {
        return;
    };
    let bearer = Proxy::start(&p.url, &["--mode", "bearer", "--token", "t0k3n-for-tests"]).await;
    let c = mcp(&bearer.url)
        .env("PROMETHEUS_BEARER_TOKEN", "t0k3n-for-tests")
        .stdio()
        .await;
    let r = c
        .ok(
            "query",
            json!({"query": "kube_deployment_spec_replicas{deployment=\"payment-service\"}"}),
        )
        .await;
    assert_eq!(r.structured["result"][0]["value"], "5", "{}", r.text);
    let anonymous = mcp(&bearer.url).stdio().await;
    let e = anonymous.fails("rules", json!({})).await;
    assert!(e.contains("(401): Unauthorized. The server asks for authentication: give mcp-prometheus a bearer token in PROMETHEUS_BEARER_TOKEN, or a user in PROMETHEUS_USERNAME with PROMETHEUS_PASSWORD"), "{e}");

    let basic = Proxy::start(
        &p.url,
        &[
            "--mode",
            "basic",
            "--user",
            "sre",
            "--password",
            "pa55-word",
        ],
    )
    .await;
    let c = mcp(&basic.url)
        .env("PROMETHEUS_USERNAME", "sre")
        .env("PROMETHEUS_PASSWORD", "pa55-word")
        .stdio()
        .await;
    let r = c.ok("targets", json!({})).await;
    assert!(r.text.starts_with("2 active targets"), "{}", r.text);
    let wrong = mcp(&basic.url)
        .env("PROMETHEUS_USERNAME", "sre")
        .env("PROMETHEUS_PASSWORD", "guess")
        .stdio()
        .await;
    let e = wrong.fails("targets", json!({})).await;
    assert!(
        e.contains(
            "The user in PROMETHEUS_USERNAME / PROMETHEUS_PASSWORD is refused; give a valid one"
        ),
        "{e}"
    );
    assert!(
        !e.contains("guess") && !e.contains("pa55"),
        "no password in messages: {e}"
    );
}
