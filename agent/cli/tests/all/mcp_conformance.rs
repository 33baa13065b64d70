//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, on Node 22 from
//! npm) against `/mcp` on `sopilot serve`: the server scenarios that apply to a gateway
//! (initialize, ping, tools, prompts, concurrent SSE streams, DNS-rebinding protection).
//!
//! The suite's client sends no credentials, and `/mcp` never runs without its bearer token,
//! so the test puts a small forwarding proxy in front of it that adds `Authorization` and
//! passes every other header (Host and Origin included) through untouched.
//!
//! Node 22 and the suite are installed with npm into `$SOPILOT_CONFORMANCE_DIR` (default
//! `~/.cache/sopilot-conformance`; `scripts/test` does it first). The test is skipped, loudly,
//! only when npm is missing or the install fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use sopilot_sim_env::{Scenario, SimOptions};
use tokio::io::AsyncBufReadExt;

const TOKEN: &str = "conformance-token";
const SUITE: &str = "@modelcontextprotocol/conformance@0.1.16";
/// The scenarios that apply to a gateway. The others need the suite's own test tools,
/// prompts or resources (`test_simple_text`, `test_simple_prompt`, ...), or logging and
/// completions, which SOPilot does not offer.
const SCENARIOS: [&str; 6] = [
    "server-initialize",
    "ping",
    "tools-list",
    "prompts-list",
    "server-sse-multiple-streams",
    "dns-rebinding-protection",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn install_dir() -> PathBuf {
    std::env::var_os("SOPILOT_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/tmp".into()))
                .join(".cache/sopilot-conformance")
        })
}

fn suite_js(dir: &Path) -> PathBuf {
    dir.join("node_modules/@modelcontextprotocol/conformance/dist/index.js")
}

fn node(dir: &Path) -> PathBuf {
    dir.join("node_modules/.bin/node")
}

/// Node 22 and the suite, installed with npm when missing. `Err` says why they cannot be.
async fn ensure_suite() -> Result<PathBuf, String> {
    let dir = install_dir();
    if suite_js(&dir).exists() && node(&dir).exists() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(&dir)
            .args(["node@22", SUITE])
            .output(),
    )
    .await
    .map_err(|_| "npm install timed out".to_owned())?
    .map_err(|e| format!("npm cannot run: {e}"))?;
    if !out.status.success() || !suite_js(&dir).exists() || !node(&dir).exists() {
        return Err(format!(
            "npm install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(dir)
}

const HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "upgrade",
    "authorization",
];

/// Forwards one request to `upstream` with the bearer token added; streams the answer back.
async fn forward(http: reqwest::Client, upstream: String, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 4 << 20).await.unwrap();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut rb = http.request(parts.method.clone(), format!("{upstream}{path}"));
    for (k, v) in &parts.headers {
        if !HOP.contains(&k.as_str()) {
            rb = rb.header(k, v);
        }
    }
    let upstream_response = match rb.bearer_auth(TOKEN).body(body).send().await {
        Ok(r) => r,
        Err(e) => {
            return Response::builder()
                .status(502)
                .body(Body::from(e.to_string()))
                .unwrap();
        }
    };
    let mut out = Response::builder().status(upstream_response.status());
    for (k, v) in upstream_response.headers() {
        if !HOP.contains(&k.as_str()) {
            out = out.header(k, v);
        }
    }
    let stream = futures::stream::unfold(upstream_response, |mut r| async move {
        match r.chunk().await {
            Ok(Some(bytes)) => Some((Ok::<_, std::io::Error>(bytes), r)),
            _ => None,
        }
    });
    out.body(Body::from_stream(stream)).unwrap()
}

async fn auth_proxy(upstream: String) -> SocketAddr {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let app = axum::Router::new()
        .fallback(move |req: Request| forward(http.clone(), upstream.clone(), req));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn official_conformance_scenarios_pass_on_http() {
    let dir = match ensure_suite().await {
        Ok(d) => d,
        Err(why) => {
            eprintln!(
                "\n!!!!!!!! SKIPPED: the MCP conformance suite could not be installed ({why}).\n!!!!!!!! Install Node 22 and {SUITE} with npm to run it.\n"
            );
            return;
        }
    };
    let scenario =
        Scenario::from_file(repo().join("tests/scenarios/payment-incident.yaml")).unwrap();
    let sim = sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("sopilot.yaml");
    std::fs::write(
        &config,
        format!(
            "store: {}\nserve:\n  listen: 127.0.0.1:0\n",
            tmp.path().join("db").display()
        ),
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"))
        .current_dir(repo())
        .env("KUBECONFIG", sim.kubeconfig())
        .env("SOPILOT_API_TOKEN", TOKEN)
        .env("RUST_LOG", "info")
        .env_remove("SLACK_BOT_TOKEN")
        .env_remove("SLACK_SIGNING_SECRET")
        .args(["serve", "--config"])
        .arg(&config)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(i) = line.find("listening on http://") {
                return line[i + "listening on ".len()..].trim().to_owned();
            }
        }
        panic!("serve never listened")
    })
    .await
    .unwrap();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let proxy = auth_proxy(url).await;

    // SOPILOT_CONFORMANCE_SCENARIOS=a,b,... runs other scenarios (to survey the whole suite).
    let chosen: Vec<String> = match std::env::var("SOPILOT_CONFORMANCE_SCENARIOS") {
        Ok(list) => list.split(',').map(|s| s.trim().to_owned()).collect(),
        Err(_) => SCENARIOS.iter().map(|s| (*s).to_owned()).collect(),
    };
    let mut failed = Vec::new();
    for scenario in &chosen {
        let out = tokio::time::timeout(
            Duration::from_secs(120),
            tokio::process::Command::new(node(&dir))
                .arg(suite_js(&dir))
                .args(["server", "--url"])
                .arg(format!("http://127.0.0.1:{}/mcp", proxy.port()))
                .args(["--scenario", scenario.as_str()])
                .output(),
        )
        .await
        .unwrap_or_else(|_| panic!("conformance scenario {scenario} timed out"))
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        eprintln!("conformance {scenario}: {}\n{stdout}", out.status);
        if !out.status.success() {
            failed.push(format!(
                "{scenario}:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "conformance scenarios failed:\n{}",
        failed.join("\n")
    );
}
