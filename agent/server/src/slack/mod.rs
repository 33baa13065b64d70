//! The Slack bot: `POST /slack/events` (mentions), `/slack/commands` (`/sopilot`) and
//! `/slack/interactions` (Approve/Deny buttons), each verified with the signing secret — or,
//! in Socket Mode ([`socket`]), the same payloads over a WebSocket the bot opens, with no
//! inbound endpoint; and the threads runs report to — one status message edited as the run
//! goes, the escalations as buttons, the report as Block Kit.
//!
//! A Slack message is a view of a record: decisions go through the approval hub (first one
//! wins), and Slack being slow or down never blocks or fails a run. A button decides only on
//! the approval message SOPilot posted (its channel and ts are recorded in the store when
//! posted), and only for an approver. Approval ids are shown on that message and to
//! approvers, nowhere else. Each user may start at most
//! `max_runs_per_user_per_hour` runs from Slack. Both transports call the same handlers once
//! a payload is authenticated (by its signature over HTTP, by the connection in Socket Mode);
//! in Socket Mode the `/slack/*` routes answer 404.

pub mod blocks;
mod channel;
pub mod client;
mod commands;
mod events;
pub mod intent;
mod interactions;
pub mod progress;
mod requests;
pub mod route_by_model;
pub mod socket;
pub mod verify;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

pub use client::{Posted, SlackClient, SlackError};
pub use verify::{Verifier, VerifyError};

use crate::AppState;
use sopilot_runtime::Store;

/// The `serve.slack` section of the configuration file. Secrets come from the environment
/// (`SLACK_SIGNING_SECRET`, `SLACK_BOT_TOKEN`, `SLACK_APP_TOKEN`), never from here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackSettings {
    /// Where runs nobody started from Slack (alarms, events, schedules) report, e.g.
    /// `#incidents`. None: only runs started from Slack get a thread.
    #[serde(default)]
    pub channel: Option<String>,
    /// Who may press Approve or Deny: Slack user ids (`U…`, `W…`) and user-group ids (`S…`).
    #[serde(default)]
    pub approvers: Vec<String>,
    /// The least time between two edits of a run's status message (default 2s).
    #[serde(default)]
    pub status_interval: Option<sopilot_sop::Duration>,
    /// How many runs one Slack user may start (mentions and `/sopilot`) in any hour
    /// (default 10; 0: nobody starts runs from Slack).
    #[serde(default)]
    pub max_runs_per_user_per_hour: Option<u32>,
    /// Socket Mode: receive Slack's events, commands and button presses over a WebSocket
    /// the bot opens with the app-level token `SLACK_APP_TOKEN` (no inbound endpoint, no
    /// signing secret). Default: on exactly when `SLACK_APP_TOKEN` is set; `true` without it
    /// is an error, `false` keeps HTTP even with it.
    #[serde(default)]
    pub socket_mode: Option<bool>,
}

/// Runs one Slack user may start per hour unless configured.
pub const DEFAULT_RUNS_PER_USER_PER_HOUR: u32 = 10;
/// The window of the per-user run limit.
const RUN_WINDOW: Duration = Duration::from_secs(3600);

/// How long a user group's members are trusted before asking Slack again.
const GROUP_TTL: Duration = Duration::from_secs(60);
/// How long an event id is remembered, to drop Slack's redeliveries.
const EVENT_TTL: Duration = Duration::from_secs(15 * 60);

/// The bot's shared state: verifier, Web API client, the threads it follows.
pub struct Inner {
    settings: SlackSettings,
    /// HTTP mode's signature check; `None` in Socket Mode (the `/slack/*` routes are off).
    verifier: Option<Verifier>,
    /// Socket Mode's client, with the app-level token (`apps.connections.open`).
    app: Option<SlackClient>,
    client: Option<SlackClient>,
    pub(crate) store: Arc<Store>,
    interval: Duration,
    /// Followed runs: run id → its thread task.
    threads: Mutex<HashMap<String, tokio::sync::mpsc::UnboundedSender<channel::Update>>>,
    /// Runs started from Slack lately, by user (for the hourly limit).
    starts: Mutex<HashMap<String, Vec<Instant>>>,
    /// Event ids seen lately.
    events: Mutex<HashMap<String, Instant>>,
    /// User-group members, fetched at.
    groups: Mutex<HashMap<String, (Instant, Vec<String>)>>,
    /// Unrouted-trigger notes posted lately, by trigger key (at most one per key per
    /// [`channel::UNROUTED_NOTE_EVERY`]; every trigger is still recorded in the store).
    unrouted_notes: Mutex<HashMap<String, Instant>>,
}

/// The Slack front end; cheap to clone.
#[derive(Clone, Debug)]
pub struct SlackBot(Arc<Inner>);

impl std::ops::Deref for SlackBot {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackBot")
            .field("settings", &self.settings)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl SlackBot {
    /// A bot verifying requests with `signing_secret` and posting with `client` (none: it
    /// answers requests but posts nothing); `store` holds the approvals it shows.
    pub fn new(
        settings: SlackSettings,
        signing_secret: &str,
        client: Option<SlackClient>,
        store: Arc<Store>,
    ) -> SlackBot {
        SlackBot::build(
            settings,
            Some(Verifier::new(signing_secret)),
            None,
            client,
            store,
        )
    }

    /// A bot in Socket Mode: Slack's payloads come over the WebSocket opened with `app` (a
    /// client holding the app-level token; see [`socket::run`]), and `/slack/*` is off.
    pub fn socket_mode(
        settings: SlackSettings,
        app: SlackClient,
        client: Option<SlackClient>,
        store: Arc<Store>,
    ) -> SlackBot {
        SlackBot::build(settings, None, Some(app), client, store)
    }

    fn build(
        settings: SlackSettings,
        verifier: Option<Verifier>,
        app: Option<SlackClient>,
        client: Option<SlackClient>,
        store: Arc<Store>,
    ) -> SlackBot {
        let interval = settings
            .status_interval
            .map_or(Duration::from_secs(2), |d| Duration::from_secs(d.seconds()));
        SlackBot(Arc::new(Inner {
            verifier,
            app,
            client,
            store,
            interval,
            threads: Mutex::new(HashMap::new()),
            starts: Mutex::new(HashMap::new()),
            events: Mutex::new(HashMap::new()),
            groups: Mutex::new(HashMap::new()),
            unrouted_notes: Mutex::new(HashMap::new()),
            settings,
        }))
    }

    /// Whether Slack's payloads come over Socket Mode (else over HTTP).
    pub fn uses_socket_mode(&self) -> bool {
        self.app.is_some()
    }

    /// Whether the bot can show escalations to someone who may decide them.
    pub fn can_approve(&self) -> bool {
        self.client.is_some() && !self.settings.approvers.is_empty()
    }

    /// Whether `user` may decide approvals: listed, or in a listed user group.
    pub(crate) async fn may_decide(&self, user: &str) -> bool {
        if self.settings.approvers.iter().any(|a| a == user) {
            return true;
        }
        for group in self
            .settings
            .approvers
            .iter()
            .filter(|a| a.starts_with('S'))
        {
            if self.group_members(group).await.iter().any(|m| m == user) {
                return true;
            }
        }
        false
    }

    async fn group_members(&self, group: &str) -> Vec<String> {
        if let Some((at, members)) = lock(&self.groups).get(group)
            && at.elapsed() < GROUP_TTL
        {
            return members.clone();
        }
        let Some(client) = &self.client else {
            return Vec::new();
        };
        match client.usergroup_members(group).await {
            Ok(members) => {
                lock(&self.groups).insert(group.to_owned(), (Instant::now(), members.clone()));
                members
            }
            Err(e) => {
                // Fail closed: nobody from this group may decide until Slack answers.
                tracing::warn!("cannot list user group {group}: {e}");
                Vec::new()
            }
        }
    }

    /// The hourly limit of runs one user may start from Slack.
    fn runs_per_hour(&self) -> usize {
        self.settings
            .max_runs_per_user_per_hour
            .unwrap_or(DEFAULT_RUNS_PER_USER_PER_HOUR) as usize
    }

    /// Takes one of `user`'s runs of the hour, or says how long until one is free. The
    /// taken slot is given back with [`SlackBot::give_back`] when no new run came of it.
    pub(crate) fn take_run_slot(&self, user: &str) -> Result<Instant, Duration> {
        let limit = self.runs_per_hour();
        let mut starts = lock(&self.starts);
        starts.retain(|_, at| {
            at.retain(|t| t.elapsed() < RUN_WINDOW);
            !at.is_empty()
        });
        let mine = starts.entry(user.to_owned()).or_default();
        if mine.len() >= limit {
            let oldest = mine.iter().min().copied();
            return Err(oldest.map_or(RUN_WINDOW, |t| RUN_WINDOW.saturating_sub(t.elapsed())));
        }
        let now = Instant::now();
        mine.push(now);
        Ok(now)
    }

    /// Whether `user` could start a run now (without taking a slot): the wait otherwise.
    pub(crate) fn run_slot_free(&self, user: &str) -> Result<(), Duration> {
        let slot = self.take_run_slot(user)?;
        self.give_back(user, slot);
        Ok(())
    }

    /// Gives back a slot taken by [`SlackBot::take_run_slot`].
    pub(crate) fn give_back(&self, user: &str, slot: Instant) {
        if let Some(mine) = lock(&self.starts).get_mut(user)
            && let Some(i) = mine.iter().position(|t| *t == slot)
        {
            mine.remove(i);
        }
    }

    /// True the first time an event id is seen (within the last 15 minutes).
    pub(crate) fn first_sight(&self, event_id: &str) -> bool {
        let mut seen = lock(&self.events);
        seen.retain(|_, at| at.elapsed() < EVENT_TTL);
        seen.insert(event_id.to_owned(), Instant::now()).is_none()
    }
}

/// A Slack request refused: it changes nothing.
#[derive(Debug)]
pub(crate) enum Refusal {
    Disabled,
    /// The bot runs in Socket Mode: nothing comes over HTTP.
    SocketMode,
    Unverified(VerifyError),
    BadRequest(String),
    NotFound(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, error) = match self {
            Refusal::Disabled => (
                StatusCode::FORBIDDEN,
                "Slack is disabled: set SLACK_SIGNING_SECRET".to_owned(),
            ),
            Refusal::SocketMode => (
                StatusCode::NOT_FOUND,
                "the Slack bot runs in Socket Mode: Slack's requests come over its WebSocket, not to /slack/*".to_owned(),
            ),
            Refusal::Unverified(e) => (StatusCode::UNAUTHORIZED, format!("slack signature: {e}")),
            Refusal::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            Refusal::NotFound(m) => (StatusCode::NOT_FOUND, m),
        };
        (status, axum::Json(json!({"error": error}))).into_response()
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Disabled => f.write_str("Slack is disabled"),
            Refusal::SocketMode => f.write_str("Slack runs in Socket Mode"),
            Refusal::Unverified(e) => write!(f, "slack signature: {e}"),
            Refusal::BadRequest(m) | Refusal::NotFound(m) => f.write_str(m),
        }
    }
}

/// The bot, if the request is verified as Slack's.
pub(crate) fn authenticate(
    s: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<SlackBot, Refusal> {
    let Some(bot) = &s.options.slack else {
        return Err(Refusal::Disabled);
    };
    let Some(verifier) = &bot.verifier else {
        return Err(Refusal::SocketMode);
    };
    let now = chrono::Utc::now().timestamp();
    if let Err(e) = verifier.verify(headers, body, now) {
        s.metrics
            .requests_refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!("refused a Slack request: {e}");
        return Err(Refusal::Unverified(e));
    }
    Ok(bot.clone())
}

/// A form body as a map (later keys win).
pub(crate) fn form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The `/slack/*` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/slack/events", post(events::handle))
        .route("/slack/commands", post(commands::handle))
        .route("/slack/interactions", post(interactions::handle))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn each_user_starts_at_most_the_hourly_limit() {
        let settings = SlackSettings {
            max_runs_per_user_per_hour: Some(2),
            ..SlackSettings::default()
        };
        let bot = SlackBot::new(settings, "s", None, Arc::new(Store::in_memory().unwrap()));
        let first = bot.take_run_slot("U0BOB").unwrap();
        assert!(bot.run_slot_free("U0BOB").is_ok(), "peeking takes nothing");
        bot.take_run_slot("U0BOB").unwrap();
        let wait = bot.take_run_slot("U0BOB").unwrap_err();
        assert!(
            wait > Duration::from_secs(3500) && wait <= RUN_WINDOW,
            "{wait:?}"
        );
        assert!(bot.run_slot_free("U0BOB").is_err());
        // Others are not held back by Bob, and a slot given back is free again.
        assert!(bot.take_run_slot("U0ALICE").is_ok());
        bot.give_back("U0BOB", first);
        assert!(bot.take_run_slot("U0BOB").is_ok());
        let none = SlackBot::new(
            SlackSettings {
                max_runs_per_user_per_hour: Some(0),
                ..SlackSettings::default()
            },
            "s",
            None,
            Arc::new(Store::in_memory().unwrap()),
        );
        assert!(none.take_run_slot("U0ALICE").is_err());
    }
}
