//! The Web API methods with a fixed shape, typed: posting, editing and ephemeral messages
//! (text kept within Slack's limit, link previews off), user-group members, user names, the
//! token's identity, Socket Mode's connection URL. Other methods (paged reads, reactions, bodies a caller shapes itself)
//! go through [`SlackClient::call`].

use serde_json::{Value, json};

use crate::client::{Args, SlackClient};
use crate::error::Error;
use crate::text::message_text;

/// Where a message is: its channel id and timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
}

/// Who the token is (`auth.test`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The bot user's id (`U…`).
    pub user_id: String,
    /// The bot user's name.
    pub user: String,
    /// The workspace's id (`T…`).
    pub team_id: String,
    /// The bot's id (`B…`), for bot tokens.
    pub bot_id: Option<String>,
}

/// `field` of `v` as a string, empty when missing.
fn text_of(v: &Value, field: &str) -> String {
    v.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The cursor of the next page of a paged read (`response_metadata.next_cursor`), if any.
pub fn next_cursor(page: &Value) -> Option<&str> {
    page.pointer("/response_metadata/next_cursor")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
}

impl SlackClient {
    /// `chat.postMessage`, in a thread when `thread_ts` is set; link previews off.
    pub async fn post_message(
        &self,
        channel: &str,
        text: &str,
        blocks: Option<&Value>,
        thread_ts: Option<&str>,
    ) -> Result<Posted, Error> {
        let mut args =
            json!({"channel": channel, "text": message_text(text), "unfurl_links": false});
        if let Some(b) = blocks {
            args["blocks"] = b.clone();
        }
        if let Some(t) = thread_ts {
            args["thread_ts"] = json!(t);
        }
        let v = self.call("chat.postMessage", Args::Json(args)).await?;
        Ok(Posted {
            channel: v
                .get("channel")
                .and_then(Value::as_str)
                .unwrap_or(channel)
                .to_owned(),
            ts: text_of(&v, "ts"),
        })
    }

    /// `chat.update` of a message the bot posted.
    pub async fn update(
        &self,
        at: &Posted,
        text: &str,
        blocks: Option<&Value>,
    ) -> Result<(), Error> {
        let mut args = json!({"channel": at.channel, "ts": at.ts, "text": message_text(text)});
        if let Some(b) = blocks {
            args["blocks"] = b.clone();
        }
        self.call("chat.update", Args::Json(args)).await.map(|_| ())
    }

    /// `chat.postEphemeral`: a message only `user` sees.
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        text: &str,
        thread_ts: Option<&str>,
    ) -> Result<(), Error> {
        let mut args = json!({"channel": channel, "user": user, "text": message_text(text)});
        if let Some(t) = thread_ts {
            args["thread_ts"] = json!(t);
        }
        self.call("chat.postEphemeral", Args::Json(args))
            .await
            .map(|_| ())
    }

    /// `usergroups.users.list`: the members of a user group (`S…`).
    pub async fn usergroup_members(&self, group: &str) -> Result<Vec<String>, Error> {
        let args = Args::Query(vec![("usergroup", group.to_owned())]);
        let v = self.call("usergroups.users.list", args).await?;
        Ok(v.get("users")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `users.info`: the user's name (`alice`), when Slack gives one.
    pub async fn user_name(&self, user: &str) -> Result<Option<String>, Error> {
        let args = Args::Query(vec![("user", user.to_owned())]);
        let v = self.call("users.info", args).await?;
        Ok(v.pointer("/user/name")
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    /// `apps.connections.open` (Socket Mode; the client's token must be an app-level token,
    /// `xapp-…`, with `connections:write`): a one-time WebSocket URL (`wss://…`).
    pub async fn apps_connections_open(&self) -> Result<String, Error> {
        let v = self
            .call("apps.connections.open", Args::Json(json!({})))
            .await?;
        match v.get("url").and_then(Value::as_str) {
            Some(url) if !url.is_empty() => Ok(url.to_owned()),
            _ => Err(Error::Transport {
                method: "apps.connections.open",
                message: "Slack answered ok without a url".into(),
            }),
        }
    }

    /// `auth.test`: who the token is.
    pub async fn auth_test(&self) -> Result<Identity, Error> {
        let v = self.call("auth.test", Args::Query(Vec::new())).await?;
        Ok(Identity {
            user_id: text_of(&v, "user_id"),
            user: text_of(&v, "user"),
            team_id: text_of(&v, "team_id"),
            bot_id: v.get("bot_id").and_then(Value::as_str).map(str::to_owned),
        })
    }
}
