//! The tool gateway: MCP clients for every configured server (child processes over stdio,
//! or streamable HTTP URLs), one catalog of their tools, and calls with timeouts. A dying
//! server's stderr is attached to the error, and the server is restarted for the next call.
//!
//! The gateway executes; it never decides. Every call reaches it through the gate.

mod traced_http;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult, RequestParamsMeta};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use sopilot_policy::{ServerTrust, ToolAnnotations};
use sopilot_protocol::{TARGET_ARG, ToolRef};
use tokio::io::AsyncBufReadExt;

pub use traced_http::set_traceparent_source;

/// How long a server may take to start and list its tools.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Lines of a server's stderr kept for error messages.
const STDERR_LINES: usize = 20;
/// Restarts allowed per server per gateway.
const MAX_RESTARTS: u32 = 3;

/// Where a server runs.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerSource {
    /// A child process speaking MCP on stdio.
    Command {
        program: PathBuf,
        args: Vec<String>,
        env: Vec<(String, String)>,
    },
    /// A streamable HTTP endpoint.
    Http { url: String },
    /// A service the caller connected itself ([`Gateway::from_services`]): an in-process
    /// server, in tests. It cannot be restarted.
    Connected,
}

/// One configured server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSpec {
    /// The name tools are prefixed with (`kubectl` in `kubectl.delete_pod`).
    pub name: String,
    pub source: ServerSource,
    /// One of SOPilot's own servers, started by SOPilot: only then are its annotations
    /// trusted and its mutating tools dry-run for an impact.
    pub builtin: bool,
}

/// A gateway failure.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("MCP server {server} did not start: {message}{}", stderr_tail(.stderr))]
    Start {
        server: String,
        message: String,
        stderr: Vec<String>,
    },
    #[error("no MCP server {0} is configured")]
    UnknownServer(String),
    #[error("{tool} failed: {message}{}", stderr_tail(.stderr))]
    Call {
        tool: String,
        message: String,
        stderr: Vec<String>,
    },
    #[error("{tool} did not answer within {seconds} s")]
    Timeout { tool: String, seconds: u64 },
}

impl GatewayError {
    /// A short name of the failure, for traces (`error.type`).
    pub fn kind(&self) -> &'static str {
        match self {
            GatewayError::Start { .. } => "server_start",
            GatewayError::UnknownServer(_) => "unknown_server",
            GatewayError::Call { .. } => "call_failed",
            GatewayError::Timeout { .. } => "timeout",
        }
    }
}

fn stderr_tail(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!("; its stderr ends with:\n    {}", lines.join("\n    "))
    }
}

/// A tool in the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolInfo {
    pub tool: ToolRef,
    pub description: String,
    pub input_schema: Value,
    pub annotations: ToolAnnotations,
    pub trust: ServerTrust,
}

impl ToolInfo {
    /// Whether the gate treats the tool as mutating. Only a builtin server's own
    /// `readOnlyHint: true` makes a tool read-only; everything else counts as mutating.
    pub fn mutating(&self) -> bool {
        !(self.trust == ServerTrust::Builtin && self.annotations.read_only == Some(true))
    }

    /// Whether the gate can ask this tool for an impact (a builtin tool taking `dry_run`).
    pub fn dry_runnable(&self) -> bool {
        self.trust == ServerTrust::Builtin
            && self.input_schema.pointer("/properties/dry_run").is_some()
    }
}

/// What a tool returned.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    pub text: String,
    pub structured: Option<Value>,
    pub is_error: bool,
}

impl ToolOutput {
    fn from(r: CallToolResult) -> Self {
        let text = r
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect::<Vec<_>>()
            .join("\n");
        ToolOutput {
            text,
            structured: r.structured_content,
            is_error: r.is_error == Some(true),
        }
    }
}

struct Server {
    spec: ServerSpec,
    conn: tokio::sync::Mutex<Option<RunningService<RoleClient, ()>>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    restarts: Mutex<u32>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("name", &self.spec.name)
            .finish()
    }
}

impl Server {
    fn new(spec: ServerSpec) -> Arc<Server> {
        Arc::new(Server {
            spec,
            conn: tokio::sync::Mutex::new(None),
            stderr: Arc::new(Mutex::new(VecDeque::new())),
            restarts: Mutex::new(0),
        })
    }

    /// Lists a freshly started service's tools and keeps the connection.
    async fn list(&self, service: RunningService<RoleClient, ()>) -> Listed {
        let list = tokio::time::timeout(START_TIMEOUT, service.list_all_tools()).await;
        *self.conn.lock().await = Some(service);
        match list {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(e)) => Err(GatewayError::Start {
                server: self.spec.name.clone(),
                message: format!("tools/list failed: {e}"),
                stderr: self.stderr(),
            }),
            Err(_) => Err(GatewayError::Start {
                server: self.spec.name.clone(),
                message: "tools/list timed out".into(),
                stderr: self.stderr(),
            }),
        }
    }

    fn stderr(&self) -> Vec<String> {
        self.stderr
            .lock()
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    async fn start(&self) -> Result<RunningService<RoleClient, ()>, GatewayError> {
        let fail = |message: String, stderr: Vec<String>| GatewayError::Start {
            server: self.spec.name.clone(),
            message,
            stderr,
        };
        let started = match &self.spec.source {
            ServerSource::Command { program, args, env } => {
                let cmd = tokio::process::Command::new(program).configure(|c| {
                    c.args(args);
                    for (k, v) in env {
                        c.env(k, v);
                    }
                });
                let (transport, stderr) = TokioChildProcess::builder(cmd)
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| {
                        fail(format!("cannot run {}: {e}", program.display()), Vec::new())
                    })?;
                if let Some(stderr) = stderr {
                    let buf = self.stderr.clone();
                    let name = self.spec.name.clone();
                    tokio::spawn(async move {
                        let mut lines = tokio::io::BufReader::new(stderr).lines();
                        // A server's log reaches SOPilot's log and error messages:
                        // never with a credential in it, even a key over several lines.
                        let mut mask = sopilot_redact::LineRedactor::default();
                        while let Ok(Some(line)) = lines.next_line().await {
                            let line = mask.line(&line).into_owned();
                            tracing::debug!(server = %name, "{line}");
                            if let Ok(mut b) = buf.lock() {
                                if b.len() == STDERR_LINES {
                                    b.pop_front();
                                }
                                b.push_back(line);
                            }
                        }
                    });
                }
                tokio::time::timeout(START_TIMEOUT, ().serve(transport)).await
            }
            ServerSource::Http { url } if traced_http::enabled() => {
                let client = traced_http::TracedHttp::new()
                    .map_err(|e| fail(format!("cannot build the HTTP client: {e}"), Vec::new()))?;
                let transport = StreamableHttpClientTransport::with_client(
                    client,
                    StreamableHttpClientTransportConfig::with_uri(url.clone()),
                );
                tokio::time::timeout(START_TIMEOUT, ().serve(transport)).await
            }
            ServerSource::Http { url } => {
                tokio::time::timeout(
                    START_TIMEOUT,
                    ().serve(StreamableHttpClientTransport::from_uri(url.clone())),
                )
                .await
            }
            ServerSource::Connected => {
                return Err(fail(
                    "it was connected in process and cannot be restarted".into(),
                    Vec::new(),
                ));
            }
        };
        match started {
            Ok(Ok(service)) => Ok(service),
            Ok(Err(e)) => Err(fail(e.to_string(), self.stderr())),
            Err(_) => Err(fail(
                format!("no MCP handshake within {} s", START_TIMEOUT.as_secs()),
                self.stderr(),
            )),
        }
    }
}

/// The schema of the [`TARGET_ARG`] argument: prompt text for the model and the IDE.
fn target_schema(names: &[String]) -> Value {
    json!({
        "type": "string",
        "enum": names,
        "description": "Which cluster and AWS account to act on (a target of this SOPilot). Omit it to use the run's own target (the one its alert came from) or the default target; a run started by an alert cannot act on another target."
    })
}

/// A server's tools, or why they could not be listed.
type Listed = Result<Vec<rmcp::model::Tool>, GatewayError>;

/// The connected servers and their tools.
#[derive(Debug)]
pub struct Gateway {
    servers: BTreeMap<String, Arc<Server>>,
    tools: BTreeMap<ToolRef, ToolInfo>,
    /// One of several targets' gateways: calls carry [`TARGET_ARG`], which is SOPilot's
    /// and never reaches a server.
    routed: bool,
}

fn annotations(t: &rmcp::model::Tool) -> ToolAnnotations {
    let a = t.annotations.as_ref();
    ToolAnnotations {
        read_only: a.and_then(|a| a.read_only_hint),
        destructive: a.and_then(|a| a.destructive_hint),
        idempotent: a.and_then(|a| a.idempotent_hint),
        open_world: a.and_then(|a| a.open_world_hint),
    }
}

impl Gateway {
    /// Starts every server and lists its tools. A server that fails to start is reported and
    /// left out; the others are usable.
    pub async fn connect(specs: Vec<ServerSpec>) -> (Gateway, Vec<GatewayError>) {
        let starts = specs.into_iter().map(|spec| async move {
            let server = Server::new(spec);
            let listed = match server.start().await {
                Ok(service) => server.list(service).await,
                Err(e) => Err(e),
            };
            (server, listed)
        });
        Self::assemble(futures::future::join_all(starts).await)
    }

    /// A gateway over services the caller connected itself (in-process servers, in tests);
    /// `builtin` says whether they count as SOPilot's own.
    pub async fn from_services(
        services: Vec<(String, bool, RunningService<RoleClient, ()>)>,
    ) -> (Gateway, Vec<GatewayError>) {
        let mut listed = Vec::new();
        for (name, builtin, service) in services {
            let server = Server::new(ServerSpec {
                name,
                source: ServerSource::Connected,
                builtin,
            });
            let tools = server.list(service).await;
            listed.push((server, tools));
        }
        Self::assemble(listed)
    }

    fn assemble(listed: Vec<(Arc<Server>, Listed)>) -> (Gateway, Vec<GatewayError>) {
        let mut servers = BTreeMap::new();
        let mut tools = BTreeMap::new();
        let mut failures = Vec::new();
        for (server, listed) in listed {
            let list = match listed {
                Ok(list) => list,
                Err(e) => {
                    failures.push(e);
                    continue;
                }
            };
            let trust = if server.spec.builtin {
                ServerTrust::Builtin
            } else {
                ServerTrust::Foreign
            };
            for t in list {
                match ToolRef::new(&server.spec.name, &t.name) {
                    Ok(tool) => {
                        tools.insert(
                            tool.clone(),
                            ToolInfo {
                                tool,
                                description: t.description.as_deref().unwrap_or("").to_owned(),
                                input_schema: Value::Object((*t.input_schema).clone()),
                                annotations: annotations(&t),
                                trust,
                            },
                        );
                    }
                    Err(e) => {
                        tracing::warn!(server = %server.spec.name, "skipping tool {:?}: {e}", t.name)
                    }
                }
            }
            servers.insert(server.spec.name.clone(), server);
        }
        (
            Gateway {
                servers,
                tools,
                routed: false,
            },
            failures,
        )
    }

    /// The catalog.
    pub fn tools(&self) -> impl Iterator<Item = &ToolInfo> {
        self.tools.values()
    }

    /// One tool of the catalog.
    pub fn tool(&self, tool: &ToolRef) -> Option<&ToolInfo> {
        self.tools.get(tool)
    }

    /// Makes this one of several targets' gateways: every tool's schema gains the
    /// [`TARGET_ARG`] argument (one of `names`), and calls drop it before they reach a server.
    /// A tool that declares an argument of that name itself is removed from the catalog,
    /// since its argument and the route could not be told apart; its name is returned.
    pub fn route_by_target(&mut self, names: &[String]) -> Vec<ToolRef> {
        self.routed = true;
        let mut clashing = Vec::new();
        for (tool, info) in &mut self.tools {
            let props = info
                .input_schema
                .as_object_mut()
                .map(|o| o.entry("properties").or_insert_with(|| json!({})));
            match props.and_then(Value::as_object_mut) {
                Some(p) if !p.contains_key(TARGET_ARG) => {
                    p.insert(TARGET_ARG.to_owned(), target_schema(names));
                }
                _ => clashing.push(tool.clone()),
            }
        }
        for tool in &clashing {
            self.tools.remove(tool);
        }
        clashing
    }

    /// The connected servers' names.
    pub fn servers(&self) -> Vec<String> {
        self.servers.keys().cloned().collect()
    }

    /// Calls a tool. A closed connection restarts its server (a few times) for later calls;
    /// the failed call itself is not retried, since it may already have acted.
    pub async fn call(
        &self,
        tool: &ToolRef,
        args: Value,
        timeout: Duration,
    ) -> Result<ToolOutput, GatewayError> {
        let server = self
            .servers
            .get(tool.server())
            .ok_or_else(|| GatewayError::UnknownServer(tool.server().to_owned()))?;
        let peer = {
            let mut conn = server.conn.lock().await;
            let alive = conn.as_ref().is_some_and(|c| !c.is_transport_closed());
            if !alive {
                let restarts = server
                    .restarts
                    .lock()
                    .map(|mut r| {
                        *r += 1;
                        *r
                    })
                    .unwrap_or(MAX_RESTARTS + 1);
                if restarts > MAX_RESTARTS {
                    return Err(GatewayError::Call {
                        tool: tool.to_string(),
                        message: format!(
                            "server {} keeps dying; not restarting it again",
                            tool.server()
                        ),
                        stderr: server.stderr(),
                    });
                }
                tracing::warn!(server = %tool.server(), "restarting MCP server");
                *conn = Some(server.start().await?);
            }
            match conn.as_ref() {
                Some(c) => c.peer().clone(),
                None => return Err(GatewayError::UnknownServer(tool.server().to_owned())),
            }
        };
        let mut arguments = args.as_object().cloned().unwrap_or_default();
        if self.routed {
            arguments.remove(TARGET_ARG);
        }
        let mut params =
            CallToolRequestParams::new(tool.tool().to_owned()).with_arguments(arguments);
        // The tool call's span, for the server's own traces (MCP SEP-414; over HTTP also as
        // the `traceparent` header).
        if let Some(tp) = traced_http::current() {
            params.set_traceparent(&tp);
        }
        match tokio::time::timeout(timeout, peer.call_tool(params)).await {
            Ok(Ok(r)) => Ok(ToolOutput::from(r)),
            Ok(Err(e)) => Err(GatewayError::Call {
                tool: tool.to_string(),
                message: e.to_string(),
                stderr: server.stderr(),
            }),
            Err(_) => Err(GatewayError::Timeout {
                tool: tool.to_string(),
                seconds: timeout.as_secs(),
            }),
        }
    }

    /// Stops every server.
    pub async fn shutdown(self) {
        for (_, server) in self.servers {
            if let Some(c) = server.conn.lock().await.take() {
                let _ = c.cancel().await;
            }
        }
    }
}
