//! Tool arguments. The doc comments become the JSON Schema the model reads: they are prompt
//! text, written for a model and an SRE.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// Arguments of `channel_history`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelHistory {
    /// Channel name ("#incidents") or id ("C0123ABCD"); must be in the allow-list.
    pub channel: String,
    /// How many messages, newest first (default 20, at most 100).
    pub limit: Option<u32>,
    /// Only messages from the last N minutes.
    pub since_minutes: Option<u32>,
}

/// Arguments of `thread_replies`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreadReplies {
    /// Channel name ("#incidents") or id ("C0123ABCD").
    pub channel: String,
    /// The ts of the thread's first message, e.g. "1712345678.000100" (from channel_history).
    pub thread_ts: String,
    /// How many messages, oldest first (default 50, at most 200).
    pub limit: Option<u32>,
}

/// Arguments of `post_message`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    /// Channel name ("#incidents") or id ("C0123ABCD"); must be in the allow-list.
    pub channel: String,
    /// The message in Slack mrkdwn (*bold*, _italic_, `code`, bullet lines). Also the
    /// notification text when blocks are given. @channel/@here/@everyone do not notify.
    pub text: String,
    /// Optional Block Kit blocks (a JSON array, at most 50 blocks and 16 KiB), e.g.
    /// [{"type":"section","text":{"type":"mrkdwn","text":"*SEV2* payment-service"}}].
    /// Layout only (section, header, context, divider, rich_text): buttons, menus, inputs,
    /// actions/input blocks and sopilot_ ids are refused, and so are images, videos, files
    /// and any *_url field (Slack would fetch the URL). Put links in text; they are not
    /// unfurled. For incident reports prefer post_incident_report, which builds them.
    pub blocks: Option<Vec<Value>>,
    /// Check the channel and content and show what would be posted, without posting.
    #[serde(default)]
    pub dry_run: bool,
}

/// Arguments of `reply_in_thread`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyInThread {
    /// Channel name ("#incidents") or id ("C0123ABCD"); must be in the allow-list.
    pub channel: String,
    /// The ts of the message to reply to, e.g. "1712345678.000100" (a post's result gives it).
    pub thread_ts: String,
    /// The reply in Slack mrkdwn.
    pub text: String,
    /// Optional Block Kit blocks, as for post_message.
    pub blocks: Option<Vec<Value>>,
    /// Also show the reply in the channel (use for a resolution, not for progress notes).
    #[serde(default)]
    pub broadcast: bool,
    /// Check and show what would be posted, without posting.
    #[serde(default)]
    pub dry_run: bool,
}

/// Arguments of `update_message`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMessage {
    /// Channel name ("#incidents") or id ("C0123ABCD"); must be in the allow-list.
    pub channel: String,
    /// The ts of a message this server posted in this session (from a post's result).
    pub ts: String,
    /// The new text (replaces the old one).
    pub text: String,
    /// New Block Kit blocks; omit them and the message shows the new text alone.
    pub blocks: Option<Vec<Value>>,
    /// Check and show what would change, without changing it.
    #[serde(default)]
    pub dry_run: bool,
}

/// Arguments of `add_reaction`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddReaction {
    /// Channel name ("#incidents") or id ("C0123ABCD"); must be in the allow-list.
    pub channel: String,
    /// The ts of the message to react to.
    pub ts: String,
    /// Emoji name without colons, e.g. "eyes" (looking), "white_check_mark" (done).
    pub name: String,
    /// Check without reacting.
    #[serde(default)]
    pub dry_run: bool,
}

/// How bad the incident is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Customer-facing outage or data at risk (SEV1).
    Critical,
    /// Major degradation (SEV2).
    High,
    /// Partial or internal impact (SEV3).
    Medium,
    /// Minor (SEV4).
    Low,
    /// For information, no impact.
    Info,
}

/// Where the response stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Investigating,
    Identified,
    Mitigated,
    Resolved,
}

/// One labelled fact, e.g. {"label": "Restarts", "value": "7 in 10 min"}.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    /// What the fact is about, e.g. "Restarts", "Last exit", "Error rate".
    pub label: String,
    /// The evidence, e.g. "7 in 10 min", "OOMKilled (137)".
    pub value: String,
}

/// Arguments of `post_incident_report`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentReport {
    /// Channel name ("#incidents") or id ("C0123ABCD"); must be in the allow-list.
    pub channel: String,
    /// Short title, e.g. "payment-service crash-looping (OOMKilled)".
    pub title: String,
    /// critical (SEV1), high (SEV2), medium (SEV3), low (SEV4) or info.
    pub severity: Severity,
    /// Default investigating.
    #[serde(default)]
    pub status: Status,
    /// What is happening and why, in two to five sentences; confirmed facts, not guesses.
    pub summary: String,
    /// Evidence as label/value pairs (at most 20), e.g. restarts, last exit reason, error rate.
    #[serde(default)]
    pub facts: Vec<Fact>,
    /// Actions already taken, one per item (at most 20).
    #[serde(default)]
    pub actions_taken: Vec<String>,
    /// Actions waiting for a human's approval, one per item (at most 20).
    #[serde(default)]
    pub pending_approvals: Vec<String>,
    /// A footer line, e.g. "SOPilot run r-42 · SOP pod-crashloop".
    pub context: Option<String>,
    /// Post the report as a reply in this thread instead of a new message.
    pub thread_ts: Option<String>,
    /// Revise this earlier report in place (one this server posted in this session).
    pub update_ts: Option<String>,
    /// Build and show the report without posting it.
    #[serde(default)]
    pub dry_run: bool,
}
