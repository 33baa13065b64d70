//! Why a tool or the server could not do what was asked, in words that say what to change.

use std::time::Duration;

use sopilot_mcp_common::Failure;

/// A failure of `mcp-jira`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JiraError {
    /// The configuration (environment or flags) is unusable.
    #[error("{0}")]
    Config(String),
    /// An argument names a project outside the allow-list (nothing was sent to Jira).
    #[error(
        "{what} is outside this server's projects ({allowed}): nothing was sent to Jira; use an issue or a project of {allowed}"
    )]
    OutOfScope { what: String, allowed: String },
    /// An argument is malformed (nothing was sent to Jira).
    #[error("{0}")]
    BadArgument(String),
    /// Jira answered with an error status.
    #[error("Jira refused to {what} (HTTP {status}): {message}{fix}")]
    Jira {
        what: String,
        status: u16,
        message: String,
        fix: &'static str,
    },
    #[error(
        "Jira at {url} did not answer within {seconds} s while trying to {what}; try again, or check JIRA_URL"
    )]
    Timeout {
        url: String,
        what: String,
        seconds: u64,
    },
    #[error("cannot reach Jira at {url} to {what}: {message}; check JIRA_URL and the network")]
    Unreachable {
        url: String,
        what: String,
        message: String,
    },
    #[error("{0}")]
    Deadline(String),
}

impl Failure for JiraError {
    fn timed_out(limit: Duration) -> Self {
        JiraError::Deadline(format!(
            "the tool did not finish within {} s; Jira is slow: try again, or search with a narrower JQL and a smaller max_results",
            limit.as_secs()
        ))
    }
}

/// What to do about an HTTP status from Jira.
pub(crate) fn fix_for(status: u16) -> &'static str {
    match status {
        401 => {
            " (check JIRA_EMAIL and JIRA_API_TOKEN for Jira Cloud, or JIRA_PAT for Data Center, in mcp-jira's environment)"
        }
        403 => {
            " (the Jira account lacks this permission in the project; ask a Jira admin, or leave the change to a person)"
        }
        404 => " (no such issue, or the Jira account may not see it; check the key with search)",
        429 => " (Jira is rate limiting; wait a minute and try again)",
        _ => "",
    }
}

/// Result of a tool body.
pub type JiraResult<T> = Result<T, JiraError>;
