//! The `mcp-prometheus` command line, shared by the `mcp-prometheus` binary and `sopilot
//! mcp-server prometheus`. Secrets (a bearer token, a password) come from the environment
//! only, never from arguments other processes can read.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use sopilot_mcp_common::cli::TransportArgs;

use crate::auth::{self, Auth, SigV4};
use crate::client::Prom;

/// How long resolving the AWS configuration may take (SigV4 only).
const AWS_LOAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How requests are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// sigv4 for an Amazon Managed Prometheus URL, else bearer when a token is set, else
    /// basic when a username is set, else none.
    Auto,
    None,
    Bearer,
    Basic,
    Sigv4,
}

/// Prometheus and Amazon Managed Prometheus for incident response, over MCP. Read-only.
#[derive(Debug, clap::Parser)]
#[command(
    name = "mcp-prometheus",
    version,
    after_help = "\
Examples:
  PROMETHEUS_URL=http://prometheus.monitoring:9090 mcp-prometheus          stdio, for an MCP client config
  PROMETHEUS_URL=https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1234 mcp-prometheus
                                                  Amazon Managed Prometheus, SigV4 with the AWS credential chain
  mcp-prometheus --url http://127.0.0.1:9090 --http 127.0.0.1:8814   streamable HTTP at http://127.0.0.1:8814/mcp

Credentials, from the environment only:
  PROMETHEUS_BEARER_TOKEN (or PROMETHEUS_BEARER_TOKEN_FILE)   bearer auth
  PROMETHEUS_USERNAME and PROMETHEUS_PASSWORD                 basic auth
  the standard AWS chain (AWS_PROFILE, keys, web identity, instance role)   SigV4, service aps
SOPILOT_NOW (RFC 3339) pins the server's now, the default time of every query.
Logs go to stderr (RUST_LOG=debug for more)."
)]
pub struct Cli {
    #[command(flatten)]
    pub transport: TransportArgs,
    /// The server's root URL (the part before /api/v1); for Amazon Managed Prometheus the
    /// workspace URL ending in /workspaces/ws-ID.
    #[arg(long, env = "PROMETHEUS_URL", value_name = "URL")]
    pub url: String,
    /// How requests are authenticated.
    #[arg(long, env = "PROMETHEUS_AUTH", value_enum, default_value = "auto")]
    pub auth: AuthMode,
    /// The region SigV4 signs for; default: the one in an Amazon Managed Prometheus URL,
    /// else the AWS configuration's (AWS_REGION).
    #[arg(long, env = "PROMETHEUS_REGION", value_name = "REGION")]
    pub region: Option<String>,
    /// Seconds one request to Prometheus may take (also PromQL's own timeout).
    #[arg(
        long,
        env = "PROMETHEUS_TIMEOUT_SECONDS",
        default_value_t = 30,
        value_name = "N"
    )]
    pub timeout_seconds: u64,
}

/// The secrets of the environment.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn bearer_token() -> Result<Option<String>, String> {
    if let Some(t) = env("PROMETHEUS_BEARER_TOKEN") {
        return Ok(Some(t.trim().to_owned()));
    }
    match env("PROMETHEUS_BEARER_TOKEN_FILE") {
        None => Ok(None),
        Some(path) => std::fs::read_to_string(&path)
            .map(|t| Some(t.trim().to_owned()))
            .map_err(|e| format!("cannot read PROMETHEUS_BEARER_TOKEN_FILE={path}: {e}")),
    }
}

/// The authentication the flags and environment ask for.
async fn auth(cli: &Cli, url: &reqwest::Url) -> Result<Auth, String> {
    let token = bearer_token()?;
    let user = env("PROMETHEUS_USERNAME");
    let mode = match cli.auth {
        AuthMode::Auto if auth::amp_region(url).is_some() => AuthMode::Sigv4,
        AuthMode::Auto if token.is_some() => AuthMode::Bearer,
        AuthMode::Auto if user.is_some() => AuthMode::Basic,
        AuthMode::Auto => AuthMode::None,
        m => m,
    };
    Ok(match mode {
        AuthMode::None | AuthMode::Auto => Auth::None,
        AuthMode::Bearer => Auth::Bearer(token.ok_or(
            "--auth bearer needs PROMETHEUS_BEARER_TOKEN or PROMETHEUS_BEARER_TOKEN_FILE",
        )?),
        AuthMode::Basic => Auth::Basic {
            username: user
                .ok_or("--auth basic needs PROMETHEUS_USERNAME and PROMETHEUS_PASSWORD")?,
            password: env("PROMETHEUS_PASSWORD").unwrap_or_default(),
        },
        AuthMode::Sigv4 => Auth::SigV4(Arc::new(sigv4(cli, url).await?)),
    })
}

async fn sigv4(cli: &Cli, url: &reqwest::Url) -> Result<SigV4, String> {
    let wanted = cli.region.clone().or_else(|| auth::amp_region(url));
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(r) = &wanted {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    let config = tokio::time::timeout(AWS_LOAD_TIMEOUT, loader.load())
        .await
        .map_err(|_| {
            format!(
                "resolving the AWS configuration took longer than {} s",
                AWS_LOAD_TIMEOUT.as_secs()
            )
        })?;
    let region = config.region().map(ToString::to_string).ok_or(
        "SigV4 needs a region: set PROMETHEUS_REGION (or AWS_REGION), e.g. PROMETHEUS_REGION=us-east-1",
    )?;
    let provider = config
        .credentials_provider()
        .ok_or("no AWS credential chain is configured for SigV4")?;
    Ok(SigV4::new(region, provider))
}

/// The tools for the command line, or why not.
pub async fn build(cli: &Cli) -> Result<crate::PrometheusTools, String> {
    let url = reqwest::Url::parse(cli.url.trim()).map_err(|e| {
        format!(
            "PROMETHEUS_URL {:?} is not a URL ({e}); e.g. http://prometheus.monitoring:9090",
            sopilot_mcp_common::redact(&cli.url)
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "PROMETHEUS_URL {:?} must be http:// or https://",
            sopilot_mcp_common::redact(&cli.url)
        ));
    }
    if cli.timeout_seconds == 0 {
        return Err("--timeout-seconds must be at least 1".into());
    }
    let auth = auth(cli, &url).await?;
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    tracing::info!(url = %shown, auth = auth.mode(), "mcp-prometheus configured");
    let prom = Prom::new(url, auth, Duration::from_secs(cli.timeout_seconds))?;
    Ok(crate::PrometheusTools::new(prom))
}

/// Builds the tools and serves until the client goes away or a signal arrives.
pub async fn run(cli: Cli) -> ExitCode {
    sopilot_mcp_common::init_logging();
    match build(&cli).await {
        Ok(tools) => {
            sopilot_mcp_common::serve_main("mcp-prometheus", tools, cli.transport.transport()).await
        }
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(1)
        }
    }
}
