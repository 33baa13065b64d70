//! The scenario's `slack` section: the workspace the simulator starts with.
//! Documented in `docs/scenarios-slack.md`.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::blocks;
use crate::error::SlackSimError;
use crate::methods::Method;
use crate::model::{Bot, Channel, RateLimit, StoredMessage, Team, User, Usergroup, World};
use crate::ts::{Clock, Ts, parse_when};

/// The token a workspace accepts when the section names none.
pub const DEFAULT_TOKEN: &str = "xoxb-sopilot-sim-token";
/// The app-level token (Socket Mode) a workspace accepts when the section names none.
pub const DEFAULT_APP_TOKEN: &str = "xapp-1-A0SOPILOT-1-sopilot-sim-app-token";

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with team, bot, tokens, app_tokens, users, usergroups, channels, rate_limit, max_page_size"
)]
struct Section {
    #[serde(default)]
    team: TeamSpec,
    #[serde(default)]
    bot: BotSpec,
    tokens: Option<Vec<String>>,
    app_tokens: Option<Vec<String>>,
    #[serde(default)]
    users: Vec<UserSpec>,
    #[serde(default)]
    usergroups: Vec<UsergroupSpec>,
    channels: Option<Vec<ChannelSpec>>,
    rate_limit: Option<RateLimitSpec>,
    max_page_size: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default, expecting = "a team: {id, name}")]
struct TeamSpec {
    id: String,
    name: String,
}

impl Default for TeamSpec {
    fn default() -> Self {
        TeamSpec {
            id: "T0SOPILOT".into(),
            name: "sopilot".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    default,
    expecting = "a bot: {user_id, bot_id, app_id, name}"
)]
struct BotSpec {
    user_id: String,
    bot_id: String,
    app_id: String,
    name: String,
}

impl Default for BotSpec {
    fn default() -> Self {
        BotSpec {
            user_id: "U0SOPILOT".into(),
            bot_id: "B0SOPILOT".into(),
            app_id: "A0SOPILOT".into(),
            name: "sopilot".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a user: {id, name, real_name?, is_bot?}"
)]
struct UserSpec {
    id: String,
    name: String,
    real_name: Option<String>,
    #[serde(default)]
    is_bot: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a user group: {id, users?}")]
struct UsergroupSpec {
    id: String,
    #[serde(default)]
    users: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a channel: {id, name, members?, messages?, private?, archived?, topic?, purpose?}"
)]
struct ChannelSpec {
    id: String,
    name: String,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    archived: bool,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    purpose: String,
    /// Defaults to the bot alone.
    members: Option<Vec<String>>,
    #[serde(default)]
    messages: Vec<MessageSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a message: {user?, text, blocks?, at? or ts?, replies?, reactions?}"
)]
struct MessageSpec {
    user: Option<String>,
    #[serde(default)]
    text: String,
    blocks: Option<Value>,
    /// `now`, `-10m`, `+5s` or RFC 3339.
    at: Option<String>,
    /// An exact Slack ts, instead of `at`.
    ts: Option<String>,
    #[serde(default)]
    replies: Vec<MessageSpec>,
    #[serde(default)]
    reactions: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a rate limit: {next, retry_after?, method?}"
)]
struct RateLimitSpec {
    next: u32,
    #[serde(default = "one")]
    retry_after: u64,
    method: Option<String>,
}

fn one() -> u64 {
    1
}

/// Builds the workspace the section describes, with relative times taken from `now`.
pub(crate) fn world(section: Option<&Value>, now: DateTime<Utc>) -> Result<World, SlackSimError> {
    let spec: Section = match section {
        None | Some(Value::Null) => Section::default(),
        Some(v) if !v.is_object() => {
            return Err(SlackSimError::field(
                "",
                "must be a mapping with channels, users, bot, team, tokens, rate_limit",
            ));
        }
        Some(v) => serde_path_to_error::deserialize(v).map_err(|e| {
            let path = e.path().to_string();
            SlackSimError::field(path, e.into_inner().to_string())
        })?,
    };
    let mut b = Builder {
        now,
        taken: HashSet::new(),
        clock: Clock::default(),
    };
    let team = Team {
        id: b.id(&spec.team.id, "team.id")?,
        name: nonempty(&spec.team.name, "team.name")?,
    };
    let bot = Bot {
        user_id: b.id(&spec.bot.user_id, "bot.user_id")?,
        bot_id: b.id(&spec.bot.bot_id, "bot.bot_id")?,
        app_id: b.id(&spec.bot.app_id, "bot.app_id")?,
        name: nonempty(&spec.bot.name, "bot.name")?,
    };
    let tokens = token_list(spec.tokens, "tokens", DEFAULT_TOKEN)?;
    let app_tokens = token_list(spec.app_tokens, "app_tokens", DEFAULT_APP_TOKEN)?;
    let mut users = vec![User {
        id: bot.user_id.clone(),
        name: bot.name.clone(),
        real_name: bot.name.clone(),
        is_bot: true,
    }];
    for (i, u) in spec.users.iter().enumerate() {
        let at = format!("users[{i}]");
        let id = b.id(&u.id, &format!("{at}.id"))?;
        if users.iter().any(|known| known.id == id) {
            return Err(SlackSimError::field(
                format!("{at}.id"),
                format!("user {id} is listed twice (the bot is {})", bot.user_id),
            ));
        }
        let name = nonempty(&u.name, &format!("{at}.name"))?;
        users.push(User {
            id,
            real_name: u.real_name.clone().unwrap_or_else(|| name.clone()),
            name,
            is_bot: u.is_bot,
        });
    }
    let user_ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let known_user = |id: &str, at: &str| -> Result<String, SlackSimError> {
        if user_ids.iter().any(|u| u == id) {
            Ok(id.to_owned())
        } else {
            Err(SlackSimError::field(
                at,
                format!(
                    "unknown user {id:?}; declare it under slack.users (known: {})",
                    user_ids.join(", ")
                ),
            ))
        }
    };
    let mut usergroups: Vec<Usergroup> = Vec::new();
    for (i, g) in spec.usergroups.iter().enumerate() {
        let at = format!("usergroups[{i}]");
        let id = b.id(&g.id, &format!("{at}.id"))?;
        if usergroups.iter().any(|known| known.id == id) {
            return Err(SlackSimError::field(
                format!("{at}.id"),
                format!("user group {id} is listed twice"),
            ));
        }
        let mut members = Vec::new();
        for (j, u) in g.users.iter().enumerate() {
            members.push(known_user(u, &format!("{at}.users[{j}]"))?);
        }
        usergroups.push(Usergroup { id, users: members });
    }
    let channel_specs = spec.channels.unwrap_or_else(default_channels);
    let mut channels: Vec<Channel> = Vec::new();
    let mut messages = BTreeMap::new();
    for (i, c) in channel_specs.iter().enumerate() {
        let at = format!("channels[{i}]");
        let id = b.id(&c.id, &format!("{at}.id"))?;
        let name = channel_name(&c.name, &format!("{at}.name"))?;
        if channels
            .iter()
            .any(|known| known.id == id || known.name == name)
        {
            return Err(SlackSimError::field(
                at,
                format!("channel {id} (#{name}) repeats an id or name of another channel"),
            ));
        }
        let members = match &c.members {
            None => vec![bot.user_id.clone()],
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(j, m)| known_user(m, &format!("{at}.members[{j}]")))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let mut stored = BTreeMap::new();
        for (j, m) in c.messages.iter().enumerate() {
            let mat = format!("{at}.messages[{j}]");
            let parent = b.message(m, &mat, None, &bot, &known_user)?;
            let parent_ts = parent.ts;
            for (k, r) in m.replies.iter().enumerate() {
                let rat = format!("{mat}.replies[{k}]");
                if !r.replies.is_empty() {
                    return Err(SlackSimError::field(
                        format!("{rat}.replies"),
                        "a reply cannot have replies: Slack threads are one level deep",
                    ));
                }
                let reply = b.message(r, &rat, Some(parent_ts), &bot, &known_user)?;
                stored.insert(reply.ts, reply);
            }
            stored.insert(parent_ts, parent);
        }
        messages.insert(id.clone(), stored);
        channels.push(Channel {
            id,
            name,
            is_private: c.private,
            is_archived: c.archived,
            topic: c.topic.clone(),
            purpose: c.purpose.clone(),
            members,
            created: now.timestamp() - 30 * 86_400,
        });
    }
    let rate_limit = match spec.rate_limit {
        None => None,
        Some(r) => {
            if let Some(m) = &r.method
                && Method::parse(m).is_none()
            {
                return Err(SlackSimError::field(
                    "rate_limit.method",
                    format!(
                        "unknown method {m:?}; one of: {}",
                        Method::ALL.map(Method::name).join(", ")
                    ),
                ));
            }
            Some(RateLimit {
                calls: r.next,
                retry_after_seconds: r.retry_after,
                method: r.method,
            })
        }
    };
    Ok(World {
        team,
        bot,
        tokens,
        app_tokens,
        users,
        usergroups,
        channels,
        messages,
        ephemeral: Vec::new(),
        requests: Vec::new(),
        next_seq: 1,
        rate_limit,
        max_page_size: spec.max_page_size,
        clock: b.clock,
    })
}

/// Without a section: `#incidents` (`C0INCIDENTS`) with the bot in it.
fn default_channels() -> Vec<ChannelSpec> {
    vec![ChannelSpec {
        id: "C0INCIDENTS".into(),
        name: "incidents".into(),
        private: false,
        archived: false,
        topic: "Incident reports".into(),
        purpose: String::new(),
        members: None,
        messages: Vec::new(),
    }]
}

struct Builder {
    now: DateTime<Utc>,
    taken: HashSet<Ts>,
    clock: Clock,
}

impl Builder {
    fn id(&self, id: &str, at: &str) -> Result<String, SlackSimError> {
        if !id.is_empty()
            && id.len() <= 32
            && id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            Ok(id.to_owned())
        } else {
            Err(SlackSimError::field(
                at,
                format!(
                    "{id:?} is not a Slack id: upper-case letters and digits, e.g. C0INCIDENTS"
                ),
            ))
        }
    }

    fn message(
        &mut self,
        m: &MessageSpec,
        at: &str,
        parent: Option<Ts>,
        bot: &Bot,
        known_user: &impl Fn(&str, &str) -> Result<String, SlackSimError>,
    ) -> Result<StoredMessage, SlackSimError> {
        let user = match &m.user {
            Some(u) => known_user(u, &format!("{at}.user"))?,
            None => bot.user_id.clone(),
        };
        if m.text.is_empty() && m.blocks.is_none() {
            return Err(SlackSimError::field(
                format!("{at}.text"),
                "a message needs text or blocks",
            ));
        }
        if let Some(bl) = &m.blocks
            && let Err(errors) = blocks::validate(bl)
        {
            return Err(SlackSimError::field(
                format!("{at}.blocks"),
                errors.join("; "),
            ));
        }
        let ts = match (&m.at, &m.ts) {
            (Some(_), Some(_)) => {
                return Err(SlackSimError::field(at, "give `at` or `ts`, not both"));
            }
            (None, Some(text)) => {
                let ts = Ts::parse(text).ok_or_else(|| {
                    SlackSimError::field(
                        format!("{at}.ts"),
                        format!("{text:?} is not a Slack ts like \"1712345678.000100\""),
                    )
                })?;
                if !self.taken.insert(ts) {
                    return Err(SlackSimError::field(
                        format!("{at}.ts"),
                        format!("ts {ts} is used by another message"),
                    ));
                }
                ts
            }
            (when, None) => {
                let text = when.as_deref().unwrap_or("now");
                let t = parse_when(text, self.now).ok_or_else(|| {
                    SlackSimError::field(
                        format!("{at}.at"),
                        format!("{text:?} is not a time: write now, -10m, -2h30m, +5s or RFC 3339"),
                    )
                })?;
                let mut ts = Ts::from_time(t);
                while !self.taken.insert(ts) {
                    ts = Ts(ts.0.saturating_add(1));
                }
                ts
            }
        };
        if let Some(p) = parent
            && ts <= p
        {
            return Err(SlackSimError::field(
                at,
                format!("a reply must come after its parent message ({ts} is not after {p})"),
            ));
        }
        self.clock.observe(ts);
        let mut reactions = Vec::new();
        for (name, users) in &m.reactions {
            let users = users
                .iter()
                .enumerate()
                .map(|(i, u)| known_user(u, &format!("{at}.reactions.{name}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            reactions.push((name.clone(), users));
        }
        Ok(StoredMessage {
            ts,
            bot_id: (user == bot.user_id).then(|| bot.bot_id.clone()),
            user,
            text: m.text.clone(),
            blocks: m.blocks.clone(),
            thread_ts: parent,
            reply_broadcast: false,
            edited: None,
            reactions,
        })
    }
}

fn nonempty(s: &str, at: &str) -> Result<String, SlackSimError> {
    if s.trim().is_empty() {
        Err(SlackSimError::field(at, "must not be empty"))
    } else {
        Ok(s.to_owned())
    }
}

/// Slack channel names: lower-case letters, digits, `-` and `_`, at most 80; `#` is dropped.
fn channel_name(name: &str, at: &str) -> Result<String, SlackSimError> {
    let name = name.strip_prefix('#').unwrap_or(name);
    let ok = !name.is_empty()
        && name.chars().count() <= 80
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(SlackSimError::field(
            at,
            format!(
                "{name:?} is not a Slack channel name: lower-case letters, digits, - and _, at most 80"
            ),
        ))
    }
}

/// The tokens a section lists under `field` (`default` alone when it lists none): at least
/// one, each one word.
fn token_list(
    listed: Option<Vec<String>>,
    field: &str,
    default: &str,
) -> Result<Vec<String>, SlackSimError> {
    let Some(t) = listed else {
        return Ok(vec![default.to_owned()]);
    };
    if t.is_empty() {
        return Err(SlackSimError::field(
            field,
            format!("give at least one token, e.g. [{default}]"),
        ));
    }
    for (i, tok) in t.iter().enumerate() {
        if tok.trim().is_empty() || tok.chars().any(char::is_whitespace) {
            return Err(SlackSimError::field(
                format!("{field}[{i}]"),
                "a token is one word without spaces",
            ));
        }
    }
    Ok(t)
}
