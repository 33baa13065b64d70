//! Slack: the bot token works, the channel list can be read (mcp-slack's own listing: Slack
//! names a missing scope), and the incident channel exists, unarchived, with the bot in it.
//! `chat:write` is not probed: posting is its only test.

use mcp_slack::{ChannelInfo, ChannelKey};
use sopilot_slack_api::{DEFAULT_API_URL, SlackClient};

use super::{Line, Target};
use crate::config::Config;

/// The Slack lines; SKIP when no bot token is set.
pub(super) async fn check(config: &Config, target: &Target<'_>) -> Vec<Line> {
    let Some(token) = target.var("SLACK_BOT_TOKEN") else {
        return vec![Line::skip(
            "slack",
            "no SLACK_BOT_TOKEN: the Slack bot and the Slack tools are off",
        )];
    };
    let base = target
        .var("SLACK_API_URL")
        .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
    let client = match SlackClient::new(&base, &token) {
        Ok(c) => c,
        Err(e) => {
            return vec![Line::fail(
                "slack",
                e.to_string(),
                "set a bot token (xoxb-...)",
            )];
        }
    };
    let who = match client.auth_test().await {
        Ok(i) => i,
        Err(e) => {
            return vec![Line::fail(
                "slack",
                format!("auth.test: {e}"),
                "install the app to the workspace and set its bot token (xoxb-...) in SLACK_BOT_TOKEN",
            )];
        }
    };
    let mut lines = vec![Line::ok(
        "slack",
        format!(
            "the token is bot {} ({}) in team {}",
            who.user, who.user_id, who.team_id
        ),
    )];
    let channels = match mcp_slack::Channels::new(&[]).visible(&client).await {
        Ok(c) => c,
        Err(e) => {
            lines.push(Line::fail(
                "slack",
                format!("conversations.list: {e}"),
                "add the scope Slack names (channels:read, groups:read: what mcp-slack lists channels with) to the app and reinstall it",
            ));
            return lines;
        }
    };
    lines.push(channel_line(config, &channels, &who.user));
    lines
}

/// The incident channel (`serve.slack.channel`) exists and the bot is a member.
fn channel_line(config: &Config, channels: &[ChannelInfo], bot: &str) -> Line {
    let Some(wanted) = config.serve.slack.as_ref().and_then(|s| s.channel.clone()) else {
        return Line::skip(
            "slack",
            format!(
                "no serve.slack.channel: unattended runs report nowhere ({} channels visible)",
                channels.len()
            ),
        );
    };
    let found = ChannelKey::parse(&wanted).and_then(|key| channels.iter().find(|c| key.names(c)));
    match found {
        Some(c) if !c.is_archived && c.is_member => Line::ok(
            "slack",
            format!("the bot is in the incident channel {wanted}"),
        ),
        Some(c) if !c.is_archived => Line::fail(
            "slack",
            format!("the bot is not a member of {wanted}"),
            format!("invite it: `/invite @{bot}` in {wanted}"),
        ),
        _ => Line::fail(
            "slack",
            format!("the incident channel {wanted} does not exist or is not visible to the bot"),
            "create it, or set serve.slack.channel to an existing channel",
        ),
    }
}
