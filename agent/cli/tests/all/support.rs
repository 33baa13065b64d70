//! What the `sopilot serve` tests share: the simulator, a real server process, polling.

#![allow(
    dead_code,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sopilot_sim_env::{RunningSim, Scenario, SimOptions};
use tokio::io::AsyncBufReadExt;

pub const TOKEN: &str = "api-token-for-tests";
pub const AM_TOKEN: &str = "alertmanager-token";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The simulated cluster of the payment incident.
pub async fn sim() -> RunningSim {
    let scenario =
        Scenario::from_file(repo().join("tests/scenarios/payment-incident.yaml")).unwrap();
    sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .unwrap()
}

/// A running `sopilot serve`, killed on drop.
pub struct Server {
    pub child: tokio::process::Child,
    pub url: String,
    /// Its stderr so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

/// Starts `sopilot serve` on the simulator with a scripted model that raises the HPA's
/// maximum (an escalation) at the restart step. `serve_extra` is appended to the `serve:`
/// section (indented two spaces by the caller).
pub async fn start_server(sim: &RunningSim, dir: &Path, serve_extra: &str) -> Server {
    let store = dir.join("db").display().to_string();
    start_server_on(sim, dir, &store, serve_extra).await
}

/// [`start_server`] on store `store` (a file or a `postgres://` URL), its config and script
/// in `dir`; several servers on one store are replicas.
pub async fn start_server_on(
    sim: &RunningSim,
    dir: &Path,
    store: &str,
    serve_extra: &str,
) -> Server {
    let script = "turns:\n  - when: {contains: \"Step 3: Restart\"}\n    calls:\n      - kubectl.patch_hpa: {namespace: payment, name: payment-service-hpa, max_replicas: 20}\n";
    start_server_scripted(sim, dir, store, serve_extra, script).await
}

/// [`start_server_on`] with the scripted model playing `script` (YAML).
pub async fn start_server_scripted(
    sim: &RunningSim,
    dir: &Path,
    store: &str,
    serve_extra: &str,
    script_text: &str,
) -> Server {
    let script = dir.join("script.yaml");
    std::fs::write(&script, script_text).unwrap();
    let config = dir.join("sopilot.yaml");
    std::fs::write(&config, format!("store: \"{store}\"\napproval_timeout: 2m\nserve:\n  listen: 127.0.0.1:0\n  model: scripted:{}\n  dedup_window: 10m\n{serve_extra}", script.display())).unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
    cmd.current_dir(repo())
        .env("KUBECONFIG", sim.kubeconfig())
        .env("SOPILOT_API_TOKEN", TOKEN)
        .env("SOPILOT_ALERTMANAGER_TOKEN", AM_TOKEN)
        .env("RUST_LOG", "info")
        .env_remove("SLACK_BOT_TOKEN")
        .env_remove("SOPILOT_STORE")
        .args(["serve", "--config"])
        .arg(&config);
    spawn(cmd).await
}

/// Spawns a `sopilot serve` command and waits until it listens; its stderr is echoed (for
/// failing tests) and kept in [`Server::log`].
pub async fn spawn(mut cmd: tokio::process::Command) -> Server {
    let mut child = cmd
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let kept = log.clone();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            eprintln!("serve: {line}");
            kept.lock().unwrap().push(line.clone());
            if let Some(i) = line.find("listening on http://") {
                return line[i + "listening on ".len()..].trim().to_owned();
            }
        }
        panic!("serve never listened")
    })
    .await
    .unwrap();
    let kept = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("serve: {line}");
            kept.lock().unwrap().push(line);
        }
    });
    Server { child, url, log }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Polls an API URL (with the API token) until `ok` holds; panics after 30 s.
pub async fn wait_for<F: Fn(&Value) -> bool>(
    http: &reqwest::Client,
    url: &str,
    what: &str,
    ok: F,
) -> Value {
    for _ in 0..300 {
        let r = http.get(url).bearer_auth(TOKEN).send().await.unwrap();
        if r.status().is_success() {
            let v: Value = r.json().await.unwrap();
            if ok(&v) {
                return v;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}")
}

/// The oldest pending approval, once there is one.
pub async fn pending_approval(http: &reqwest::Client, url: &str) -> Value {
    let v = wait_for(
        http,
        &format!("{url}/api/approvals?state=pending"),
        "a pending approval",
        |v| !v["approvals"].as_array().unwrap().is_empty(),
    )
    .await;
    v["approvals"][0].clone()
}

/// Decides an approval through the API as `by`; returns the HTTP status and the body.
pub async fn decide(
    http: &reqwest::Client,
    url: &str,
    id: &str,
    decision: &str,
    by: &str,
) -> (u16, Value) {
    let r = http
        .post(format!("{url}/api/approvals/{id}"))
        .bearer_auth(TOKEN)
        .json(&json!({"decision": decision, "by": by}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Runs `sopilot serve` with `config` (YAML) and expects it to refuse to start: returns its
/// stderr.
pub async fn serve_refuses(dir: &Path, config: &str) -> String {
    let path = dir.join("refused.yaml");
    std::fs::write(&path, config).unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"))
            .current_dir(repo())
            .env("SOPILOT_API_TOKEN", TOKEN)
            .env("SOPILOT_STORE", dir.join("refused.db"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&path)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("sopilot serve should refuse at once")
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}
