//! The MCP gateway over its real transports, driven by independent clients: `sopilot mcp`
//! spawned over stdio (rmcp's client, with and without elicitation, and the Python SDK), and
//! `/mcp` on `sopilot serve` over streamable HTTP (auth, Host/Origin checks, an escalation
//! approved through the HTTP API while the call waits; named tokens whose roles decide what a
//! session may do and whose names are recorded with its approvals). The simulated cluster
//! shows what actually ran.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, ElicitationCapability, Implementation,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, ErrorData as McpError, RoleClient, ServiceExt};
use serde_json::{Value, json};
use sopilot_runtime::Store;
use sopilot_sim_env::{RunningSim, Scenario, SimOptions};
use tokio::io::AsyncBufReadExt;

const TOKEN: &str = "mcp-gateway-test-token";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn sim() -> RunningSim {
    let scenario =
        Scenario::from_file(repo().join("tests/scenarios/payment-incident.yaml")).unwrap();
    sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .unwrap()
}

fn replicas(sim: &RunningSim) -> i64 {
    sim.get("Deployment", Some("payment"), "order-service")
        .unwrap()["spec"]["replicas"]
        .as_i64()
        .unwrap()
}

/// An IDE that answers each elicitation from a script (true: approve) and records what it
/// was asked.
#[derive(Clone, Default)]
struct Ide {
    answers: Arc<Mutex<VecDeque<bool>>>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Ide {
    fn answering(answers: &[bool]) -> Ide {
        Ide {
            answers: Arc::new(Mutex::new(answers.iter().copied().collect())),
            asked: Arc::default(),
        }
    }
}

impl ClientHandler for Ide {
    fn get_info(&self) -> ClientConfig {
        let mut caps = ClientCapabilities::default();
        caps.elicitation = Some(ElicitationCapability::default());
        ClientConfig::new(caps, Implementation::new("test-ide", "1.0.0"))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, McpError> {
        let message = match request {
            ElicitRequestParams::FormElicitationParams { message, .. } => message,
            other => panic!("expected a form elicitation: {other:?}"),
        };
        self.asked.lock().unwrap().push(message);
        let yes = self.answers.lock().unwrap().pop_front().unwrap_or(false);
        Ok(if yes {
            let mut r = ElicitResult::new(ElicitationAction::Accept);
            r.content = Some(json!({"approve": true}));
            r
        } else {
            ElicitResult::new(ElicitationAction::Decline)
        })
    }
}

/// `sopilot mcp` spawned over stdio with `handler` as its client.
async fn stdio<H: ClientHandler>(
    handler: H,
    sim: &RunningSim,
    store: &Path,
) -> RunningService<RoleClient, H> {
    let cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot")).configure(|c| {
        c.current_dir(repo())
            .env("KUBECONFIG", sim.kubeconfig())
            .env("RUST_LOG", "warn")
            .env("USER", "sre-tester")
            .env_remove("SLACK_BOT_TOKEN")
            .args(["mcp", "--store"])
            .arg(store);
    });
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), handler.serve(transport))
        .await
        .expect("sopilot mcp did not start")
        .unwrap()
}

async fn call<H: ClientHandler>(
    client: &RunningService<RoleClient, H>,
    name: &str,
    args: Value,
) -> CallToolResult {
    let params = CallToolRequestParams::new(name.to_owned())
        .with_arguments(args.as_object().cloned().unwrap());
    tokio::time::timeout(Duration::from_secs(90), client.call_tool(params))
        .await
        .unwrap_or_else(|_| panic!("{name} timed out"))
        .unwrap()
}

fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn gate(r: &CallToolResult) -> Value {
    r.meta.as_ref().unwrap().0["sopilot/gate"].clone()
}

fn scale(to: i64) -> Value {
    json!({"kind": "Deployment", "namespace": "payment", "name": "order-service", "replicas": to})
}

#[tokio::test]
async fn stdio_calls_are_gated_and_escalations_elicited() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("sopilot.db");
    // Approve the first escalation, decline the second.
    let ide = Ide::answering(&[true, false]);
    let client = stdio(ide.clone(), &sim, &store).await;

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for n in [
        "kubectl__list_pods",
        "kubectl__scale",
        "run_sop",
        "list_sops",
        "get_run",
    ] {
        assert!(names.contains(&n), "{n} missing: {names:?}");
    }

    // Allowed: runs.
    let r = call(
        &client,
        "kubectl__list_pods",
        json!({"namespace": "payment"}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert!(
        text(&r).contains("payment-service-7d8f9c6b5-x2k9p"),
        "{}",
        text(&r)
    );
    assert_eq!(gate(&r)["decision"], "allow");

    // Denied: never runs, nobody is asked.
    let r = call(
        &client,
        "kubectl__get_resource",
        json!({"kind": "Secret", "namespace": "payment", "name": "payment-db-credentials"}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).starts_with("DENIED"), "{}", text(&r));
    assert_eq!(gate(&r)["executed"], false);
    assert!(ide.asked.lock().unwrap().is_empty());

    // Escalated (2 to 6 replicas, +200 %): the IDE is asked, approves, the call executes.
    assert_eq!(replicas(&sim), 2);
    let r = call(&client, "kubectl__scale", scale(6)).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(gate(&r)["decision"], "escalate");
    assert_eq!(gate(&r)["approval"]["state"], "approved");
    assert_eq!(gate(&r)["executed"], true);
    assert_eq!(replicas(&sim), 6, "the approved scale executed");
    {
        let asked = ide.asked.lock().unwrap();
        assert_eq!(asked.len(), 1);
        assert!(
            asked[0].contains("kubectl.scale") && asked[0].contains("\"replicas\":6"),
            "the question shows the call: {}",
            asked[0]
        );
    }

    // Escalated again: declined, so nothing happens.
    let r = call(&client, "kubectl__scale", scale(12)).await;
    assert_eq!(r.is_error, Some(true));
    assert_eq!(gate(&r)["approval"]["state"], "denied");
    assert_eq!(gate(&r)["executed"], false);
    assert!(text(&r).contains("denied"), "{}", text(&r));
    assert_eq!(replicas(&sim), 6, "the declined scale did not run");

    // The session is a run, audited, and get_run shows it.
    let run_id = gate(&r)["run_id"].as_str().unwrap().to_owned();
    let r = call(&client, "get_run", json!({"run_id": run_id})).await;
    let run = r.structured_content.clone().unwrap();
    assert_eq!(run["run"]["sop"], "mcp-session");
    let decisions: Vec<&str> = run["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["allow", "deny", "escalate", "escalate"]);
    assert!(
        run["tool_calls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["origin"] == "ide")
    );
    client.cancel().await.unwrap();

    // Once the session ends, its run is finished: work was escalated and denied.
    let mut status = String::new();
    for _ in 0..50 {
        let (row, _, _) = Store::open(&store).unwrap().run(&run_id).unwrap();
        status = serde_json::to_value(row.status)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned();
        if status != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "needs_human");
    let approvals = Store::open(&store).unwrap().approvals(None).unwrap();
    let channels: Vec<(String, Option<String>, Option<String>)> = approvals
        .iter()
        .map(|a| {
            (
                serde_json::to_value(a.state)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
                a.channel.clone(),
                a.decided_by.clone(),
            )
        })
        .collect();
    let me = Some("local:sre-tester".to_owned());
    assert_eq!(
        channels,
        [
            ("approved".to_owned(), Some("mcp".to_owned()), me.clone()),
            ("denied".to_owned(), Some("mcp".to_owned()), me)
        ],
        "decided by the OS user, never the client's name"
    );
}

#[tokio::test]
async fn stdio_without_elicitation_refuses_escalations_and_says_how_to_approve() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let client = stdio((), &sim, &dir.path().join("sopilot.db")).await;
    let r = call(&client, "kubectl__scale", scale(6)).await;
    assert_eq!(r.is_error, Some(true));
    let t = text(&r);
    assert!(t.starts_with("REFUSED, not executed"), "{t}");
    let id = gate(&r)["approval"]["id"].as_str().unwrap().to_owned();
    assert!(
        t.contains(&format!("POST /api/approvals/{id}")) && t.contains("Slack"),
        "says how to approve: {t}"
    );
    assert_eq!(gate(&r)["executed"], false);
    assert_eq!(replicas(&sim), 2, "nothing ran");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn tool_and_prompt_surface_is_snapshotted() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let client = stdio((), &sim, &dir.path().join("sopilot.db")).await;
    let tools: Vec<Value> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| serde_json::to_value(t).unwrap())
        .collect();
    for t in &tools {
        assert!(
            t["description"].as_str().is_some_and(|d| d.len() > 40),
            "every tool is described for a model: {t}"
        );
    }
    insta::assert_json_snapshot!("mcp-tools-list", tools);
    let prompts = client.list_all_prompts().await.unwrap();
    insta::assert_json_snapshot!("mcp-prompts-list", prompts);

    // A prompt is the SOP rendered with its arguments; a missing required one is an error.
    let args = json!({"namespace": "payment", "pod": "payment-service-7d8f9c6b5-x2k9p"});
    let p = client
        .get_prompt(
            rmcp::model::GetPromptRequestParams::new("pod-crashloop")
                .with_arguments(args.as_object().cloned().unwrap()),
        )
        .await
        .unwrap();
    let body = serde_json::to_string(&p.messages).unwrap();
    assert!(body.contains("payment-service-7d8f9c6b5-x2k9p"), "{body}");
    assert!(
        client
            .get_prompt(rmcp::model::GetPromptRequestParams::new("pod-crashloop"))
            .await
            .is_err()
    );
    client.cancel().await.unwrap();
}

/// The Python MCP SDK (an independent implementation) over stdio: lists and calls tools; the
/// escalated call is refused, since that client declares no elicitation.
#[tokio::test]
async fn python_sdk_client_over_stdio() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let script = repo().join("tests/python/mcp_client_check.py");
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("python3")
            .current_dir(repo())
            .arg(script)
            .arg("--env")
            .arg(format!("KUBECONFIG={}", sim.kubeconfig().display()))
            .arg("--stdio")
            .arg(env!("CARGO_BIN_EXE_sopilot"))
            .args(["mcp", "--store"])
            .arg(dir.path().join("sopilot.db"))
            .args(["--call", "kubectl__list_pods"])
            .arg(json!({"namespace": "payment", "status": "CrashLoopBackOff"}).to_string())
            .args(["--call", "kubectl__get_resource"])
            .arg(json!({"kind": "Secret", "namespace": "payment"}).to_string())
            .args(["--call", "kubectl__scale"])
            .arg(scale(6).to_string())
            .args(["--call", "list_sops", "{}"])
            .output(),
    )
    .await
    .expect("python client timed out")
    .unwrap();
    assert!(
        out.status.success(),
        "python MCP client failed (scripts/test installs `mcp`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["server"], "sopilot");
    let tools: Vec<&str> = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        tools.contains(&"kubectl__drain") && tools.contains(&"run_sop"),
        "{tools:?}"
    );
    let c = v["calls"].as_array().unwrap();
    assert_eq!(c[0]["is_error"], false, "{}", c[0]);
    assert!(
        c[0]["text"]
            .as_str()
            .unwrap()
            .contains("payment-service-7d8f9c6b5-x2k9p")
    );
    assert_eq!(c[1]["is_error"], true);
    assert!(
        c[1]["text"].as_str().unwrap().starts_with("DENIED"),
        "{}",
        c[1]
    );
    assert_eq!(c[2]["is_error"], true);
    assert!(
        c[2]["text"]
            .as_str()
            .unwrap()
            .contains("REFUSED, not executed")
            && c[2]["text"]
                .as_str()
                .unwrap()
                .contains("POST /api/approvals/"),
        "{}",
        c[2]
    );
    assert!(c[3]["text"].as_str().unwrap().contains("pod-crashloop"));
    assert_eq!(replicas(&sim), 2, "the refused scale did not run");
}

struct Serve {
    _child: tokio::process::Child,
    url: String,
}

async fn serve(sim: &RunningSim, dir: &Path) -> Serve {
    serve_with(sim, dir, "").await
}

/// `sopilot serve` with `serve_extra` appended to its `serve:` section.
async fn serve_with(sim: &RunningSim, dir: &Path, serve_extra: &str) -> Serve {
    let config = dir.join("sopilot.yaml");
    std::fs::write(
        &config,
        format!(
            "store: {}\napproval_timeout: 2m\nserve:\n  listen: 127.0.0.1:0\n  mcp_allowed_hosts: [sopilot.internal]\n{serve_extra}",
            dir.join("db").display()
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
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("serve: {line}");
        }
    });
    Serve { _child: child, url }
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}})
}

async fn http_client<H: ClientHandler>(handler: H, url: &str) -> RunningService<RoleClient, H> {
    http_client_as(handler, url, TOKEN).await
}

async fn http_client_as<H: ClientHandler>(
    handler: H,
    url: &str,
    token: &str,
) -> RunningService<RoleClient, H> {
    let config =
        StreamableHttpClientTransportConfig::with_uri(format!("{url}/mcp")).auth_header(token);
    tokio::time::timeout(
        Duration::from_secs(30),
        handler.serve(StreamableHttpClientTransport::from_config(config)),
    )
    .await
    .unwrap()
    .unwrap()
}

#[tokio::test]
async fn http_gateway_checks_token_host_and_origin_and_waits_for_api_approval() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&sim, dir.path()).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mcp = format!("{}/mcp", server.url);
    let post = |token: Option<&str>, host: Option<&str>, origin: Option<&str>| {
        let mut rb = http
            .post(&mcp)
            .header("accept", "application/json, text/event-stream")
            .json(&initialize());
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(h) = host {
            rb = rb.header("host", h);
        }
        if let Some(o) = origin {
            rb = rb.header("origin", o);
        }
        rb.send()
    };
    assert_eq!(post(None, None, None).await.unwrap().status(), 401);
    assert_eq!(post(Some("wrong"), None, None).await.unwrap().status(), 401);
    let r = post(Some(TOKEN), Some("evil.example.com"), None)
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("DNS rebinding"));
    assert_eq!(
        post(None, Some("evil.example.com"), None)
            .await
            .unwrap()
            .status(),
        403,
        "the rebinding check comes before the token"
    );
    assert_eq!(
        post(Some(TOKEN), None, Some("http://evil.example.com"))
            .await
            .unwrap()
            .status(),
        403
    );
    // The same request with good headers is served: the refusals above were the headers.
    assert_eq!(post(Some(TOKEN), None, None).await.unwrap().status(), 200);
    assert_eq!(
        post(
            Some(TOKEN),
            Some("sopilot.internal:8080"),
            Some("https://sopilot.internal")
        )
        .await
        .unwrap()
        .status(),
        200,
        "configured host names are allowed"
    );

    // A client that cannot elicit: the escalated call waits until the API approves it.
    let client = http_client((), &server.url).await;
    let r = call(
        &client,
        "kubectl__list_pods",
        json!({"namespace": "payment"}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let pending_call = tokio::spawn(async move {
        let r = call(&client, "kubectl__scale", scale(6)).await;
        client.cancel().await.unwrap();
        r
    });
    let api = |p: &str| format!("{}{p}", server.url);
    let mut id = None;
    for _ in 0..200 {
        let v: Value = http
            .get(api("/api/approvals?state=pending"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(a) = v["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["tool"] == "kubectl.scale")
        {
            id = Some(a["id"].as_str().unwrap().to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let id = id.expect("the escalation is pending in the API");
    assert!(
        !pending_call.is_finished(),
        "the call waits for the decision"
    );
    assert_eq!(replicas(&sim), 2);
    let r = http
        .post(api(&format!("/api/approvals/{id}")))
        .bearer_auth(TOKEN)
        .json(&json!({"decision": "approve", "by": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = tokio::time::timeout(Duration::from_secs(30), pending_call)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(
        gate(&r)["approval"]["by"],
        "api:api",
        "the token's name, not the body's `by`"
    );
    assert_eq!(gate(&r)["executed"], true);
    assert_eq!(replicas(&sim), 6, "the approved call executed");

    // A client that elicits decides in the IDE; the record says so.
    let ide = Ide::answering(&[true]);
    let client = http_client(ide.clone(), &server.url).await;
    let r = call(&client, "kubectl__scale", scale(12)).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(replicas(&sim), 12);
    let approval = gate(&r)["approval"]["id"].as_str().unwrap().to_owned();
    let all: Value = http
        .get(api("/api/approvals"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rec = all["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == approval.as_str())
        .unwrap()
        .clone();
    assert_eq!(rec["state"], "approved");
    assert_eq!(rec["channel"], "mcp");
    assert_eq!(
        rec["decided_by"], "mcp:api",
        "the session's token, not the client's name"
    );
    // Executed once, by the gate: the hub did not take the decided record for an orphan.
    let run_id = gate(&r)["run_id"].as_str().unwrap().to_owned();
    let run: Value = http
        .get(api(&format!("/api/runs/{run_id}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events = run["events"].to_string();
    assert!(events.contains(&approval), "{events}");
    assert!(
        !events.contains("after the run stopped"),
        "executed twice: {events}"
    );

    // run_sop queues on the server; the MCP sessions are runs the API lists.
    let r = call(
        &client,
        "run_sop",
        json!({"sop": "pod-crashloop", "params": {"namespace": "payment", "pod": "payment-service-7d8f9c6b5-x2k9p"}}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(r.structured_content.as_ref().unwrap()["status"], "queued");
    // Queued: the run is recorded once a worker takes it up, so wait for it (up to 30 s).
    let mut sops: Vec<String> = Vec::new();
    for _ in 0..300 {
        let runs: Value = http
            .get(api("/api/runs"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        sops = runs["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["sop"].as_str().unwrap().to_owned())
            .collect();
        if sops.iter().any(|s| s == "pod-crashloop") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        sops.iter().any(|s| s == "mcp-session") && sops.iter().any(|s| s == "pod-crashloop"),
        "{sops:?}"
    );
    client.cancel().await.unwrap();
}

const VIEWER: &str = "viewer-secret-0123456789";
const OPERATOR: &str = "operator-secret-0123456789";
const APPROVER: &str = "approver-secret-0123456789";

#[tokio::test]
async fn http_sessions_carry_their_tokens_identity_and_role() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut extra = String::from("  api_tokens:\n");
    for (name, role, secret) in [
        ("grafana", "viewer", VIEWER),
        ("ci", "operator", OPERATOR),
        ("oncall", "approver", APPROVER),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, secret).unwrap();
        extra.push_str(&format!(
            "    - {{name: {name}, role: {role}, token_file: {}}}\n",
            file.display()
        ));
    }
    let server = serve_with(&sim, dir.path(), &extra).await;
    let http = reqwest::Client::new();

    // A viewer reads, but calls no tool.
    let viewer = http_client_as((), &server.url, VIEWER).await;
    let r = call(&viewer, "list_sops", json!({})).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let r = call(
        &viewer,
        "kubectl__list_pods",
        json!({"namespace": "payment"}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    assert!(
        text(&r).contains("role viewer") && text(&r).contains("needs role operator"),
        "{}",
        text(&r)
    );
    viewer.cancel().await.unwrap();

    // An operator's escalation is not asked in its IDE, though the IDE could answer: it waits
    // for an approver, and the record names who decided.
    let ide = Ide::answering(&[true]);
    let operator = http_client_as(ide.clone(), &server.url, OPERATOR).await;
    let pending_call = tokio::spawn(async move {
        let r = call(&operator, "kubectl__scale", scale(6)).await;
        operator.cancel().await.unwrap();
        r
    });
    let mut id = None;
    for _ in 0..200 {
        let v: Value = http
            .get(format!("{}/api/approvals?state=pending", server.url))
            .bearer_auth(VIEWER)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(a) = v["approvals"].as_array().unwrap().first() {
            id = Some(a["id"].as_str().unwrap().to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let id = id.expect("the operator's escalation is pending");
    assert!(
        ide.asked.lock().unwrap().is_empty(),
        "the operator was not asked"
    );
    let r = http
        .post(format!("{}/api/approvals/{id}", server.url))
        .bearer_auth(APPROVER)
        .json(&json!({"decision": "approve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = tokio::time::timeout(Duration::from_secs(30), pending_call)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gate(&r)["approval"]["by"], "api:oncall", "{}", text(&r));
    assert_eq!(replicas(&sim), 6);

    // An approver's IDE is asked; the decision is recorded as the token, not the client.
    let ide = Ide::answering(&[true]);
    let approver = http_client_as(ide.clone(), &server.url, APPROVER).await;
    let r = call(&approver, "kubectl__scale", scale(12)).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(ide.asked.lock().unwrap().len(), 1);
    assert_eq!(gate(&r)["approval"]["by"], "mcp:oncall");
    assert_eq!(replicas(&sim), 12);
    approver.cancel().await.unwrap();

    // A session belongs to the token that opened it.
    let mcp = format!("{}/mcp", server.url);
    let opened = http
        .post(&mcp)
        .bearer_auth(VIEWER)
        .header("accept", "application/json, text/event-stream")
        .json(&initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let r = http
        .post(&mcp)
        .bearer_auth(APPROVER)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &session)
        .json(&list)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "another token cannot use the session");
}
