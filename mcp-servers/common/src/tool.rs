//! Running a tool body: a deadline, failures turned into tool errors the model can read, and
//! the one redaction pass every result leaves through, whichever server and tool built it.

use std::future::Future;
use std::time::Duration;

use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, ContentBlock};

use crate::tool_error;

/// A server's reason a tool could not do what was asked, in words the model can act on.
pub trait Failure: std::fmt::Display + Sized {
    /// The failure of a tool body that did not finish within `limit`, in the server's words
    /// (what was slow, what to ask for instead).
    fn timed_out(limit: Duration) -> Self;

    /// As an MCP tool error: the message is the failure's text.
    fn into_result(self) -> CallToolResult {
        tool_error(self.to_string())
    }
}

/// Runs a tool body with a deadline; a failure or a missed deadline becomes a tool error the
/// model can read. Every result, success or failure, leaves through [`redacted`].
pub async fn run<F: Failure>(
    timeout: Duration,
    body: impl Future<Output = Result<CallToolResult, F>>,
) -> Result<CallToolResult, McpError> {
    Ok(redacted(match tokio::time::timeout(timeout, body).await {
        Ok(Ok(result)) => result,
        Ok(Err(failure)) => failure.into_result(),
        Err(_) => F::timed_out(timeout).into_result(),
    }))
}

/// The one place every tool result is redacted, whichever tool built it: the structured
/// content as JSON (env entries by name, ConfigMap keys, Secret-shaped objects, embedded
/// manifests) and each text block as a whole (a private key spanning lines). Content that is
/// not text is never produced by the servers, and is dropped rather than passed on unread.
pub fn redacted(mut r: CallToolResult) -> CallToolResult {
    if let Some(v) = r.structured_content.as_mut() {
        crate::redact_json(v);
    }
    r.content.retain(|c| matches!(c, ContentBlock::Text(_)));
    for c in &mut r.content {
        if let ContentBlock::Text(t) = c
            && let std::borrow::Cow::Owned(clean) = crate::redact(&t.text)
        {
            t.text = clean;
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MASK, ok_json};

    /// A failure that says how long it waited, as a server's would.
    #[derive(Debug, thiserror::Error)]
    enum TestFailure {
        #[error("{0}")]
        Said(String),
        #[error("gave up after {0} ms")]
        TimedOut(u128),
    }

    impl Failure for TestFailure {
        fn timed_out(limit: Duration) -> Self {
            TestFailure::TimedOut(limit.as_millis())
        }
    }

    fn text(r: &CallToolResult) -> String {
        r.content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect()
    }

    const SECRET: &str = "postgres://app:s3cr3t@db:5432/pay";

    #[tokio::test]
    async fn successes_are_redacted_text_and_structure() {
        let body = async {
            Ok::<_, TestFailure>(ok_json(
                format!("url {SECRET}"),
                &serde_json::json!({"env": [{"name": "DB_PASSWORD", "value": "hunter2"}]}),
            ))
        };
        let r = run(Duration::from_secs(5), body)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.is_error, Some(false));
        assert_eq!(text(&r), "url postgres://app:[REDACTED]@db:5432/pay");
        let structured = r.structured_content.unwrap_or_default();
        assert_eq!(structured["env"][0]["value"], MASK);
    }

    #[tokio::test]
    async fn failures_are_tool_errors_and_redacted() {
        let body = async { Err::<CallToolResult, _>(TestFailure::Said(format!("bad {SECRET}"))) };
        let r = run(Duration::from_secs(5), body)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.is_error, Some(true));
        assert_eq!(text(&r), "bad postgres://app:[REDACTED]@db:5432/pay");
    }

    #[tokio::test]
    async fn a_missed_deadline_is_the_servers_timeout_failure() {
        let body = async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<_, TestFailure>(crate::ok("too late"))
        };
        let r = run(Duration::from_millis(20), body)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.is_error, Some(true));
        assert_eq!(text(&r), "gave up after 20 ms");
    }

    #[test]
    fn content_that_is_not_text_is_dropped() {
        let mut r = crate::ok("kept");
        r.content.push(ContentBlock::image("aGk=", "image/png"));
        let r = redacted(r);
        assert_eq!(r.content.len(), 1);
        assert_eq!(text(&r), "kept");
    }
}
