//! The bot's Slack Web API client: SOPilot's one client (`sopilot-slack-api`) with its
//! default options — a 10 s timeout on every call, 429s waited out as `Retry-After` asks up
//! to 15 s, three attempts in all — for the methods the bot uses: `chat.postMessage`,
//! `chat.update`, `chat.postEphemeral`, `usergroups.users.list` and interactions'
//! `response_url`s.
//!
//! A Slack message is only a view of a record, so callers log these errors and go on: Slack
//! being slow or down never blocks or fails a run.

pub use sopilot_slack_api::{DEFAULT_API_URL, Error as SlackError, Posted, SlackClient};
