//! Serving an MCP server over stdio (the default) or streamable HTTP at `/mcp`.

use axum::serve::ListenerExt;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use rmcp::ServerHandler;
use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

/// Where a server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// JSON-RPC over stdin/stdout; logs go to stderr.
    Stdio,
    /// Streamable HTTP at `http://ADDR/mcp`.
    Http(SocketAddr),
}

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("HTTP server failed: {0}")]
    Http(#[source] std::io::Error),
    #[error("MCP session failed to start: {0}")]
    Start(String),
    #[error("MCP session ended with an error: {0}")]
    Session(String),
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Serves the handlers `factory` makes until the client goes away (stdio) or a shutdown
/// signal arrives. Over HTTP the bound address is logged as `listening on http://ADDR/mcp`.
pub async fn serve<S, F>(name: &str, factory: F, transport: Transport) -> Result<(), ServeError>
where
    S: ServerHandler + Send + 'static,
    F: Fn() -> S + Send + Sync + 'static,
{
    match transport {
        Transport::Stdio => {
            tracing::info!("{name} serving MCP on stdio");
            let running = factory()
                .serve(rmcp::transport::stdio())
                .await
                .map_err(|e| ServeError::Start(e.to_string()))?;
            tokio::select! {
                r = running.waiting() => r.map(|_| ()).map_err(|e| ServeError::Session(e.to_string())),
                () = shutdown_signal() => Ok(()),
            }
        }
        Transport::Http(addr) => {
            let config = StreamableHttpServerConfig::default();
            let cancel = config.cancellation_token.clone();
            let service = StreamableHttpService::new(
                move || Ok(factory()),
                Arc::new(LocalSessionManager::default()),
                config,
            );
            let app = axum::Router::new().nest_service("/mcp", service);
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::Bind { addr, source })?;
            let local = listener.local_addr().map_err(ServeError::Http)?;
            tracing::info!("{name} listening on http://{local}/mcp");
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    shutdown_signal().await;
                    cancel.cancel();
                })
                .await
                .map_err(ServeError::Http)
        }
    }
}

/// The serving half of every server's `main`: serves `tools` until the client goes away or
/// a signal arrives. Exit code 0, or 1 with the reason logged on stderr.
pub async fn serve_main<S>(name: &str, tools: S, transport: Transport) -> ExitCode
where
    S: ServerHandler + Clone + Send + Sync + 'static,
{
    match serve(name, move || tools.clone(), transport).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(1)
        }
    }
}
