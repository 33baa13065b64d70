//! Traces and log formats of the `sopilot` binary, checked from outside: an independent OTLP
//! receiver (`tests/python/otlp_receiver.py`, on the official `opentelemetry-proto` package)
//! decodes what `sopilot demo` exports; an HTTP MCP server records the `traceparent` a tool
//! call carries; stderr is parsed as JSON lines with `--log-format json`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;

use crate::support::repo;

/// Variables of the environment that would change what the binary exports or logs.
const OTEL_VARS: [&str; 10] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_TRACES_EXPORTER",
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "RUST_LOG",
    "SOPILOT_LOG_FORMAT",
];

/// `sopilot ARGS` with a clean telemetry environment plus `env`.
fn sopilot(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sopilot"));
    cmd.current_dir(repo())
        .env("SOPILOT_STORE", dir.join("store.db"))
        .args(args);
    for v in OTEL_VARS {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Whether the receiver can run here; outside CI a missing package skips, in CI it fails.
fn receiver_available() -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import opentelemetry.proto.collector.trace.v1.trace_service_pb2",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var_os("CI").is_some() {
        panic!(
            "python3 with opentelemetry-proto is needed (scripts/test installs it: pip install 'opentelemetry-proto>=1.27,<2')"
        );
    }
    if !ok {
        eprintln!(
            "skipped: python3 -c 'import opentelemetry.proto' fails (scripts/test installs it)"
        );
    }
    ok
}

/// The Python OTLP receiver, killed on drop; spans land in `out`.
struct Receiver {
    child: std::process::Child,
    url: String,
    out: PathBuf,
}

impl Receiver {
    fn start(dir: &Path, port: Option<u16>) -> Option<Receiver> {
        let out = dir.join("spans.jsonl");
        let mut cmd = Command::new("python3");
        cmd.arg(repo().join("tests/python/otlp_receiver.py"))
            .arg(&out)
            .args(["--max-seconds", "300"]);
        if let Some(p) = port {
            cmd.args(["--port", &p.to_string()]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            let _ = child.kill();
            let err = child.wait_with_output().map(|o| text(&o.stderr));
            eprintln!("the receiver did not start: {line:?} {err:?}");
            return None;
        };
        Some(Receiver {
            child,
            url: v["url"].as_str().unwrap().to_owned(),
            out,
        })
    }

    /// Every span received so far.
    fn spans(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn named<'a>(spans: &'a [Value], name: &str) -> Vec<&'a Value> {
    spans.iter().filter(|s| s["name"] == name).collect()
}

/// The span's ancestors' names, nearest first.
fn ancestry(spans: &[Value], span: &Value) -> Vec<String> {
    let by_id: HashMap<&str, &Value> = spans
        .iter()
        .map(|s| (s["span_id"].as_str().unwrap(), s))
        .collect();
    let mut names = Vec::new();
    let mut parent = span["parent_span_id"].as_str().unwrap();
    while !parent.is_empty() {
        let p = by_id
            .get(parent)
            .unwrap_or_else(|| panic!("parent {parent} of {span} was not exported"));
        names.push(p["name"].as_str().unwrap().to_owned());
        parent = p["parent_span_id"].as_str().unwrap();
    }
    names
}

#[test]
fn the_demo_arrives_at_an_otlp_receiver_as_one_trace_with_its_decisions() {
    if !receiver_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(dir.path(), None).unwrap();
    let started = Instant::now();
    let out = sopilot(
        dir.path(),
        &["demo"],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url)],
    );
    eprintln!("demo with traces: {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let spans = receiver.spans();

    // One trace, one root: the run.
    let traces: std::collections::BTreeSet<&str> = spans
        .iter()
        .map(|s| s["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(traces.len(), 1, "{traces:?}");
    let roots: Vec<&Value> = spans.iter().filter(|s| s["parent_span_id"] == "").collect();
    assert_eq!(roots.len(), 1, "{roots:?}");
    let run = roots[0];
    assert_eq!(run["name"], "sopilot.run");
    assert_eq!(run["service"], "sopilot");
    let a = &run["attributes"];
    assert_eq!(a["sopilot.sop"], "complex-incident");
    assert_eq!(a["sopilot.status"], "needs_human");
    assert_eq!(a["sopilot.trigger.kind"], "cloudwatch_alarm");
    assert!(
        a["sopilot.run_id"].as_str().unwrap().starts_with("run-"),
        "{a}"
    );
    assert!(a["gen_ai.usage.input_tokens"].as_i64().unwrap() > 0, "{a}");

    // Phases under the run, in the SOP's order.
    let phases: Vec<&str> = named(&spans, "sopilot.phase")
        .into_iter()
        .inspect(|p| assert_eq!(ancestry(&spans, p), ["sopilot.run"], "{p}"))
        .map(|p| p["attributes"]["sopilot.phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        ["assess", "root-cause", "remediate", "post-incident"]
    );

    // Model turns: tokens and prompt sizes, under a phase (the report's under the run).
    let turns = named(&spans, "sopilot.model_turn");
    assert_eq!(turns.len() as i64, a["sopilot.turns"].as_i64().unwrap());
    for t in &turns {
        let ta = &t["attributes"];
        assert!(ta["gen_ai.usage.input_tokens"].as_i64().unwrap() > 0, "{t}");
        assert!(ta["sopilot.prompt_bytes"].as_i64().unwrap() > 0, "{t}");
        assert_eq!(ancestry(&spans, t).last().unwrap(), "sopilot.run", "{t}");
    }

    // Tool calls: decision, rule, executed, bytes; under their phase.
    let calls = named(&spans, "sopilot.tool_call");
    assert_eq!(
        calls.len() as i64,
        a["sopilot.tool_calls"].as_i64().unwrap()
    );
    let call = |tool: &str| {
        *calls
            .iter()
            .find(|c| c["attributes"]["gen_ai.tool.name"] == tool)
            .unwrap_or_else(|| panic!("no {tool} span"))
    };
    let undo = &call("kubectl.rollout_undo")["attributes"];
    assert_eq!(undo["sopilot.decision"], "allow");
    assert_eq!(undo["sopilot.rule"], "rollback-previous-revision");
    assert_eq!(undo["sopilot.executed"], true);
    assert!(undo["sopilot.output_bytes"].as_i64().unwrap() > 0, "{undo}");
    let hpa = call("kubectl.patch_hpa");
    let ha = &hpa["attributes"];
    assert_eq!(ha["sopilot.decision"], "escalate");
    assert_eq!(ha["sopilot.rule"], "hpa-beyond-50-percent");
    assert_eq!(ha["sopilot.executed"], false);
    assert_eq!(ha["sopilot.approval.state"], "denied");
    assert!(ha["sopilot.approval.wait_ms"].is_i64(), "{ha}");
    assert_eq!(
        ancestry(&spans, hpa),
        ["sopilot.phase", "sopilot.run"],
        "{hpa}"
    );
    let block = &call("kubectl.top_nodes")["attributes"];
    assert_eq!(block["sopilot.origin"], "tool_block");
    // The approval wait, under its call.
    let waits = named(&spans, "sopilot.approval_wait");
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert_eq!(waits[0]["parent_span_id"], hpa["span_id"]);
    assert_eq!(waits[0]["attributes"]["sopilot.approval.state"], "denied");

    // Names and sizes only: no argument or output reaches the trace.
    let all = serde_json::to_string(&spans).unwrap();
    for leak in ["payment-service-hpa", "max_replicas", "CrashLoopBackOff"] {
        assert!(!all.contains(leak), "{leak} is in the trace");
    }
}

#[test]
fn without_otel_variables_or_with_traces_off_nothing_is_sent() {
    if !receiver_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Off by the standard switches, with an endpoint set.
    let receiver = Receiver::start(dir.path(), None).unwrap();
    for off in [
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_SDK_DISABLED", "true"),
    ] {
        let out = sopilot(
            dir.path(),
            &["demo"],
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url), off],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    assert!(receiver.spans().is_empty(), "{:?}", receiver.spans());
    drop(receiver);
    // No variable at all: nothing reaches the OTLP default port either.
    let dir = tempfile::tempdir().unwrap();
    let Some(default_port) = Receiver::start(dir.path(), Some(4318)) else {
        eprintln!("port 4318 is taken here; only the explicit switches were checked");
        return;
    };
    let out = sopilot(dir.path(), &["demo"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        default_port.spans().is_empty(),
        "{:?}",
        default_port.spans()
    );
    // The control: the same receiver does get spans when asked to.
    let out = sopilot(dir.path(), &["demo"], &[("OTEL_TRACES_EXPORTER", "otlp")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!default_port.spans().is_empty());
}

#[test]
fn an_unreachable_collector_is_one_json_warning_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: every export is refused.
    let started = Instant::now();
    let out = sopilot(
        dir.path(),
        &["--log-format", "json", "demo"],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")],
    );
    eprintln!(
        "demo with an unreachable collector: {:?}",
        started.elapsed()
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let logs: Vec<Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let warnings: Vec<&Value> = logs
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.contains("traces are not reaching"))
        })
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    let w = warnings[0];
    assert_eq!(w["level"], "WARN", "{w}");
    assert!(w["target"].as_str().unwrap().starts_with("sopilot"), "{w}");
    assert!(
        w["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1:1/v1/traces"),
        "{w}"
    );
}

#[test]
fn sopilot_log_format_json_reaches_the_mcp_servers_it_starts() {
    // An MCP server as the gateway starts it: the format comes from the environment.
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sopilot"));
    for v in OTEL_VARS {
        cmd.env_remove(v);
    }
    let out = cmd
        .current_dir(dir.path())
        .env("SOPILOT_LOG_FORMAT", "json")
        .env("KUBECONFIG", dir.path().join("none"))
        .args(["mcp-server", "kubectl"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    let first = stderr
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no log: {out:?}"));
    let v: Value = serde_json::from_str(first).unwrap_or_else(|e| panic!("{e}: {first}"));
    // Without a cluster the server says so (ERROR) and stops: a log line all the same.
    assert!(
        ["INFO", "ERROR"].contains(&v["level"].as_str().unwrap()),
        "{v}"
    );
    assert!(
        v["target"].as_str().unwrap().starts_with("mcp_kubectl"),
        "{v}"
    );
    assert!(!v["message"].as_str().unwrap().is_empty(), "{v}");
    assert!(v["timestamp"].is_string(), "{v}");
    // The default stays text.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sopilot"));
    for v in OTEL_VARS {
        cmd.env_remove(v);
    }
    let out = cmd
        .current_dir(dir.path())
        .env("KUBECONFIG", dir.path().join("none"))
        .args(["mcp-server", "kubectl"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let first = text(&out.stderr)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        first.contains("mcp_kubectl") && !first.starts_with('{'),
        "{first}"
    );
}

mod probe {
    //! An HTTP MCP server of one tool, `echo`, that records the `traceparent` header and the
    //! `_meta.traceparent` of every `tools/call` it receives.

    use super::*;
    use axum::body::Body;
    use axum::extract::Request;
    use axum::middleware::Next;
    use rmcp::handler::server::router::tool::ToolRouter;
    use rmcp::model::{CallToolResult, ContentBlock};
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
    use rmcp::{ErrorData, ServerHandler, tool, tool_handler, tool_router};

    #[derive(Clone)]
    pub struct Probe {
        tool_router: ToolRouter<Probe>,
    }

    #[tool_router]
    impl Probe {
        #[tool(description = "Answers ok.")]
        async fn echo(&self) -> Result<CallToolResult, ErrorData> {
            Ok(CallToolResult::success(vec![ContentBlock::text(
                "probe ok",
            )]))
        }
    }

    #[tool_handler(router = self.tool_router, name = "probe", instructions = "A probe.")]
    impl ServerHandler for Probe {}

    /// What one `tools/call` carried: the header and the `_meta` value.
    pub type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>)>>>;

    async fn record(seen: Seen, req: Request, next: Next) -> axum::response::Response {
        let header = req
            .headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        if let Ok(msg) = serde_json::from_slice::<Value>(&bytes)
            && msg["method"] == "tools/call"
        {
            let meta = msg["params"]["_meta"]["traceparent"]
                .as_str()
                .map(str::to_owned);
            seen.lock().unwrap().push((header, meta));
        }
        next.run(Request::from_parts(parts, Body::from(bytes)))
            .await
    }

    /// Serves the probe on a free loopback port; returns its URL.
    pub async fn serve(seen: Seen) -> String {
        let service = StreamableHttpService::new(
            || {
                Ok(Probe {
                    tool_router: Probe::tool_router(),
                })
            },
            Arc::new(LocalSessionManager::default()),
            StreamableHttpServerConfig::default(),
        );
        let app =
            axum::Router::new()
                .nest_service("/mcp", service)
                .layer(axum::middleware::from_fn(move |req, next| {
                    record(seen.clone(), req, next)
                }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }
}

/// An SOP whose one step calls the probe from a tool block, a policy that allows it.
fn probe_run_files(dir: &Path, url: &str) -> (PathBuf, PathBuf, PathBuf) {
    let sop = dir.join("probe.sop.md");
    std::fs::write(
        &sop,
        "---\nname: probe\ndescription: Calls the probe.\ntools:\n  - probe.*\nphases:\n  - {name: probe}\n---\n# Probe\n\n## Overview\n\nCalls the probe.\n\n## Parameters\n\nNone.\n\n## Steps\n\n### 1. Call the probe (phase: probe)\n\n```tool\nprobe.echo: {}\n```\n",
    )
    .unwrap();
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        "version: 1\nrules:\n  - name: probe-echo\n    tools: [probe.echo]\n    decision: allow\n    because: The test's probe only answers.\n",
    )
    .unwrap();
    let config = dir.join("sopilot.yaml");
    std::fs::write(
        &config,
        format!(
            "store: {}\nservers:\n  probe: {{url: \"{url}\"}}\n",
            dir.join("store.db").display()
        ),
    )
    .unwrap();
    (sop, policy, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_call_to_an_http_mcp_server_carries_its_span_as_traceparent() {
    if !receiver_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let seen: probe::Seen = Arc::default();
    let url = probe::serve(seen.clone()).await;
    let (sop, policy, config) = probe_run_files(dir.path(), &url);
    let receiver = Receiver::start(dir.path(), None).unwrap();
    let args: Vec<String> = [
        "run",
        sop.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--model",
        "none",
        "--json",
    ]
    .map(str::to_owned)
    .to_vec();
    let kubeconfig = dir.path().join("no-kubeconfig");
    let endpoint = receiver.url.clone();
    let d = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        sopilot(
            &d,
            &args,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
                ("KUBECONFIG", kubeconfig.to_str().unwrap()),
            ],
        )
    })
    .await
    .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    assert_eq!(report["tool_calls"][0]["executed"], true, "{report:#}");

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (header, meta) = seen[0].clone();
    let header = header.expect("the tools/call POST has a traceparent header");
    assert_eq!(
        meta.as_deref(),
        Some(header.as_str()),
        "_meta and header agree"
    );
    // 00-TRACE-SPAN-01, naming the exported tool-call span of the run's trace.
    let parts: Vec<&str> = header.split('-').collect();
    assert_eq!(parts.len(), 4, "{header}");
    let spans = receiver.spans();
    let call = named(&spans, "sopilot.tool_call")
        .into_iter()
        .find(|c| c["attributes"]["gen_ai.tool.name"] == "probe.echo")
        .unwrap_or_else(|| panic!("no probe.echo span in {spans:?}"));
    assert_eq!(parts[1], call["trace_id"], "{header} {call}");
    assert_eq!(parts[2], call["span_id"], "{header} {call}");
    assert_eq!(parts[3], "01");
    assert_eq!(ancestry(&spans, call), ["sopilot.phase", "sopilot.run"]);
    let by_name: BTreeMap<&str, usize> = spans.iter().fold(BTreeMap::new(), |mut m, s| {
        *m.entry(s["name"].as_str().unwrap()).or_default() += 1;
        m
    });
    eprintln!("spans: {by_name:?}");
}

/// Without traces the same call carries no trace context at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_traces_a_tool_call_carries_no_trace_context() {
    let dir = tempfile::tempdir().unwrap();
    let seen: probe::Seen = Arc::default();
    let url = probe::serve(seen.clone()).await;
    let (sop, policy, config) = probe_run_files(dir.path(), &url);
    let d = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        sopilot(
            &d,
            &[
                "run",
                sop.to_str().unwrap(),
                "--policy",
                policy.to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
                "--json",
            ],
            &[("KUBECONFIG", d.join("no-kubeconfig").to_str().unwrap())],
        )
    })
    .await
    .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    assert_eq!(report["tool_calls"][0]["executed"], true, "{report:#}");
    assert_eq!(*seen.lock().unwrap(), vec![(None, None)]);
}

/// Under `sopilot serve`, the webhook's trigger is the run's parent; spans are exported while
/// the server runs (`OTEL_BSP_SCHEDULE_DELAY`), not only at exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_traces_a_webhook_trigger_as_the_parent_of_its_run() {
    use crate::support::{AM_TOKEN, TOKEN, decide, http, pending_approval, sim, spawn, wait_for};
    if !receiver_available() {
        return;
    }
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(dir.path(), None).unwrap();
    let script = dir.path().join("script.yaml");
    std::fs::write(&script, "turns:\n  - when: {contains: \"Step 3: Restart\"}\n    calls:\n      - kubectl.patch_hpa: {namespace: payment, name: payment-service-hpa, max_replicas: 20}\n").unwrap();
    let config = dir.path().join("sopilot.yaml");
    std::fs::write(
        &config,
        format!(
            "store: {}\napproval_timeout: 2m\nserve:\n  listen: 127.0.0.1:0\n  model: scripted:{}\n",
            dir.path().join("db").display(),
            script.display()
        ),
    )
    .unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
    for v in OTEL_VARS {
        cmd.env_remove(v);
    }
    cmd.current_dir(repo())
        .env("KUBECONFIG", sim.kubeconfig())
        .env("SOPILOT_API_TOKEN", TOKEN)
        .env("SOPILOT_ALERTMANAGER_TOKEN", AM_TOKEN)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url)
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        .env_remove("SLACK_BOT_TOKEN")
        .args(["serve", "--config"])
        .arg(&config);
    let server = spawn(cmd).await;
    let http = http();
    let pod = "payment-service-7d8f9c6b5-x2k9p";
    let alert = serde_json::json!({"version": "4", "groupKey": "{}:{alertname=\"KubePodCrashLooping\"}", "status": "firing",
        "receiver": "sopilot", "groupLabels": {"alertname": "KubePodCrashLooping"},
        "commonLabels": {"alertname": "KubePodCrashLooping", "namespace": "payment", "pod": pod},
        "alerts": [{"status": "firing", "labels": {"alertname": "KubePodCrashLooping", "namespace": "payment", "pod": pod}, "fingerprint": "f1"}]});
    let r: Value = http
        .post(format!("{}/hooks/alertmanager", server.url))
        .bearer_auth(AM_TOKEN)
        .json(&alert)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run_id = r["run_id"].as_str().unwrap().to_owned();
    let approval = pending_approval(&http, &server.url).await;
    let (status, _) = decide(
        &http,
        &server.url,
        approval["id"].as_str().unwrap(),
        "approve",
        "carol",
    )
    .await;
    assert_eq!(status, 200);
    wait_for(
        &http,
        &format!("{}/api/runs/{run_id}", server.url),
        "the run's end",
        |v| v["run"]["status"] != "running",
    )
    .await;
    // The server goes on running; its batch exporter sends the finished run.
    let mut spans = Vec::new();
    for _ in 0..100 {
        spans = receiver.spans();
        if !named(&spans, "sopilot.trigger").is_empty() && !named(&spans, "sopilot.run").is_empty()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let trigger = named(&spans, "sopilot.trigger");
    let run = named(&spans, "sopilot.run");
    assert_eq!((trigger.len(), run.len()), (1, 1), "{spans:?}");
    let (trigger, run) = (trigger[0], run[0]);
    assert_eq!(trigger["parent_span_id"], "");
    assert_eq!(run["parent_span_id"], trigger["span_id"]);
    assert_eq!(run["trace_id"], trigger["trace_id"]);
    let ta = &trigger["attributes"];
    assert_eq!(ta["sopilot.trigger.kind"], "alertmanager", "{ta}");
    assert_eq!(ta["sopilot.outcome"], "started", "{ta}");
    assert_eq!(ta["sopilot.run_id"], run_id.as_str(), "{ta}");
    assert_eq!(ta["sopilot.sop"], run["attributes"]["sopilot.sop"], "{ta}");
    // The approval: who and how long, on the escalated call.
    let hpa = named(&spans, "sopilot.tool_call")
        .into_iter()
        .find(|c| c["attributes"]["gen_ai.tool.name"] == "kubectl.patch_hpa")
        .unwrap_or_else(|| panic!("no patch_hpa span: {spans:?}"));
    let ha = &hpa["attributes"];
    assert_eq!(ha["sopilot.decision"], "escalate", "{ha}");
    assert_eq!(ha["sopilot.approval.state"], "approved", "{ha}");
    assert_eq!(ha["sopilot.executed"], true, "{ha}");
    // Decided through the API: recorded as the token's name.
    assert_eq!(ha["sopilot.approval.approver"], "api:api", "{ha}");
    assert!(ha["sopilot.approval.wait_ms"].as_i64().unwrap() > 0, "{ha}");
    drop(server);
}
