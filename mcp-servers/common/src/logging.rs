//! Logs go to stderr: stdout belongs to the MCP protocol on stdio.

/// What is logged when `RUST_LOG` is not set: SOPilot's own crates (`sopilot*`, `mcp_*`) at
/// `info`, dependencies (rmcp's peer info, hyper, the AWS SDK...) only at `warn`.
pub const DEFAULT_FILTER: &str = "warn,sopilot=info,mcp_=info";

/// Installs a stderr logger filtered by `RUST_LOG` (default [`DEFAULT_FILTER`]). Safe to call
/// twice.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tracing::Level;
    use tracing_subscriber::layer::SubscriberExt;

    /// Which of these targets log at `info` under the default filter.
    fn info_enabled(target_events: &[&'static str]) -> Vec<bool> {
        use std::sync::{Arc, Mutex};
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let writer = move || Capture(sink.clone());
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(super::DEFAULT_FILTER))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .with_ansi(false),
            );
        tracing::subscriber::with_default(subscriber, || {
            for t in target_events {
                match *t {
                    "rmcp::service" => {
                        tracing::event!(target: "rmcp::service", Level::INFO, "rmcp::service")
                    }
                    "hyper::client" => {
                        tracing::event!(target: "hyper::client", Level::INFO, "hyper::client")
                    }
                    "sopilot_server::runs" => {
                        tracing::event!(target: "sopilot_server::runs", Level::INFO, "sopilot_server::runs")
                    }
                    "mcp_kubectl::cli" => {
                        tracing::event!(target: "mcp_kubectl::cli", Level::INFO, "mcp_kubectl::cli")
                    }
                    "sopilot" => tracing::event!(target: "sopilot", Level::INFO, "sopilot"),
                    _ => unreachable!(),
                }
            }
        });
        let text = String::from_utf8(seen.lock().unwrap().clone()).unwrap();
        target_events
            .iter()
            .map(|t| text.contains(&format!(": {t}")))
            .collect()
    }

    struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn dependencies_are_quiet_and_sopilot_is_not() {
        let targets = [
            "rmcp::service",
            "hyper::client",
            "sopilot_server::runs",
            "mcp_kubectl::cli",
            "sopilot",
        ];
        assert_eq!(info_enabled(&targets), vec![false, false, true, true, true]);
    }
}
