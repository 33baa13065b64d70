//! Which channels a tool may touch. The allow-list (`--channels`) holds names or ids; a tool
//! argument may be either. Names and ids are matched through the workspace's channel list
//! (`conversations.list`), fetched on demand and cached, so `#incidents` and `C0INCIDENTS`
//! are the same channel. Anything that cannot be matched is refused (fail closed).

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::Mutex;

use sopilot_slack_api::{Args, SlackClient, next_cursor};

use crate::error::SlackError;

/// How long a fetched channel list is trusted.
const FRESH: Duration = Duration::from_secs(300);
/// A lookup that misses refetches a list older than this.
const REFETCH_ON_MISS: Duration = Duration::from_secs(10);
/// The most pages of `conversations.list` read (200 channels each).
const MAX_PAGES: usize = 10;

/// A channel written as an id (`C0123ABCD`) or a name (`incidents`, `#incidents`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelKey {
    Id(String),
    Name(String),
}

impl ChannelKey {
    /// Reads a user's spelling: `#` is dropped; upper-case letters and digits starting with
    /// C, G or D are an id, anything else a (lower-cased) name.
    pub fn parse(text: &str) -> Option<ChannelKey> {
        let t = text.trim();
        let t = t.strip_prefix('#').unwrap_or(t).trim();
        if t.is_empty() {
            return None;
        }
        let looks_like_id = t.starts_with(['C', 'G', 'D'])
            && t.len() >= 3
            && t.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        Some(if looks_like_id {
            ChannelKey::Id(t.to_owned())
        } else {
            ChannelKey::Name(t.to_lowercase())
        })
    }

    /// Whether this key names `c` (by id, or by its name).
    pub fn names(&self, c: &ChannelInfo) -> bool {
        match self {
            ChannelKey::Id(id) => c.id == *id,
            ChannelKey::Name(name) => c.name == *name,
        }
    }

    fn shown(&self) -> String {
        match self {
            ChannelKey::Id(id) => id.clone(),
            ChannelKey::Name(name) => format!("#{name}"),
        }
    }
}

/// A channel the bot can see, from `conversations.list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelInfo {
    pub id: String,
    pub name: String,
    pub is_member: bool,
    pub is_private: bool,
    pub is_archived: bool,
    pub topic: String,
}

impl ChannelInfo {
    fn from_json(v: &Value) -> Option<ChannelInfo> {
        Some(ChannelInfo {
            id: v.get("id")?.as_str()?.to_owned(),
            name: v.get("name")?.as_str()?.to_owned(),
            is_member: v.get("is_member").and_then(Value::as_bool).unwrap_or(false),
            is_private: v
                .get("is_private")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            is_archived: v
                .get("is_archived")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            topic: v
                .pointer("/topic/value")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        })
    }
}

/// A channel a tool may use: its id, and its name when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    pub id: String,
    pub name: Option<String>,
    /// Whether the bot is in it, when the channel list said.
    #[serde(skip)]
    pub is_member: Option<bool>,
}

impl Resolved {
    /// `#incidents (C0INCIDENTS)`, or the id alone.
    pub fn display(&self) -> String {
        match &self.name {
            Some(n) => format!("#{n} ({})", self.id),
            None => self.id.clone(),
        }
    }
}

#[derive(Debug)]
struct Directory {
    fetched: Instant,
    channels: Vec<ChannelInfo>,
}

/// The allow-list and the cached channel list.
#[derive(Debug)]
pub struct Channels {
    /// `None`: every channel the bot can see (reading only; posting requires a list).
    allow: Option<Vec<ChannelKey>>,
    directory: Mutex<Option<Directory>>,
}

impl Channels {
    /// From `--channels`; entries that are blank are ignored.
    pub fn new(allow: &[String]) -> Channels {
        let keys: Vec<ChannelKey> = allow.iter().filter_map(|c| ChannelKey::parse(c)).collect();
        Channels {
            allow: (!keys.is_empty()).then_some(keys),
            directory: Mutex::new(None),
        }
    }

    /// Whether an allow-list is in force.
    pub fn restricted(&self) -> bool {
        self.allow.is_some()
    }

    /// The channel list, fetched when missing or stale (`refresh_older_than`).
    async fn list(
        &self,
        api: &SlackClient,
        refresh_older_than: Duration,
    ) -> Result<Vec<ChannelInfo>, SlackError> {
        let mut dir = self.directory.lock().await;
        if let Some(d) = dir.as_ref()
            && d.fetched.elapsed() < refresh_older_than
        {
            return Ok(d.channels.clone());
        }
        let channels = fetch(api).await?;
        *dir = Some(Directory {
            fetched: Instant::now(),
            channels: channels.clone(),
        });
        Ok(channels)
    }

    /// The channels the bot can see (a fresh list), for `list_channels`.
    pub async fn visible(&self, api: &SlackClient) -> Result<Vec<ChannelInfo>, SlackError> {
        self.list(api, Duration::ZERO).await
    }

    /// Whether the allow-list admits this channel.
    pub fn allows(&self, id: &str, name: Option<&str>) -> bool {
        match &self.allow {
            None => true,
            Some(keys) => keys.iter().any(|k| match k {
                ChannelKey::Id(allowed) => allowed == id,
                ChannelKey::Name(allowed) => Some(allowed.as_str()) == name,
            }),
        }
    }

    /// Resolves a tool's `channel` argument and checks it against the allow-list.
    pub async fn resolve(&self, api: &SlackClient, arg: &str) -> Result<Resolved, SlackError> {
        let key = ChannelKey::parse(arg).ok_or_else(|| {
            SlackError::BadArgument(
                "channel is empty: give a channel name such as #incidents or an id such as C0123ABCD".into(),
            )
        })?;
        let found = match self.find(api, &key, FRESH).await {
            Ok(Some(c)) => Ok(Some(c)),
            // A channel created or renamed since the list was fetched.
            Ok(None) => self.find(api, &key, REFETCH_ON_MISS).await,
            Err(e) => Err(e),
        };
        let resolved = match (found, &key) {
            (Ok(Some(c)), _) => Resolved {
                id: c.id,
                name: Some(c.name),
                is_member: Some(c.is_member),
            },
            // Unknown ids go to Slack, which answers channel_not_found if need be.
            (Ok(None) | Err(_), ChannelKey::Id(id)) => Resolved {
                id: id.clone(),
                name: None,
                is_member: None,
            },
            (Ok(None), ChannelKey::Name(name)) => {
                return Err(SlackError::UnknownChannel {
                    name: name.clone(),
                    hint: "check the spelling, or call list_channels (a private channel needs the bot invited first)".into(),
                });
            }
            (Err(e), ChannelKey::Name(name)) => {
                return Err(SlackError::UnknownChannel {
                    name: name.clone(),
                    hint: format!(
                        "the channel list could not be read ({e}); give the channel id (C...) instead"
                    ),
                });
            }
        };
        if self.allows(&resolved.id, resolved.name.as_deref()) {
            Ok(resolved)
        } else {
            Err(SlackError::ChannelNotAllowed {
                channel: resolved.display(),
                allowed: self.allowed_display(api).await,
            })
        }
    }

    async fn find(
        &self,
        api: &SlackClient,
        key: &ChannelKey,
        max_age: Duration,
    ) -> Result<Option<ChannelInfo>, SlackError> {
        let list = self.list(api, max_age).await?;
        Ok(list.into_iter().find(|c| key.names(c)))
    }

    /// The allow-list for people: `#incidents (C0INCIDENTS)` where the list says.
    pub async fn allowed_display(&self, api: &SlackClient) -> Vec<String> {
        let Some(keys) = &self.allow else {
            return vec!["every channel the bot is in".into()];
        };
        let known = self.list(api, FRESH).await.unwrap_or_default();
        keys.iter()
            .map(|k| {
                known
                    .iter()
                    .find(|c| match k {
                        ChannelKey::Id(id) => c.id == *id,
                        ChannelKey::Name(name) => c.name == *name,
                    })
                    .map_or_else(|| k.shown(), |c| format!("#{} ({})", c.name, c.id))
            })
            .collect()
    }

    /// The allow-list entries that match no visible channel.
    pub fn unmatched(&self, visible: &[ChannelInfo]) -> Vec<String> {
        let Some(keys) = &self.allow else {
            return Vec::new();
        };
        keys.iter()
            .filter(|k| {
                !visible.iter().any(|c| match k {
                    ChannelKey::Id(id) => c.id == *id,
                    ChannelKey::Name(name) => c.name == *name,
                })
            })
            .map(ChannelKey::shown)
            .collect()
    }
}

/// Every channel the bot can see, public and private, archived included.
async fn fetch(api: &SlackClient) -> Result<Vec<ChannelInfo>, SlackError> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    for _ in 0..MAX_PAGES {
        let mut args = vec![
            ("types", "public_channel,private_channel".to_owned()),
            ("limit", "200".to_owned()),
        ];
        if !cursor.is_empty() {
            args.push(("cursor", cursor.clone()));
        }
        let page = api.call("conversations.list", Args::Query(args)).await?;
        if let Some(items) = page.get("channels").and_then(Value::as_array) {
            out.extend(items.iter().filter_map(ChannelInfo::from_json));
        }
        cursor = next_cursor(&page).unwrap_or_default().to_owned();
        if cursor.is_empty() {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let k = |s: &str| ChannelKey::parse(s);
        assert_eq!(k("#incidents"), Some(ChannelKey::Name("incidents".into())));
        assert_eq!(k("Incidents"), Some(ChannelKey::Name("incidents".into())));
        assert_eq!(k(" C0123ABCD "), Some(ChannelKey::Id("C0123ABCD".into())));
        assert_eq!(k("G0SECRET"), Some(ChannelKey::Id("G0SECRET".into())));
        assert_eq!(k("#"), None);
        assert_eq!(k("ops-2"), Some(ChannelKey::Name("ops-2".into())));
    }

    #[test]
    fn allow_list_matches_ids_and_names() {
        let c = Channels::new(&["#incidents".into(), "C0OPS".into(), " ".into()]);
        assert!(c.restricted());
        assert!(c.allows("C9", Some("incidents")));
        assert!(c.allows("C0OPS", None));
        assert!(!c.allows("C0RANDOM", Some("random")));
        assert!(
            !c.allows("C0INCIDENTS", None),
            "an id is not matched to a name without the list"
        );
        let open = Channels::new(&[]);
        assert!(!open.restricted() && open.allows("C1", None));
    }
}
