//! Tool arguments. The doc comments become the JSON Schema the model reads: they are prompt
//! text, written for a model and an SRE.

use schemars::JsonSchema;
use serde::Deserialize;

/// Arguments of `get_issue`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetIssue {
    /// The issue key, e.g. "OPS-123"; its project must be one of this server's projects.
    pub issue_key: String,
}

/// Arguments of `search`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// A JQL filter, e.g. `status = "In Progress" AND labels = sev1 ORDER BY created DESC`.
    /// It is always limited to this server's projects; naming another project is refused.
    /// Empty: the newest issues of those projects.
    #[serde(default)]
    pub jql: String,
    /// How many issues (default 20, at most 50).
    pub max_results: Option<u32>,
}

/// Arguments of `create_issue`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIssue {
    /// The project key, e.g. "OPS"; one of this server's projects.
    pub project: String,
    /// One line, at most 255 characters, e.g. "payment-service 5xx after v42 rollout".
    pub summary: String,
    /// The body in Markdown-ish text: paragraphs, `#` headings, `-` or `1.` lists, ``` code
    /// fences, `code` and **bold**. Credentials are masked before sending.
    pub description: Option<String>,
    /// The issue type's name (default "Task"), e.g. "Incident" or "Bug".
    pub issue_type: Option<String>,
    /// Labels, without spaces, e.g. ["sopilot", "sev2"].
    #[serde(default)]
    pub labels: Vec<String>,
    /// true: check and show what would be created, without creating it.
    #[serde(default)]
    pub dry_run: bool,
}

/// Arguments of `add_comment`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddComment {
    /// The issue key, e.g. "OPS-123"; its project must be one of this server's projects.
    pub issue_key: String,
    /// The comment in Markdown-ish text (as create_issue's description). Credentials are
    /// masked before sending.
    pub body: String,
    /// true: check and show the comment without adding it.
    #[serde(default)]
    pub dry_run: bool,
}

/// Arguments of `transition_issue`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionIssue {
    /// The issue key, e.g. "OPS-123"; its project must be one of this server's projects.
    pub issue_key: String,
    /// The transition's name as Jira shows it on the issue (e.g. "In Progress", "Done"),
    /// case-insensitive; a wrong name fails listing the ones available.
    pub transition: String,
    /// true: resolve the transition and show from and to statuses, without moving the issue.
    #[serde(default)]
    pub dry_run: bool,
}
