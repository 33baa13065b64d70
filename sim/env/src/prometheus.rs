//! A real Prometheus for a scenario with a `prometheus` section: the simulated world's last
//! three hours exported as OpenMetrics ([`crate::openmetrics`]), backfilled into a fresh TSDB
//! with `promtool tsdb create-blocks-from openmetrics`, and served by the `prometheus` binary
//! with the scenario's rule groups (evaluated every second at the wall clock). Ready once the
//! server answers `/-/ready` and every rule group has been evaluated; killed when dropped.
//!
//! Both binaries come from Debian's `prometheus` package; without them the environment does
//! not start and says so (`apt-get install prometheus`). The history ends at the scenario's
//! now, which is what MCP servers get as `SOPILOT_NOW` ([`crate::RunningSim::server_env`]).

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::openmetrics::{self, Window};
use crate::{RunningSim, SimError};

/// Hours of history written before the scenario's now.
const HISTORY_HOURS: i64 = 3;
/// How long promtool may take, and the server to be ready with its rules evaluated.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// One readiness probe's timeout.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A running Prometheus serving the scenario's history; killed when dropped.
#[derive(Debug)]
pub struct RunningPrometheus {
    url: String,
    port: u16,
    now: DateTime<Utc>,
    series: usize,
    samples: usize,
    child: Child,
    dir: tempfile::TempDir,
}

impl RunningPrometheus {
    /// `http://127.0.0.1:PORT`, the server's root (`PROMETHEUS_URL`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The end of the history: the scenario's now.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Series and samples backfilled.
    pub fn counts(&self) -> (usize, usize) {
        (self.series, self.samples)
    }

    /// The body of the server's `200` answer to `GET path` (`/api/v1/query?query=up`; the
    /// path is sent as given, so encode it), or `None`: for checks and tests.
    pub async fn get(&self, path: &str) -> Option<String> {
        get(self.port, path).await
    }

    /// Stops the server and waits for it to exit.
    pub async fn shutdown(mut self) {
        let _ = self.child.kill().await;
    }
}

/// `name` on the `PATH`.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn fail(step: &'static str, message: impl Into<String>) -> SimError {
    SimError::Prometheus {
        step,
        message: message.into(),
    }
}

/// Exports the scenario's history, backfills it and starts the server on it.
pub async fn start(sim: &RunningSim) -> Result<RunningPrometheus, SimError> {
    let binary = |name: &'static str| find_binary(name).ok_or(SimError::PrometheusMissing(name));
    let (prometheus, promtool) = (binary("prometheus")?, binary("promtool")?);
    let window = Window::before_now(sim, HISTORY_HOURS);
    let export = openmetrics::export(sim, window)?;
    let rules = openmetrics::rules_file(sim.scenario().prometheus.as_ref())?;
    let dir = tempfile::tempdir().map_err(|e| fail("a temporary directory", e.to_string()))?;
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text)
            .map(|()| path)
            .map_err(|e| fail("writing the history", format!("{name}: {e}")))
    };
    let (om, data) = (write("history.om", &export.text)?, dir.path().join("data"));
    let backfill = ["tsdb", "create-blocks-from", "openmetrics"];
    run(
        &promtool,
        &backfill,
        &[&om, &data],
        "promtool tsdb create-blocks-from",
    )
    .await?;
    let rules = match rules {
        Some(text) => {
            let path = write("rules.json", &text)?;
            run(
                &promtool,
                &["check", "rules"],
                &[&path],
                "promtool check rules",
            )
            .await?;
            Some(path)
        }
        None => None,
    };
    let port = free_port()?;
    let config = write("prometheus.yml", &config(port, rules.as_deref()))?;
    let log = std::fs::File::create(dir.path().join("prometheus.log"))
        .map_err(|e| fail("starting prometheus", e.to_string()))?;
    let child = Command::new(&prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            fail(
                "starting prometheus",
                format!("{}: {e}", prometheus.display()),
            )
        })?;
    let mut p = RunningPrometheus {
        url: format!("http://127.0.0.1:{port}"),
        port,
        now: window.to,
        series: export.series,
        samples: export.samples,
        child,
        dir,
    };
    p.wait_ready(rules.is_some()).await?;
    tracing::debug!(url = %p.url, series = p.series, samples = p.samples, "prometheus ready");
    Ok(p)
}

/// Runs one promtool step to completion within [`STEP_TIMEOUT`].
async fn run(
    bin: &Path,
    args: &[&str],
    paths: &[&Path],
    step: &'static str,
) -> Result<(), SimError> {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .args(paths)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(STEP_TIMEOUT, cmd.output())
        .await
        .map_err(|_| fail(step, format!("did not finish within {STEP_TIMEOUT:?}")))?
        .map_err(|e| fail(step, format!("{}: {e}", bin.display())))?;
    if out.status.success() {
        return Ok(());
    }
    Err(fail(
        step,
        format!(
            "{}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    ))
}

fn free_port() -> Result<u16, SimError> {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| fail("finding a free port", e.to_string()))
}

/// The server's configuration: rules evaluated every second, itself scraped.
fn config(port: u16, rules: Option<&Path>) -> String {
    let rules = rules.map_or_else(String::new, |r| format!("rule_files: [{r:?}]\n"));
    format!(
        "global: {{scrape_interval: 5s, evaluation_interval: 1s}}\n{rules}\
         scrape_configs:\n\
         - job_name: prometheus\n  static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
    )
}

impl RunningPrometheus {
    /// Until `/-/ready` answers and every rule group has been evaluated once.
    async fn wait_ready(&mut self, rules: bool) -> Result<(), SimError> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(fail(
                    "starting prometheus",
                    format!("it exited ({status}): {}", self.log_tail()),
                ));
            }
            if Instant::now() > deadline {
                return Err(fail(
                    "starting prometheus",
                    format!(
                        "not ready at {} within {STEP_TIMEOUT:?}: {}",
                        self.url,
                        self.log_tail()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            let ready = self.get("/-/ready").await.is_some();
            if ready && (!rules || evaluated(self.get("/api/v1/rules").await)) {
                return Ok(());
            }
        }
    }

    fn log_tail(&self) -> String {
        let text =
            std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }
}

/// Whether every rule group of a `/api/v1/rules` answer has been evaluated.
fn evaluated(rules: Option<String>) -> bool {
    let Some(v) = rules.and_then(|b| serde_json::from_str::<Value>(&b).ok()) else {
        return false;
    };
    v["data"]["groups"].as_array().is_some_and(|groups| {
        groups.iter().all(|g| {
            g["lastEvaluation"]
                .as_str()
                .is_some_and(|t| !t.starts_with("0001"))
        })
    })
}

/// The body of a `200` answer to `GET path` on the loopback port, or `None`.
async fn get(port: u16, path: &str) -> Option<String> {
    let exchange = async {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
        s.write_all(request.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).await.ok()?;
        let text = String::from_utf8(answer).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        head.split(' ')
            .nth(1)
            .is_some_and(|code| code == "200")
            .then(|| body.to_owned())
    };
    tokio::time::timeout(PROBE_TIMEOUT, exchange)
        .await
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_never_evaluated_is_not_ready() {
        let answer = |t: &str| {
            Some(format!(
                r#"{{"status":"success","data":{{"groups":[{{"name":"a","lastEvaluation":"2026-01-01T00:00:00Z"}},{{"name":"b","lastEvaluation":"{t}"}}]}}}}"#
            ))
        };
        assert!(evaluated(answer("2026-01-01T00:00:01Z")));
        assert!(!evaluated(answer("0001-01-01T00:00:00Z")));
        assert!(!evaluated(None));
        assert!(!evaluated(Some("not json".into())));
    }

    #[test]
    fn the_config_names_the_rules_only_when_there_are_some() {
        assert!(
            config(9090, Some(Path::new("/tmp/r.json"))).contains("rule_files: [\"/tmp/r.json\"]")
        );
        assert!(!config(9090, None).contains("rule_files"));
    }
}
