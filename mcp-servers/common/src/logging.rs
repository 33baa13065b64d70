//! Logs go to stderr: stdout belongs to the MCP protocol on stdio. One line per event, as
//! text (the default) or as one JSON object (`SOPILOT_LOG_FORMAT=json`, or `sopilot
//! --log-format json`) for log pipelines.

use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

/// What is logged when `RUST_LOG` is not set: SOPilot's own crates (`sopilot*`, `mcp_*`) at
/// `info`, dependencies (rmcp's peer info, hyper, the AWS SDK...) only at `warn`.
pub const DEFAULT_FILTER: &str = "warn,sopilot=info,mcp_=info";

/// The variable that picks the log format (`text` or `json`); the MCP servers SOPilot
/// starts inherit it.
pub const LOG_FORMAT_ENV: &str = "SOPILOT_LOG_FORMAT";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `2026-01-01T00:00:00Z  INFO target: message`, as people read it.
    #[default]
    Text,
    /// One JSON object per line with `timestamp`, `level`, `target`, `message` and the
    /// event's fields.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" | "" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format {other:?}: use text or json")),
        }
    }
}

impl LogFormat {
    /// The format `SOPILOT_LOG_FORMAT` names; text when it is unset or unknown.
    pub fn from_env() -> LogFormat {
        std::env::var(LOG_FORMAT_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_default()
    }
}

/// The stderr log layer, filtered by `RUST_LOG` (else `default_filter`) on its own, so that
/// other layers (traces) see what they ask for whatever the log level.
pub fn log_layer<S>(format: LogFormat, default_filter: &str) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    match format {
        LogFormat::Text => fmt.with_filter(filter).boxed(),
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .with_filter(filter)
            .boxed(),
    }
}

/// Installs the stderr logger: [`log_layer`] in the format `SOPILOT_LOG_FORMAT` names, with
/// [`DEFAULT_FILTER`]. Safe to call twice (the first logger stays).
pub fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = tracing_subscriber::registry()
        .with(log_layer(LogFormat::from_env(), DEFAULT_FILTER))
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
    fn log_formats_are_named_text_or_json() {
        use super::LogFormat;
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!(" JSON ".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("text".parse::<LogFormat>(), Ok(LogFormat::Text));
        let e = "yaml".parse::<LogFormat>().unwrap_err();
        assert!(e.contains("\"yaml\"") && e.contains("text or json"), "{e}");
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
