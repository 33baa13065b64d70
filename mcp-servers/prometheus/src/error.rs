//! Failures, as messages a model (and an SRE) can act on: each names the query or endpoint
//! and says what to change.

use std::time::Duration;

use sopilot_mcp_common::Failure;

/// Why a tool could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ToolFailure {
    /// The arguments are wrong; the message says how to fix them.
    #[error("{0}")]
    BadArgument(String),
    /// Prometheus refused the PromQL (parse or type error).
    #[error(
        "Prometheus refused the PromQL `{query}`: {message}. Fix the expression (check brackets, label matchers such as {{job=\"api\"}}, and that range functions like rate() get a range vector such as metric[5m]); series or label_values shows which metrics and labels exist"
    )]
    BadQuery { query: String, message: String },
    /// The query was valid but could not be evaluated (too many samples, timeout in the
    /// engine).
    #[error(
        "Prometheus could not evaluate `{query}`: {message}. Ask for less: a shorter range, a larger step, fewer series (add label matchers, or aggregate with sum by (...))"
    )]
    Execution { query: String, message: String },
    /// Prometheus answered with an error that is not about the query.
    #[error("Prometheus answered {status} for {what}: {message}")]
    Api {
        what: String,
        status: u16,
        message: String,
    },
    /// Prometheus refused the credentials.
    #[error("Prometheus at {url} refused the request for {what} ({status}): {message}. {fix}")]
    Auth {
        url: String,
        what: String,
        status: u16,
        message: String,
        fix: &'static str,
    },
    /// Nothing answered at the configured URL.
    #[error(
        "cannot reach Prometheus at {url} for {what}: {message}. Check PROMETHEUS_URL (e.g. http://prometheus.monitoring:9090, or https://aps-workspaces.REGION.amazonaws.com/workspaces/ws-ID for Amazon Managed Prometheus) and that the server is up"
    )]
    Unreachable {
        url: String,
        what: String,
        message: String,
    },
    /// Prometheus did not answer in time.
    #[error(
        "Prometheus at {url} did not answer within {seconds} s for {what}; ask for less (a shorter range, a larger step, label matchers, or aggregate with sum by (...)) and try again"
    )]
    Timeout {
        url: String,
        what: String,
        seconds: u64,
    },
    /// The answer was not the Prometheus HTTP API's JSON.
    #[error(
        "the answer from {url} for {what} is not the Prometheus HTTP API ({message}); PROMETHEUS_URL must point at the server root (the part before /api/v1)"
    )]
    NotPrometheus {
        url: String,
        what: String,
        message: String,
    },
    /// SigV4 credentials could not be loaded or the request could not be signed.
    #[error(
        "cannot sign the request to Amazon Managed Prometheus: {0}. Check the AWS credential chain (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, web identity, instance role) and the region"
    )]
    Signing(String),
    /// The tool took longer than its deadline.
    #[error("{0}")]
    Deadline(String),
}

impl Failure for ToolFailure {
    fn timed_out(limit: Duration) -> Self {
        ToolFailure::Deadline(format!(
            "the tool did not finish within {} s; ask for less (a shorter range, a larger step, label matchers, or aggregate with sum by (...))",
            limit.as_secs()
        ))
    }
}

/// Result of a tool body.
pub type ToolResult<T> = Result<T, ToolFailure>;
