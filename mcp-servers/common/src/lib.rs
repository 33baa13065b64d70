//! Plumbing every SOPilot MCP server shares: the command line (`cli`, feature `cli`), serving
//! over stdio or streamable HTTP, running tool bodies ([`run`]: a deadline, failures turned
//! into tool errors the model can act on, and one redaction pass over every result), shaping
//! outputs for a reader and a model (tables, byte caps with an explicit truncation marker),
//! and, with feature `aws`, the AWS configuration and SDK error classifier.

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "cli")]
pub mod cli;
mod logging;
mod result;
mod serve;
mod shape;
mod tool;

pub use logging::{DEFAULT_FILTER, LOG_FORMAT_ENV, LogFormat, init_logging, log_layer};
pub use result::{ok, ok_json, tool_error};
pub use serve::{ServeError, Transport, serve, serve_main};
pub use tool::{Failure, redacted, run};
// Redaction lives in `sopilot-redact`, shared with the agent; re-exported for the servers.
pub use shape::{Capped, Table, age, cap, cap_tail};
pub use sopilot_redact::{MASK, contains_credential, redact, redact_json};

#[cfg(test)]
mod tests {
    use super::*;

    /// The servers get the shared, structure-aware redactor (an env entry's value is keyed by
    /// its name, which the line-by-line redactor this replaced could not see).
    #[test]
    fn redaction_is_the_shared_one() {
        let mut v = serde_json::json!({"env": [{"name": "DB_PASSWORD", "value": "hunter2"}]});
        redact_json(&mut v);
        assert_eq!(v["env"][0]["value"], MASK);
        assert_eq!(
            redact("postgres://app:s3cr3t@db:5432/pay"),
            "postgres://app:[REDACTED]@db:5432/pay"
        );
        assert!(contains_credential("token=abc123") && !contains_credential("LOG_LEVEL=debug"));
    }
}
