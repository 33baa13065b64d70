//! Amazon Bedrock Converse as a SOPilot [`ModelClient`].
//!
//! `bedrock:<model-id>` (a model id such as `anthropic.claude-3-5-sonnet-20241022-v2:0`, an
//! inference profile such as `us.anthropic.claude-sonnet-4-20250514-v1:0`, or an ARN).
//! Region and credentials come from the standard AWS chain (environment, profile, SSO, web
//! identity, instance and container roles; `AWS_BEARER_TOKEN_BEDROCK` for Bedrock API keys);
//! `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` or `AWS_ENDPOINT_URL` points it elsewhere (a proxy, or
//! a fake in tests).
//!
//! Retries are the SDK's standard strategy: throttling (`ThrottlingException`, any HTTP 429),
//! `ModelNotReadyException`, 5xx and transient I/O errors are retried with exponential
//! backoff and jitter, up to [`BedrockOptions::max_attempts`] tries; a server-sent
//! `x-amz-retry-after` (milliseconds, Bedrock's) or `Retry-After` (seconds, a proxy's) sets
//! the delay. Every turn has connect, read and whole-operation timeouts.
//!
//! This crate is apart from `sopilot-llm` so that only the binary, not every crate that
//! speaks to a model, compiles the Bedrock SDK.

mod convert;
mod error;
mod retry;
mod schema;

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::timeout::TimeoutConfig;
use sopilot_llm::{LlmError, ModelClient, ModelRequest, ModelResponse};

pub use error::BedrockError;
pub use schema::bedrock_schema;

/// How long resolving the region (environment, profile, instance metadata) may take.
const LOAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Retries and timeouts of a [`BedrockClient`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BedrockOptions {
    /// One turn, retries and backoff included; also the longest a single attempt may take
    /// (Converse answers only once the model has written its whole turn).
    pub timeout: Duration,
    /// Establishing the connection.
    pub connect_timeout: Duration,
    /// Tries per turn, the first included.
    pub max_attempts: u32,
    /// Backoff before the first retry; it doubles (with jitter) on each further one.
    pub initial_backoff: Duration,
    /// The longest backoff between two tries.
    pub max_backoff: Duration,
}

impl BedrockOptions {
    /// Four tries, backoff from 1 s up to 20 s, 5 s to connect, `timeout` per turn.
    pub fn new(timeout: Duration) -> Self {
        BedrockOptions {
            timeout,
            connect_timeout: Duration::from_secs(5),
            max_attempts: 4,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
        }
    }
}

/// A client of one Bedrock model through the Converse API.
#[derive(Debug, Clone)]
pub struct BedrockClient {
    client: aws_sdk_bedrockruntime::Client,
    model_id: String,
    /// For error messages; the SDK config's region is what the client uses.
    region: String,
    options: BedrockOptions,
}

impl BedrockClient {
    /// A client configured from the environment: the standard region and credential chain,
    /// `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` / `AWS_ENDPOINT_URL`. Fails when no region is set.
    pub async fn from_env(model_id: &str, options: BedrockOptions) -> Result<Self, BedrockError> {
        let loader = aws_config::defaults(BehaviorVersion::latest());
        let config = tokio::time::timeout(LOAD_TIMEOUT, loader.load())
            .await
            .map_err(|_| {
                BedrockError::Config(format!(
                    "resolving the AWS configuration took longer than {} s",
                    LOAD_TIMEOUT.as_secs()
                ))
            })?;
        if config.region().is_none() {
            return Err(BedrockError::Config(
                "no AWS region: set AWS_REGION (e.g. AWS_REGION=us-east-1), or `region` in the profile of ~/.aws/config".into(),
            ));
        }
        Ok(Self::from_sdk_config(model_id, &config, options))
    }

    /// A client from an existing AWS configuration (its region, credentials and endpoint),
    /// with this client's own retries and timeouts.
    pub fn from_sdk_config(model_id: &str, config: &SdkConfig, options: BedrockOptions) -> Self {
        let conf = aws_sdk_bedrockruntime::config::Builder::from(config)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(options.max_attempts.max(1))
                    .with_initial_backoff(options.initial_backoff)
                    .with_max_backoff(options.max_backoff),
            )
            .retry_classifier(retry::HttpRetries)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(options.connect_timeout)
                    .read_timeout(options.timeout)
                    .operation_attempt_timeout(options.timeout)
                    .operation_timeout(options.timeout)
                    .build(),
            )
            .build();
        BedrockClient {
            client: aws_sdk_bedrockruntime::Client::from_conf(conf),
            model_id: model_id.to_owned(),
            region: config
                .region()
                .map_or_else(|| "no region".to_owned(), ToString::to_string),
            options,
        }
    }

    /// The model id or inference profile this client calls.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// One Converse turn, with Bedrock's own error classification.
    pub async fn converse(&self, request: &ModelRequest) -> Result<ModelResponse, BedrockError> {
        let parts = convert::request(request)?;
        let out = self
            .client
            .converse()
            .model_id(&self.model_id)
            .set_system(Some(parts.system).filter(|s| !s.is_empty()))
            .set_messages(Some(parts.messages))
            .set_tool_config(parts.tool_config)
            .inference_config(parts.inference)
            .send()
            .await
            .map_err(|e| {
                BedrockError::from_sdk(
                    e,
                    &error::Call {
                        model_id: &self.model_id,
                        region: &self.region,
                        attempts: self.options.max_attempts.max(1),
                        timeout: self.options.timeout,
                    },
                )
            })?;
        convert::response(&out)
    }
}

#[async_trait::async_trait]
impl ModelClient for BedrockClient {
    async fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, LlmError> {
        Ok(self.converse(request).await?)
    }

    /// `bedrock:<model-id>`: the key price tables match (`bedrock:anthropic.` covers every
    /// Anthropic model on Bedrock).
    fn name(&self) -> String {
        format!("bedrock:{}", self.model_id)
    }
}
