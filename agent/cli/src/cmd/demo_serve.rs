//! `sopilot demo --serve`: the demo incident in the web console. `sopilot serve --simulate`
//! runs as a child process on the embedded demo scenario with a fresh store and two console
//! tokens (approver `you`, viewer `viewer`), all in a new private directory (mode 0700, a
//! random name) removed when the demo stops. It prints the sign-in page's address and a
//! one-time sign-in code (never a token in a URL, where browser history and logs keep it); a
//! few seconds after the server listens, the demo's CloudWatch alarm arrives through its
//! EventBridge hook, and the escalation it leads to waits in the console's approvals inbox for
//! a person. Ctrl-C stops the server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use crate::{DemoArgs, Outcome, assets};

/// How long the server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// The demo's alarm as an EventBridge "CloudWatch Alarm State Change".
pub(crate) fn eventbridge_alarm() -> Value {
    let now = chrono::Utc::now().to_rfc3339();
    json!({"version": "0", "id": "demo-serve-1", "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": "123456789012", "time": now, "region": "us-east-1",
        "resources": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:payment-service-eks-critical"],
        "detail": {"alarmName": "payment-service-eks-critical",
            "state": {"value": "ALARM", "reason": "Threshold Crossed: 2 datapoints [12.4, 9.8] were greater than the threshold (5.0).", "timestamp": now},
            "previousState": {"value": "OK"},
            "configuration": {"description": "payment-service 5XX above 5 % for 2 minutes",
                "metrics": [{"id": "m1", "metricStat": {"metric": {"namespace": "ContainerInsights", "name": "service_5xx_percent",
                    "dimensions": {"ClusterName": "eks-prod", "Namespace": "payment", "Service": "payment-service"}},
                    "period": 60, "stat": "Average"}}]}}})
}

/// A fresh random secret: four run ids' random parts (48 random bits of a UUIDv4 each, 192
/// in all), as hex.
fn secret() -> String {
    (0..4)
        .map(|_| sopilot_runtime::new_run_id().replace("run-", ""))
        .collect()
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    std::io::Write::write_all(&mut f, text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A new private directory (mode 0700, a random name under the temporary directory), removed
/// with everything in it when dropped.
struct PrivateDir(PathBuf);

impl PrivateDir {
    fn new() -> Result<PrivateDir, String> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        let mut last = None;
        // `create` fails on an existing name (or a planted symlink): another random name then.
        for _ in 0..8 {
            let dir = base.join(format!("sopilot-demo-{}", secret()));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(PrivateDir(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => {
                    return Err(format!(
                        "cannot create a private directory in {}: {e}",
                        base.display()
                    ));
                }
            }
        }
        Err(format!(
            "cannot create a private directory in {}: {}",
            base.display(),
            last.map(|e| e.to_string()).unwrap_or_default()
        ))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!(
                "could not remove the demo's directory {}: {e}",
                self.0.display()
            );
        }
    }
}

/// The demo's files: the scenario, the token files and the configuration, in `dir`.
struct Files {
    dir: PrivateDir,
    config: PathBuf,
    scenario: PathBuf,
    you: String,
}

fn prepare() -> Result<Files, String> {
    let dir = PrivateDir::new()?;
    let (you, viewer) = (secret(), secret());
    write_private(&dir.0.join("you.token"), &you)?;
    write_private(&dir.0.join("viewer.token"), &viewer)?;
    let scenario = dir.0.join("demo.yaml");
    write_private(&scenario, assets::DEMO_SCENARIO)?;
    let config = dir.0.join("sopilot.yaml");
    let d = dir.0.display();
    write_private(
        &config,
        &format!(
            "store: {d}/sopilot.db\napproval_timeout: 30m\nserve:\n  api_tokens:\n    - {{name: you, role: approver, token_file: {d}/you.token}}\n    - {{name: viewer, role: viewer, token_file: {d}/viewer.token}}\n"
        ),
    )?;
    Ok(Files {
        dir,
        config,
        scenario,
        you,
    })
}

/// Starts `sopilot serve` on the demo and waits until it listens; its log goes on to ours.
async fn start(
    files: &Files,
    listen: SocketAddr,
    eventbridge: &str,
) -> Result<(Child, SocketAddr), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut cmd = Command::new(exe);
    if !listen.ip().is_loopback() && std::env::var_os("SOPILOT_CONSOLE_SECURE_COOKIE").is_none() {
        // There is no TLS in the demo: a Secure cookie would never come back over plain HTTP.
        eprintln!(
            "warning: the demo console listens on {listen}, beyond this machine, over plain HTTP (its session cookie is not Secure); its data is simulated"
        );
        cmd.env("SOPILOT_CONSOLE_SECURE_COOKIE", "false");
    }
    cmd.arg("serve")
        .arg("--config")
        .arg(&files.config)
        .arg("--simulate")
        .arg(&files.scenario)
        .arg("--listen")
        .arg(listen.to_string())
        .env("SOPILOT_EVENTBRIDGE_SECRET", eventbridge)
        .env_remove("SOPILOT_API_TOKEN")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    if std::env::var_os("RUST_LOG").is_none() {
        cmd.env("RUST_LOG", "info");
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start sopilot serve: {e}"))?;
    let stderr = child.stderr.take().ok_or("sopilot serve has no stderr")?;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let found = tokio::time::timeout(START_TIMEOUT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("{line}");
            if let Some(i) = line.find("listening on http://") {
                return line[i + "listening on http://".len()..]
                    .trim()
                    .parse::<SocketAddr>()
                    .ok();
            }
        }
        None
    })
    .await;
    let addr = match found {
        Ok(Some(a)) => a,
        Ok(None) => {
            return Err("sopilot serve stopped before it listened (its log is above)".into());
        }
        Err(_) => {
            return Err(format!(
                "sopilot serve did not listen within {} s",
                START_TIMEOUT.as_secs()
            ));
        }
    };
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("{line}");
        }
    });
    Ok((child, addr))
}

/// Posts JSON to the server on loopback; its status and body.
async fn post(
    addr: SocketAddr,
    path: &str,
    auth: &str,
    body: &Value,
) -> Result<(u16, String), String> {
    let body = body.to_string();
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer).into_owned())
    };
    let answer = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| format!("POST {path}: no answer within 10 s"))?
        .map_err(|e| format!("POST {path}: {e}"))?;
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// A one-time code that signs in to the console as `you` (see `POST /api/signin-code`).
async fn signin_code(addr: SocketAddr, you: &str) -> Result<String, String> {
    let (code, body) = post(
        addr,
        "/api/signin-code",
        &format!("Bearer {you}"),
        &json!({}),
    )
    .await?;
    let answer = serde_json::from_str::<Value>(&body).unwrap_or_default();
    match answer["code"].as_str() {
        Some(c) if code == 200 => Ok(c.to_owned()),
        _ => Err(format!("the server made no sign-in code ({code}): {body}")),
    }
}

fn banner(addr: SocketAddr, files: &Files, code: &str, after: u64) -> String {
    let host = if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    };
    let d = files.dir.0.display();
    format!(
        "\nSOPilot demo in the web console.\n\n  Open   http://{host}/signin\n  Code   {code}\n  (a one-time code: it signs you in once, within 10 minutes, as `you`, an approver)\n\n  To sign in again, paste a token instead. The approver's and a read-only viewer's are in\n    {d}/you.token\n    {d}/viewer.token\n  (a private directory, removed when the demo stops).\n\nIn {after} s the CloudWatch alarm payment-service-eks-critical fires: watch the run appear on\nRuns, open it, and decide the HPA change it escalates under Approvals. Ctrl-C stops the demo.\n"
    )
}

async fn run(args: &DemoArgs) -> Result<Outcome, String> {
    let files = prepare()?;
    let eventbridge = secret();
    let (mut child, addr) = start(&files, args.listen, &eventbridge).await?;
    let code = match signin_code(addr, &files.you).await {
        Ok(c) => c,
        Err(e) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Err(e);
        }
    };
    eprintln!("{}", banner(addr, &files, &code, args.alarm_after));
    let fire = async {
        tokio::time::sleep(Duration::from_secs(args.alarm_after)).await;
        let (code, body) = post(
            addr,
            "/hooks/eventbridge",
            &eventbridge,
            &eventbridge_alarm(),
        )
        .await?;
        if code != 200 {
            return Err(format!("the alarm was refused ({code}): {body}"));
        }
        let run = serde_json::from_str::<Value>(&body).unwrap_or_default();
        eprintln!(
            "\nThe alarm fired: run {} of {} started. Follow it at http://{addr}/runs\n",
            run["run_id"].as_str().unwrap_or("?"),
            run["sop"].as_str().unwrap_or("?")
        );
        Ok(())
    };
    let outcome = tokio::select! {
        fired = fire => match fired {
            Ok(()) => wait(&mut child).await,
            Err(e) => { let _ = child.start_kill(); Err(e) }
        },
        status = child.wait() => Err(format!("sopilot serve stopped before the alarm: {status:?}")),
        _ = tokio::signal::ctrl_c() => stop(&mut child).await,
    };
    let _ = child.wait().await;
    drop(files);
    outcome
}

async fn wait(child: &mut Child) -> Result<Outcome, String> {
    tokio::select! {
        status = child.wait() => match status {
            Ok(s) if s.success() => Ok(Outcome::default()),
            Ok(s) => Err(format!("sopilot serve stopped: {s}")),
            Err(e) => Err(e.to_string()),
        },
        _ = tokio::signal::ctrl_c() => stop(child).await,
    }
}

/// Lets the server stop by itself (a Ctrl-C in the terminal reached it too), else stops it.
async fn stop(child: &mut Child) -> Result<Outcome, String> {
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    eprintln!("demo stopped");
    Ok(Outcome::default())
}

/// `sopilot demo --serve`
pub fn demo_serve(args: &DemoArgs) -> Outcome {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Outcome::fail(format!("cannot start the async runtime: {e}")),
    };
    match rt.block_on(run(args)) {
        Ok(o) => o,
        Err(e) => Outcome::fail(e),
    }
}
