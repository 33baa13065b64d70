//! Slack: the bot token works, the read scopes the bot and `mcp-slack` use are granted (each
//! probed by one read call: Slack names a missing scope), and the incident channel exists
//! with the bot in it. `chat:write` is not probed: posting is its only test.

use serde_json::Value;
use sopilot_slack_api::{Args, DEFAULT_API_URL, SlackClient};

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
    let channels = match list_channels(&client).await {
        Ok(c) => c,
        Err(e) => {
            lines.push(Line::fail(
                "slack",
                format!("conversations.list: {e}"),
                "add the channels:read scope to the app and reinstall it",
            ));
            return lines;
        }
    };
    lines.push(channel_line(config, &channels, &who.user));
    lines
}

/// Every public channel the token can see (`conversations.list`, paged, bounded).
async fn list_channels(client: &SlackClient) -> Result<Vec<Value>, sopilot_slack_api::Error> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let mut q = vec![
            ("limit", "200".to_owned()),
            ("exclude_archived", "true".to_owned()),
        ];
        if let Some(c) = &cursor {
            q.push(("cursor", c.clone()));
        }
        let page = client.call("conversations.list", Args::Query(q)).await?;
        out.extend(
            page.get("channels")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        );
        cursor = sopilot_slack_api::next_cursor(&page).map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    Ok(out)
}

/// The incident channel (`serve.slack.channel`) exists and the bot is a member.
fn channel_line(config: &Config, channels: &[Value], bot: &str) -> Line {
    let Some(wanted) = config.serve.slack.as_ref().and_then(|s| s.channel.clone()) else {
        return Line::skip(
            "slack",
            format!(
                "no serve.slack.channel: unattended runs report nowhere ({} channels visible)",
                channels.len()
            ),
        );
    };
    let bare = wanted.trim_start_matches('#');
    let found = channels.iter().find(|c| {
        c.get("id").and_then(Value::as_str) == Some(bare)
            || c.get("name").and_then(Value::as_str) == Some(bare)
    });
    match found {
        None => Line::fail(
            "slack",
            format!("the incident channel {wanted} does not exist or is not visible to the bot"),
            "create it, or set serve.slack.channel to an existing channel",
        ),
        Some(c) if c.get("is_member").and_then(Value::as_bool) != Some(true) => Line::fail(
            "slack",
            format!("the bot is not a member of {wanted}"),
            format!("invite it: `/invite @{bot}` in {wanted}"),
        ),
        Some(_) => Line::ok(
            "slack",
            format!("the bot is in the incident channel {wanted}"),
        ),
    }
}
