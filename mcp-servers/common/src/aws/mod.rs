//! The AWS configuration every client shares: the standard credential chain and region,
//! `AWS_ENDPOINT_URL`, retries with backoff for throttling and 5xx, and timeouts, with an
//! assumed role over them when `SOPILOT_AWS_ROLE_ARN` is set ([`AssumeRole`]); the `main` of an
//! AWS-backed server; and the one classifier of AWS SDK failures ([`AwsFailure`]).

mod assume;
mod failure;

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

pub use assume::{AssumeRole, EXTERNAL_ID_VAR, ROLE_ARN_VAR, SESSION_NAME};
pub use aws_config::SdkConfig;
pub use failure::AwsFailure;

/// How long resolving the region (environment, profile, instance metadata) may take.
const LOAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Why no AWS configuration could be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no AWS region configured: set AWS_REGION (e.g. AWS_REGION=us-east-1), or `region` in the profile of ~/.aws/config"
    )]
    NoRegion,
    #[error("resolving the AWS configuration took longer than {} s", LOAD_TIMEOUT.as_secs())]
    Timeout,
    #[error(
        "SOPILOT_AWS_ROLE_ARN={value:?} is not a role ARN: expected arn:aws:iam::<12-digit account>:role/<name>, e.g. arn:aws:iam::123456789012:role/sopilot-reader (or unset it to use the standard credentials)"
    )]
    RoleArn { value: String },
}

/// Loads the configuration: region and credentials from the standard chain, endpoint from
/// `AWS_ENDPOINT_URL` when set, `max_attempts` tries per call (throttling and 5xx are
/// retried with exponential backoff) and per-attempt and per-call timeouts. With
/// `SOPILOT_AWS_ROLE_ARN` set, the credentials are that role's, assumed over the chain's
/// (lazily: the first call assumes it).
pub async fn load(max_attempts: u32) -> Result<aws_config::SdkConfig, ConfigError> {
    let role = AssumeRole::from_env()?;
    finish(defaults(max_attempts), role).await
}

/// [`load`] for settings other than this process's: `var` names the region (`AWS_REGION`),
/// profile (`AWS_PROFILE`), endpoint (`AWS_ENDPOINT_URL`) and role (`SOPILOT_AWS_ROLE_ARN`,
/// `SOPILOT_AWS_EXTERNAL_ID`) of one target, as its servers' environment would; what it
/// does not name comes from the standard chain. `sopilot serve` reaches a target's EKS
/// cluster with it.
pub async fn load_for(
    max_attempts: u32,
    var: impl Fn(&str) -> Option<String>,
) -> Result<aws_config::SdkConfig, ConfigError> {
    let role = AssumeRole::from_vars(&var)?;
    let given = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let mut loader = defaults(max_attempts);
    if let Some(region) = given("AWS_REGION") {
        loader = loader.region(aws_config::Region::new(region));
    }
    if let Some(profile) = given("AWS_PROFILE") {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = given("AWS_ENDPOINT_URL") {
        loader = loader.endpoint_url(endpoint);
    }
    finish(loader, role).await
}

/// The loader with retries and timeouts.
fn defaults(max_attempts: u32) -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(max_attempts.max(1))
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(5)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .read_timeout(Duration::from_secs(20))
                .operation_attempt_timeout(Duration::from_secs(25))
                .operation_timeout(Duration::from_secs(60))
                .build(),
        )
}

/// Loads `loader`'s configuration (bounded), checks it has a region, and assumes `role`.
async fn finish(
    loader: aws_config::ConfigLoader,
    role: Option<AssumeRole>,
) -> Result<aws_config::SdkConfig, ConfigError> {
    let config = tokio::time::timeout(LOAD_TIMEOUT, loader.load())
        .await
        .map_err(|_| ConfigError::Timeout)?;
    if config.region().is_none() {
        return Err(ConfigError::NoRegion);
    }
    match role {
        Some(role) => {
            tracing::info!(role = %role.role_arn, "credentials: assuming the role of SOPILOT_AWS_ROLE_ARN");
            Ok(role.apply(config).await)
        }
        None => Ok(config),
    }
}

/// Loads the AWS configuration, builds the tools and serves them: the whole `main` of an
/// AWS-backed server (`mcp-cloudwatch`, `mcp-cost`). Exit code 1 on a missing region or a
/// serving error, with the reason on stderr.
pub async fn run_server<S, B>(
    name: &'static str,
    max_attempts: u32,
    transport: crate::Transport,
    build: B,
) -> std::process::ExitCode
where
    S: rmcp::ServerHandler + Clone + Send + Sync + 'static,
    B: FnOnce(&aws_config::SdkConfig) -> S,
{
    crate::init_logging();
    let config = match load(max_attempts).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return std::process::ExitCode::from(1);
        }
    };
    crate::serve_main(name, build(&config), transport).await
}
