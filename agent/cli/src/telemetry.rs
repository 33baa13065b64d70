//! Logs and traces of the `sopilot` process.
//!
//! Logs: the stderr layer of `sopilot-mcp-common` (text, or JSON with `--log-format json`).
//! Traces: when the standard OpenTelemetry variables ask for them, the runtime's spans
//! (`sopilot.run` → `sopilot.phase` → `sopilot.model_turn`, `sopilot.tool_call` →
//! `sopilot.approval_wait`; `sopilot.trigger` above runs under `sopilot serve`) are exported
//! over OTLP/HTTP (protobuf) in batches, and the gateway passes each tool call's W3C
//! `traceparent` to the MCP servers. Without those variables no exporter is built: no
//! thread, no network, nothing recorded.
//!
//! Variables read: `OTEL_SDK_DISABLED=true` and `OTEL_TRACES_EXPORTER=none` turn traces off;
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the full URL) or `OTEL_EXPORTER_OTLP_ENDPOINT` (the
//! base URL, `/v1/traces` appended) turn them on, as does `OTEL_TRACES_EXPORTER=otlp` alone
//! (then `http://localhost:4318`); `OTEL_EXPORTER_OTLP_HEADERS`,
//! `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_SERVICE_NAME` (default `sopilot`),
//! `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_BSP_*` as the OpenTelemetry SDK defines them. Only
//! HTTP/protobuf is built in (no gRPC: it would add tonic and a second HTTP/2 stack).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, RetryPolicy, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use sopilot_mcp_common::{LogFormat, log_layer};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// What kind of process logs and traces: a server (`serve`, `mcp`) that runs for days, or a
/// command that ends with its run (`demo`, `run`, `rehearse`, `eval`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    Server,
    Command,
}

impl Process {
    /// The log filter without `RUST_LOG`: a server says what it does, a command only what
    /// goes wrong.
    fn default_filter(self) -> &'static str {
        match self {
            Process::Server => sopilot_mcp_common::DEFAULT_FILTER,
            Process::Command => "warn",
        }
    }

    /// How long one export may take unless `OTEL_EXPORTER_OTLP[_TRACES]_TIMEOUT` says, and
    /// whether a failed one is retried: a server exports in the background and retries as
    /// OpenTelemetry recommends; a command's last export happens at its exit, so it is tried
    /// once, briefly.
    fn export(self) -> (Duration, RetryPolicy) {
        match self {
            Process::Server => (Duration::from_secs(10), RetryPolicy::recommended()),
            Process::Command => (Duration::from_secs(2), RetryPolicy::disabled()),
        }
    }

    /// How long the exit waits for the last spans to be sent.
    fn shutdown_timeout(self) -> Duration {
        match self {
            Process::Server => Duration::from_secs(5),
            Process::Command => Duration::from_secs(2),
        }
    }
}

/// The installed telemetry; [`Telemetry::shutdown`] sends what is left.
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<(SdkTracerProvider, Duration)>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The collector's traces URL, or `None` when the variables do not ask for traces;
/// `warnings` gets what is ignored.
fn traces_endpoint(warnings: &mut Vec<String>) -> Option<String> {
    if env("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return None;
    }
    let exporter = env("OTEL_TRACES_EXPORTER").map(|v| v.trim().to_ascii_lowercase());
    match exporter.as_deref() {
        None | Some("otlp") => {}
        Some("none") => return None,
        Some(other) => {
            warnings.push(format!(
                "OTEL_TRACES_EXPORTER={other} is not supported (only otlp or none); traces are off"
            ));
            return None;
        }
    }
    if let Some(url) = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        return Some(url);
    }
    let base = env("OTEL_EXPORTER_OTLP_ENDPOINT").or_else(|| {
        exporter
            .is_some()
            .then(|| "http://localhost:4318".to_owned())
    })?;
    Some(format!("{}/v1/traces", base.trim_end_matches('/')))
}

/// Installs the stderr logger (`format`; `RUST_LOG`, else the process's default filter)
/// and, when the OpenTelemetry variables ask for it, the trace exporter. Safe to call twice
/// (the first installation stays).
pub fn init(format: LogFormat, process: Process) -> Telemetry {
    let mut warnings = Vec::new();
    let provider = traces_endpoint(&mut warnings).and_then(|url| {
        match provider(&url, process, &mut warnings) {
            Ok(p) => Some(p),
            Err(e) => {
                let shown = sopilot_mcp_common::redact(&url);
                warnings.push(format!("traces are off: cannot export to {shown}: {e}"));
                None
            }
        }
    });
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("sopilot"))
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_filter(tracing_subscriber::filter::filter_fn(|m| {
                m.is_span() && m.name().starts_with("sopilot.")
            }))
    });
    let installed = tracing_subscriber::registry()
        .with(log_layer(format, process.default_filter()))
        .with(otel)
        .try_init()
        .is_ok();
    for w in warnings {
        tracing::warn!("{w}");
    }
    if installed && provider.is_some() {
        sopilot_runtime::set_traceparent_source(current_traceparent);
    }
    Telemetry {
        provider: provider.map(|p| (p, process.shutdown_timeout())),
    }
}

impl Telemetry {
    /// Sends the spans not yet exported (waiting a few seconds at most) and stops the
    /// exporter. Every command's exit goes through here.
    pub fn shutdown(self) {
        if let Some((p, timeout)) = self.provider
            && let Err(e) = p.shutdown_with_timeout(timeout)
        {
            tracing::warn!("the last traces may not have been sent: {e}");
        }
    }
}

/// The tracer provider: OTLP over HTTP/protobuf to `url`, batched.
fn provider(
    url: &str,
    process: Process,
    warnings: &mut Vec<String>,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    if let Some(p) =
        env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"))
        && p.trim() != "http/protobuf"
    {
        warnings.push(format!(
            "OTLP protocol {p} is not built in; sending http/protobuf to {url}"
        ));
    }
    let (timeout, retry) = process.export();
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_retry_policy(retry);
    if env("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT").is_none()
        && env("OTEL_EXPORTER_OTLP_TIMEOUT").is_none()
    {
        builder = builder.with_timeout(timeout);
    }
    let exporter = Warned {
        inner: builder.build()?,
        url: url.to_owned(),
        warned: AtomicBool::new(false),
    };
    let mut resource = opentelemetry_sdk::Resource::builder();
    let named = env("OTEL_SERVICE_NAME").is_some()
        || env("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|a| a.contains("service.name="));
    if !named {
        resource = resource.with_service_name("sopilot");
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}

/// The current span's W3C `traceparent`, when it is traced.
fn current_traceparent() -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        )
    })
}

/// The OTLP exporter, saying once (a warning) that the collector cannot be reached: a run
/// never fails nor waits because of its traces.
#[derive(Debug)]
struct Warned<E> {
    inner: E,
    url: String,
    warned: AtomicBool,
}

impl<E: SpanExporter> SpanExporter for Warned<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let result = self.inner.export(batch).await;
        if let Err(e) = &result
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                "traces are not reaching the OTLP collector at {}: {e}; runs go on, their spans are dropped (check OTEL_EXPORTER_OTLP_ENDPOINT)",
                sopilot_mcp_common::redact(&self.url)
            );
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn traceparent_is_w3c_shaped_only_inside_a_traced_span() {
        // No exporter: spans still get their ids.
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("t")));
        tracing::subscriber::with_default(subscriber, || {
            assert_eq!(current_traceparent(), None);
            let span = tracing::info_span!("sopilot.tool_call");
            let _in = span.enter();
            let tp = current_traceparent().unwrap();
            let parts: Vec<&str> = tp.split('-').collect();
            assert_eq!(parts.len(), 4, "{tp}");
            assert_eq!(
                (parts[0], parts[1].len(), parts[2].len(), parts[3]),
                ("00", 32, 16, "01"),
                "{tp}"
            );
            assert!(
                tp[3..].chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
                "{tp}"
            );
        });
    }
}
