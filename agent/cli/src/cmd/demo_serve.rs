//! `sopilot demo --serve`: the demo incident in the web console. `sopilot serve --simulate`
//! runs as a child process on the embedded demo scenario with a fresh store and two console
//! tokens (approver `you`, viewer `viewer`); a few seconds after it listens, the demo's
//! CloudWatch alarm arrives through its EventBridge hook, and the escalation it leads to
//! waits in the console's approvals inbox for a person. Ctrl-C stops the server.

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

/// The demo's files: the scenario, the token files and the configuration.
struct Files {
    dir: PathBuf,
    config: PathBuf,
    scenario: PathBuf,
    you: String,
    viewer: String,
}

fn prepare() -> Result<Files, String> {
    let dir = std::env::temp_dir().join(format!("sopilot-demo-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (you, viewer) = (secret(), secret());
    write_private(&dir.join("you.token"), &you)?;
    write_private(&dir.join("viewer.token"), &viewer)?;
    let scenario = dir.join("demo.yaml");
    std::fs::write(&scenario, assets::DEMO_SCENARIO).map_err(|e| e.to_string())?;
    let config = dir.join("sopilot.yaml");
    let d = dir.display();
    std::fs::write(
        &config,
        format!(
            "store: {d}/sopilot.db\napproval_timeout: 30m\nserve:\n  api_tokens:\n    - {{name: you, role: approver, token_file: {d}/you.token}}\n    - {{name: viewer, role: viewer, token_file: {d}/viewer.token}}\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    Ok(Files {
        dir,
        config,
        scenario,
        you,
        viewer,
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

fn banner(addr: SocketAddr, files: &Files, after: u64) -> String {
    let host = if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    };
    format!(
        "\nSOPilot demo in the web console.\n\n  Open   http://{host}/signin?token={}\n  and press Sign in (you are `you`, an approver; a read-only viewer token: {}).\n\nIn {after} s the CloudWatch alarm payment-service-eks-critical fires: watch the run appear on\nRuns, open it, and decide the HPA change it escalates under Approvals. Ctrl-C stops the demo.\n",
        files.you, files.viewer
    )
}

async fn run(args: &DemoArgs) -> Result<Outcome, String> {
    let files = prepare()?;
    let eventbridge = secret();
    let (mut child, addr) = start(&files, args.listen, &eventbridge).await?;
    eprintln!("{}", banner(addr, &files, args.alarm_after));
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
    let _ = std::fs::remove_dir_all(&files.dir);
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
