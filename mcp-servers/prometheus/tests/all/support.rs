//! A real Prometheus for the tests: the payment scenario (Kubernetes objects and usage,
//! CloudWatch metrics, and the Prometheus-only series of `tests/scenarios/prometheus.yaml`)
//! exported as OpenMetrics by sim/env, backfilled with `promtool tsdb create-blocks-from
//! openmetrics`, served by `prometheus` with the scenario's rules (evaluated every second)
//! and two scrape targets (itself, up; a closed port, down).
//!
//! Both binaries come from Debian's `prometheus` package (`.ci/run` installs it). Without
//! them a test is skipped with a message, except in CI (`CI=true`), where it fails.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr
)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sopilot_sim_env::openmetrics::{self, Window};
use sopilot_sim_env::{Scenario, SimOptions};
use sopilot_test_support::{Client, Server, repo};
use tokio::process::{Child, Command};

/// How long Prometheus may take to be ready, and its rules to be evaluated.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// `name` on the PATH, or `None` (a panic in CI: a missing Prometheus must fail there).
pub fn binary(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is not installed: apt-get install -y --no-install-recommends prometheus (.ci/run does)"
        );
        eprintln!("SKIPPED: {name} is not installed (apt-get install prometheus); CI fails here");
    }
    found
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The payment incident with CloudWatch metrics and Prometheus-only series.
pub fn scenario() -> Scenario {
    let root = repo();
    let mut s = Scenario::from_file(root.join("tests/scenarios/payment-incident.yaml")).unwrap();
    s.cloudwatch = Scenario::from_file(root.join("tests/scenarios/aws-payment.yaml"))
        .unwrap()
        .cloudwatch;
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/prometheus.yaml");
    s.prometheus = Scenario::from_file(here).unwrap().prometheus;
    s
}

/// A running Prometheus on the scenario's history; killed when dropped.
pub struct RealProm {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The scenario's now: the end of the history, and the tools' pinned clock.
    pub now: DateTime<Utc>,
    /// Series and samples written.
    pub series: usize,
    pub samples: usize,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for RealProm {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn run(cmd: &mut Command, what: &str) {
    let out = tokio::time::timeout(READY_TIMEOUT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{what} timed out"))
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn config(dir: &Path, port: u16, rules: &Path) -> PathBuf {
    let dead = free_port();
    let text = format!(
        "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
         rule_files: [{rules:?}]\n\
         scrape_configs:\n\
         - job_name: prometheus\n  static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n\
         - job_name: payment-exporter\n  static_configs: [{{targets: ['127.0.0.1:{dead}']}}]\n"
    );
    let path = dir.join("prometheus.yml");
    std::fs::write(&path, text).unwrap();
    path
}

impl RealProm {
    /// Exports the scenario's last three hours, backfills them and starts the server; `None`
    /// when Prometheus is not installed (outside CI).
    pub async fn start() -> Option<RealProm> {
        let (prometheus, promtool) = (binary("prometheus")?, binary("promtool")?);
        // This test starts its own server (with a dead scrape target), so not sim/env's.
        let options = SimOptions {
            prometheus: false,
            ..SimOptions::default()
        };
        let sim = sopilot_sim_env::start(scenario(), options).await.unwrap();
        let window = Window::before_now(&sim, 3);
        let export = openmetrics::export(&sim, window).unwrap();
        let rules = openmetrics::rules_file(sim.scenario().prometheus.as_ref()).unwrap();
        sim.shutdown().await;
        let dir = tempfile::tempdir().unwrap();
        let (data, om) = (dir.path().join("data"), dir.path().join("history.om"));
        std::fs::write(&om, &export.text).unwrap();
        run(
            Command::new(&promtool)
                .args(["tsdb", "create-blocks-from", "openmetrics"])
                .arg(&om)
                .arg(&data),
            "promtool tsdb create-blocks-from openmetrics",
        )
        .await;
        let rules_path = dir.path().join("rules.json");
        std::fs::write(&rules_path, rules.unwrap()).unwrap();
        run(
            Command::new(&promtool)
                .args(["check", "rules"])
                .arg(&rules_path),
            "promtool check rules",
        )
        .await;
        let port = free_port();
        let child = Command::new(prometheus)
            .arg(format!(
                "--config.file={}",
                config(dir.path(), port, &rules_path).display()
            ))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("prometheus starts");
        let p = RealProm {
            url: format!("http://127.0.0.1:{port}"),
            now: window.to,
            series: export.series,
            samples: export.samples,
            child,
            _dir: dir,
        };
        p.wait_ready().await;
        Some(p)
    }

    /// Until the server is ready, its rules evaluated and both targets scraped.
    async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + READY_TIMEOUT;
        let get = |path: &str| {
            let req = http.get(format!("{}{path}", self.url));
            async move {
                let r = req.send().await.ok()?;
                r.status().is_success().then_some(())?;
                serde_json::from_slice::<Value>(&r.bytes().await.ok()?).ok()
            }
        };
        loop {
            assert!(
                Instant::now() < deadline,
                "prometheus at {} was not ready in time",
                self.url
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
            let Some(rules) = get("/api/v1/rules").await else {
                continue;
            };
            let Some(targets) = get("/api/v1/targets").await else {
                continue;
            };
            let evaluated = rules["data"]["groups"].as_array().is_some_and(|g| {
                g.len() == 2
                    && g.iter().all(|g| {
                        !g["lastEvaluation"]
                            .as_str()
                            .unwrap_or("0001")
                            .starts_with("0001")
                    })
            });
            let firing = rules.to_string().contains("\"state\":\"firing\"");
            let scraped = targets["data"]["activeTargets"]
                .as_array()
                .is_some_and(|t| t.len() == 2 && t.iter().all(|t| t["health"] != "unknown"));
            if evaluated && firing && scraped {
                return;
            }
        }
    }

    /// `mcp-prometheus` against this server, its clock at the scenario's now.
    pub fn server(&self) -> Server {
        mcp(&self.url).env("SOPILOT_NOW", self.now.to_rfc3339())
    }
}

/// The `mcp-prometheus` binary against `url`, with no credentials from the test's own
/// environment.
pub fn mcp(url: &str) -> Server {
    Server::new(env!("CARGO_BIN_EXE_mcp-prometheus"))
        .env("PROMETHEUS_URL", url)
        .env_remove("PROMETHEUS_BEARER_TOKEN")
        .env_remove("PROMETHEUS_BEARER_TOKEN_FILE")
        .env_remove("PROMETHEUS_USERNAME")
        .env_remove("PROMETHEUS_PASSWORD")
        .env_remove("PROMETHEUS_AUTH")
}

/// A client of `mcp-prometheus` against a real Prometheus, or `None` when not installed.
pub async fn connect() -> Option<(RealProm, Client)> {
    let p = RealProm::start().await?;
    let c = p.server().stdio().await;
    Some((p, c))
}
