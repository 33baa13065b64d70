//! An independent MCP client, the official Python SDK (`pip install mcp`), driving a server
//! through `tests/python/mcp_client_check.py`: initialize, list tools, call each tool given.

use std::time::Duration;

use serde_json::Value;

use crate::{Server, repo};

/// How long the Python client may take, server start included.
const PYTHON_TIMEOUT: Duration = Duration::from_secs(90);

/// How the Python client reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The SDK starts the server itself and speaks JSON-RPC over its stdin and stdout.
    Stdio,
    /// The server is started with `--http 127.0.0.1:0` and the SDK connects to its URL.
    StreamableHttp,
}

/// What the Python client printed.
#[derive(Debug, Clone)]
pub struct PythonReport {
    /// `{"server", "protocol", "tools": [names], "calls": [{"name", "is_error", "text",
    /// "structured"}]}`, one call per tool call given, in order.
    pub report: Value,
    /// The client's stderr (the server's too over stdio).
    pub stderr: String,
}

/// Runs the Python MCP client against `server` via stdio or streamable HTTP, calling each
/// `(tool, arguments)` of `calls` in order; panics when the client fails.
pub async fn python_client(server: &Server, via: Via, calls: &[(&str, Value)]) -> PythonReport {
    let mut args: Vec<String> = Vec::new();
    // Over HTTP, the server lives until the client is done.
    let _http = match via {
        Via::Stdio => {
            // The SDK starts servers with a minimal environment, so ours goes through env(1).
            args.extend(["--stdio".to_owned(), "env".to_owned()]);
            args.extend(server.vars().iter().map(|(k, v)| format!("{k}={v}")));
            args.push(server.bin().display().to_string());
            args.extend(server.arguments().iter().cloned());
            None
        }
        Via::StreamableHttp => {
            let http = server.http().await;
            args.extend(["--http".to_owned(), http.url.clone()]);
            Some(http)
        }
    };
    for (name, arguments) in calls {
        args.extend([
            "--call".to_owned(),
            (*name).to_owned(),
            arguments.to_string(),
        ]);
    }
    run(&args).await
}

/// Runs the client script with `args`; its stdout is the JSON report.
async fn run(args: &[String]) -> PythonReport {
    let script = repo().join("tests/python/mcp_client_check.py");
    let out = tokio::time::timeout(
        PYTHON_TIMEOUT,
        tokio::process::Command::new("python3")
            .arg(script)
            .args(args)
            .output(),
    )
    .await
    .expect("python client timed out")
    .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "python MCP client failed (is `pip install mcp` done? scripts/test does it):\n{stderr}"
    );
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    PythonReport { report, stderr }
}
