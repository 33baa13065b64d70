//! An MCP server binary spawned for a test: over stdio with an rmcp client connected to it,
//! or over streamable HTTP on a free loopback port; and its tools called with a timeout.

use std::ops::Deref;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{QuitReason, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

/// How long one tool call may take before the test fails.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long an HTTP server may take to log the address it listens on.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(30);

/// A server binary, its arguments and its environment (on top of the test's own, minus the
/// variables removed).
#[derive(Debug, Clone)]
pub struct Server {
    bin: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    env_remove: Vec<String>,
    keep_stderr: bool,
}

impl Server {
    /// The binary at `bin` (in a server's tests, `env!("CARGO_BIN_EXE_mcp-NAME")`).
    pub fn new(bin: impl Into<PathBuf>) -> Self {
        Server {
            bin: bin.into(),
            args: Vec::new(),
            env: Vec::new(),
            env_remove: Vec::new(),
            keep_stderr: false,
        }
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable (later settings of a name win).
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Sets environment variables.
    pub fn envs<I, K, V>(self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        vars.into_iter().fold(self, |s, (k, v)| s.env(k, v))
    }

    /// Removes a variable of the test's environment from the server's.
    pub fn env_remove(mut self, name: impl Into<String>) -> Self {
        self.env_remove.push(name.into());
        self
    }

    /// Keeps the stdio server's stderr for [`Client::log`] instead of passing it through.
    pub fn keep_stderr(mut self) -> Self {
        self.keep_stderr = true;
        self
    }

    /// The binary's path.
    pub fn bin(&self) -> &std::path::Path {
        &self.bin
    }

    /// The arguments given.
    pub fn arguments(&self) -> &[String] {
        &self.args
    }

    /// The variables set, in order.
    pub fn vars(&self) -> &[(String, String)] {
        &self.env
    }

    /// The command, with its arguments and environment, before `extra` arguments.
    fn command(&self, extra: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.args(extra).args(&self.args);
        for name in &self.env_remove {
            cmd.env_remove(name);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Starts the server over stdio and connects a client to it.
    pub async fn stdio(&self) -> Client {
        let cmd = self.command(&[]);
        let log = Arc::new(Mutex::new(String::new()));
        let transport = if self.keep_stderr {
            let (transport, stderr) = TokioChildProcess::builder(cmd)
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
            if let Some(stderr) = stderr {
                tokio::spawn(collect(stderr, log.clone()));
            }
            transport
        } else {
            TokioChildProcess::new(cmd)
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()))
        };
        let service = ().serve(transport).await.unwrap();
        Client {
            service,
            seen: Mutex::new(Vec::new()),
            log,
        }
    }

    /// Starts the server with `--http 127.0.0.1:0` (logging at info) and waits for the
    /// address it logs; its stderr keeps being drained so it never blocks.
    pub async fn http(&self) -> HttpServer {
        let mut child = self
            .command(&["--http", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut startup_log = Vec::new();
        let url = tokio::time::timeout(LISTEN_TIMEOUT, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                let url = line
                    .find("http://")
                    .filter(|_| line.contains("/mcp"))
                    .map(|i| line[i..].trim().to_owned());
                startup_log.push(line);
                if let Some(url) = url {
                    return url;
                }
            }
            panic!("no listening line in {startup_log:?}")
        })
        .await
        .expect("the server did not log its address in time");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        HttpServer {
            child,
            url,
            startup_log,
        }
    }
}

/// Appends every line of `stderr` to `log`.
async fn collect(stderr: tokio::process::ChildStderr, log: Arc<Mutex<String>>) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut l = log.lock().unwrap();
        l.push_str(&line);
        l.push('\n');
    }
}

/// A server serving streamable HTTP, killed when dropped.
#[derive(Debug)]
pub struct HttpServer {
    pub child: tokio::process::Child,
    /// `http://127.0.0.1:PORT/mcp`.
    pub url: String,
    /// What it logged up to and including the listening line.
    pub startup_log: Vec<String>,
}

/// What a tool call returned.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The text blocks, joined by newlines.
    pub text: String,
    /// The structured content, `null` when there is none.
    pub structured: Value,
    pub is_error: bool,
}

impl Reply {
    /// Everything a client receives: the text and the structured content.
    pub fn everything(&self) -> String {
        format!("{}\n{}", self.text, self.structured)
    }

    /// The reply of an MCP tool result.
    pub fn from_result(r: CallToolResult) -> Self {
        let text = r
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect::<Vec<_>>()
            .join("\n");
        Reply {
            text,
            structured: r.structured_content.unwrap_or(Value::Null),
            is_error: r.is_error == Some(true),
        }
    }
}

/// An MCP client connected to a stdio server; dereferences to the rmcp service for
/// everything else (`list_all_tools`, `call_tool`).
#[derive(Debug)]
pub struct Client {
    service: RunningService<RoleClient, ()>,
    /// Every tool result's text and structured content, for leak checks.
    pub seen: Mutex<Vec<String>>,
    log: Arc<Mutex<String>>,
}

impl Deref for Client {
    type Target = RunningService<RoleClient, ()>;

    fn deref(&self) -> &Self::Target {
        &self.service
    }
}

impl Client {
    /// Calls a tool; panics only on protocol failures and timeouts, not on tool errors.
    pub async fn call(&self, name: &str, args: Value) -> Reply {
        let params = CallToolRequestParams::new(name.to_owned())
            .with_arguments(args.as_object().cloned().unwrap_or_default());
        let r = tokio::time::timeout(CALL_TIMEOUT, self.service.call_tool(params))
            .await
            .expect("tool call timed out")
            .unwrap_or_else(|e| panic!("{name}: protocol error {e}"));
        let reply = Reply::from_result(r);
        self.seen.lock().unwrap().push(reply.everything());
        reply
    }

    /// Calls a tool that must succeed.
    pub async fn ok(&self, name: &str, args: Value) -> Reply {
        let r = self.call(name, args).await;
        assert!(!r.is_error, "{name} failed: {}", r.text);
        r
    }

    /// Calls a tool that must fail, returning its message.
    pub async fn fails(&self, name: &str, args: Value) -> String {
        let r = self.call(name, args).await;
        assert!(r.is_error, "{name} should fail: {}", r.text);
        r.text
    }

    /// The server's stderr so far ([`Server::keep_stderr`]; empty otherwise).
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Ends the session.
    pub async fn cancel(self) -> Result<QuitReason, tokio::task::JoinError> {
        self.service.cancel().await
    }
}
