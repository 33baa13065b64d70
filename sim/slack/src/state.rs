//! The shared workspace behind the router, what tests read back, and the one place a raw
//! HTTP request becomes a Slack answer.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::error::SlackSimError;
use crate::methods::{self, ApiError, Method, Params};
use crate::model::{
    AuthOutcome, Ephemeral, MAX_RECORDED, Message, RateLimit, RecordedRequest, StoredMessage, World,
};
use crate::section;
use crate::socket::{Delivery, Hub, Kind, SocketAck};

/// The most body bytes kept in a recorded request.
const MAX_RECORDED_BODY: usize = 64 * 1024;

/// A simulated Slack workspace. Clones share it.
#[derive(Debug, Clone)]
pub struct SlackState {
    world: Arc<Mutex<World>>,
    hub: Arc<Hub>,
}

/// An HTTP request as the router received it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawRequest<'a> {
    /// `GET`, `POST`, ...
    pub http_method: &'a str,
    /// The path after `/api/`, e.g. `chat.postMessage`.
    pub method: &'a str,
    /// The query string without `?`.
    pub query: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub body: &'a [u8],
}

/// What the simulator answers: HTTP status, `Retry-After` seconds on a 429, JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: Value,
}

impl SlackState {
    /// The workspace a scenario's `slack` section describes (`None`: the defaults, one
    /// `#incidents` channel with the bot in it). Relative times count from now.
    pub fn from_section(section: Option<&Value>) -> Result<SlackState, SlackSimError> {
        Self::from_section_at(section, Utc::now())
    }

    /// As [`SlackState::from_section`], with relative times counted from `now`.
    pub fn from_section_at(
        section: Option<&Value>,
        now: DateTime<Utc>,
    ) -> Result<SlackState, SlackSimError> {
        Ok(SlackState {
            world: Arc::new(Mutex::new(section::world(section, now)?)),
            hub: Arc::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock cannot leave the world half-updated in a way that
        // matters to a test double; keep serving.
        self.world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Answers one request as Slack would, and records it.
    pub fn handle(&self, req: &RawRequest<'_>) -> Reply {
        self.handle_at(req, None)
    }

    /// [`SlackState::handle`] for a request that came to `host` (its `Host` header), where
    /// `apps.connections.open` points the socket (without one, that method fails).
    pub fn handle_at(&self, req: &RawRequest<'_>, host: Option<&str>) -> Reply {
        let now = Utc::now();
        let mut world = self.lock();
        let method = Method::parse(req.method);
        let parsed = parse_params(method, req);
        let params = parsed.as_ref().map(|p| p.0.clone()).unwrap_or_default();
        let (auth, status, retry_after, answer) = match method {
            None => (
                AuthOutcome::Unchecked,
                404,
                None,
                Err(ApiError::new("unknown_method")),
            ),
            Some(m) => {
                let auth = check_auth(&world, req.authorization, m);
                match auth {
                    AuthOutcome::Missing => (auth, 200, None, Err(ApiError::new("not_authed"))),
                    AuthOutcome::WrongTokenType => (
                        auth,
                        200,
                        None,
                        Err(ApiError::new("not_allowed_token_type")),
                    ),
                    AuthOutcome::Invalid | AuthOutcome::Unchecked => {
                        (auth, 200, None, Err(ApiError::new("invalid_auth")))
                    }
                    AuthOutcome::Valid => match take_rate_limit(&mut world, m) {
                        Some(wait) => (auth, 429, Some(wait), Err(ApiError::new("ratelimited"))),
                        None => {
                            let answer = parsed.and_then(|p| match m {
                                Method::AppsConnectionsOpen => self.open_socket(&world, host),
                                _ => methods::call(&mut world, m, &p, now),
                            });
                            (auth, 200, None, answer)
                        }
                    },
                }
            }
        };
        let (ok, error, body) = match answer {
            Ok(fields) => {
                let mut body = Map::new();
                body.insert("ok".into(), json!(true));
                body.extend(fields);
                (true, None, Value::Object(body))
            }
            Err(e) => {
                let mut body = json!({"ok": false, "error": e.code});
                if !e.messages.is_empty()
                    && let Some(obj) = body.as_object_mut()
                {
                    obj.insert("response_metadata".into(), json!({"messages": e.messages}));
                }
                (false, Some(e.code.to_owned()), body)
            }
        };
        tracing::debug!(
            method = req.method,
            status,
            ok,
            error = error.as_deref(),
            "slack sim"
        );
        let seq = world.next_seq;
        world.next_seq = seq.saturating_add(1);
        if world.requests.len() >= MAX_RECORDED {
            world.requests.remove(0);
        }
        world.requests.push(RecordedRequest {
            seq,
            method: req.method.to_owned(),
            http_method: req.http_method.to_owned(),
            content_type: req.content_type.map(str::to_owned),
            params,
            body: capped_body(req.body),
            auth,
            status,
            ok,
            error,
        });
        Reply {
            status,
            retry_after,
            body,
        }
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// The requests to one method (`chat.postMessage`), oldest first.
    pub fn requests_for(&self, method: &str) -> Vec<RecordedRequest> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.method == method)
            .cloned()
            .collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// The messages of a channel (by id, or name with or without `#`), replies included,
    /// oldest first; empty for an unknown channel.
    pub fn messages(&self, channel: &str) -> Vec<Message> {
        let world = self.lock();
        let Some(id) = world.channel_by_id_or_name(channel).map(|c| c.id.clone()) else {
            return Vec::new();
        };
        world
            .channel_messages(&id)
            .map(|msgs| msgs.values().map(StoredMessage::view).collect())
            .unwrap_or_default()
    }

    /// Ephemeral messages posted so far.
    pub fn ephemeral(&self) -> Vec<Ephemeral> {
        self.lock().ephemeral.clone()
    }

    /// Answers the next `calls` requests, of any method, with HTTP 429 and `Retry-After`.
    pub fn throttle(&self, calls: u32, retry_after_seconds: u64) {
        self.set_rate_limit(RateLimit {
            calls,
            retry_after_seconds,
            method: None,
        });
    }

    /// Replaces the rate limit (`calls: 0` lifts it).
    pub fn set_rate_limit(&self, limit: RateLimit) {
        self.lock().rate_limit = Some(limit);
    }

    /// Caps every page at `size` items (Slack may return fewer than `limit`); `None` lifts it.
    pub fn set_max_page_size(&self, size: Option<usize>) {
        self.lock().max_page_size = size;
    }

    /// A token the workspace accepts.
    pub fn token(&self) -> String {
        self.lock().tokens.first().cloned().unwrap_or_default()
    }

    /// The bot's user id (`U0SOPILOT` by default).
    pub fn bot_user_id(&self) -> String {
        self.lock().bot.user_id.clone()
    }

    /// The id of the channel with this name (or id), with or without `#`.
    pub fn channel_id(&self, channel: &str) -> Option<String> {
        self.lock()
            .channel_by_id_or_name(channel)
            .map(|c| c.id.clone())
    }

    /// Posts as a person (an approver answering in a thread, say), bypassing the API.
    /// Returns the new message's ts; `None` when the channel, user or thread is unknown.
    pub fn post_as(
        &self,
        channel: &str,
        user: &str,
        text: &str,
        thread_ts: Option<&str>,
    ) -> Option<String> {
        let mut world = self.lock();
        let id = world.channel_by_id_or_name(channel)?.id.clone();
        world.user(user)?;
        let parent = match thread_ts {
            None => None,
            Some(t) => {
                let ts = crate::ts::Ts::parse(t)?;
                let m = world.channel_messages(&id)?.get(&ts)?;
                Some(m.thread_ts.unwrap_or(m.ts))
            }
        };
        let ts = world.clock.next(Utc::now());
        world.messages.entry(id).or_default().insert(
            ts,
            StoredMessage {
                ts,
                user: user.to_owned(),
                bot_id: None,
                text: text.to_owned(),
                blocks: None,
                thread_ts: parent,
                reply_broadcast: false,
                edited: None,
                reactions: Vec::new(),
            },
        );
        Some(ts.to_string())
    }
}

/// Whether `header` carries a token `method` takes: `apps.connections.open` only an
/// app-level token, every other method only a bot token.
impl SlackState {
    pub(crate) fn hub(&self) -> Arc<Hub> {
        Arc::clone(&self.hub)
    }

    pub(crate) fn app_id(&self) -> String {
        self.lock().bot.app_id.clone()
    }

    /// `apps.connections.open`: a one-time socket URL on the host the call came to.
    fn open_socket(&self, world: &World, host: Option<&str>) -> methods::Answer {
        let host = host.ok_or_else(|| ApiError::new("invalid_request"))?;
        let ticket = self.hub.issue_ticket();
        let mut out = Map::new();
        out.insert(
            "url".into(),
            json!(format!(
                "ws://{host}/link/?ticket={ticket}&app_id={}",
                world.bot.app_id
            )),
        );
        Ok(out)
    }

    /// An app-level token (`xapp-…`) the workspace accepts, for `apps.connections.open`.
    pub fn app_token(&self) -> String {
        self.lock().app_tokens.first().cloned().unwrap_or_default()
    }

    /// How many Socket Mode sockets are open now.
    pub fn socket_connections(&self) -> usize {
        self.hub.connections()
    }

    /// How many Socket Mode sockets were ever opened.
    pub fn socket_connects(&self) -> u64 {
        self.hub.opened()
    }

    /// Delivers an Events API `event` (wrapped in an `event_callback` with a new `event_id`)
    /// over Socket Mode; the envelope id.
    pub fn socket_event(&self, event: Value) -> String {
        let (team, app, bot_user, n) = {
            let mut w = self.lock();
            w.next_seq = w.next_seq.saturating_add(1);
            (
                w.team.id.clone(),
                w.bot.app_id.clone(),
                w.bot.user_id.clone(),
                w.next_seq,
            )
        };
        let payload = json!({
            "token": "sim-verification-token", "team_id": team, "api_app_id": app,
            "event": event, "type": "event_callback",
            "event_id": format!("Ev0SIM{n:06}"), "event_time": Utc::now().timestamp(),
            "authorizations": [{"team_id": team, "user_id": bot_user, "is_bot": true}],
            "is_ext_shared_channel": false,
        });
        self.hub.enqueue(Kind::EventsApi, payload)
    }

    /// `user` mentions the bot in `channel` (posting the message, in a thread when
    /// `thread_ts` is set) and Slack delivers the `app_mention` over Socket Mode: the
    /// envelope id and the message's ts; `None` when the channel or user is unknown.
    pub fn socket_mention(
        &self,
        channel: &str,
        user: &str,
        text: &str,
        thread_ts: Option<&str>,
    ) -> Option<(String, String)> {
        let ts = self.post_as(channel, user, text, thread_ts)?;
        let channel_id = self.channel_id(channel)?;
        let mut event = json!({"type": "app_mention", "user": user, "text": text, "ts": ts,
                               "channel": channel_id, "event_ts": ts});
        if let Some(t) = thread_ts {
            event["thread_ts"] = json!(t);
        }
        Some((self.socket_event(event), ts))
    }

    /// `/sopilot TEXT` typed by `user` in `channel_id`, delivered over Socket Mode; the
    /// envelope id (its acknowledgement carries the immediate answer).
    pub fn socket_command(
        &self,
        channel_id: &str,
        user: &str,
        command: &str,
        text: &str,
    ) -> String {
        let (team, app) = {
            let w = self.lock();
            (w.team.id.clone(), w.bot.app_id.clone())
        };
        let payload = json!({
            "token": "sim-verification-token", "team_id": team, "team_domain": "sopilot",
            "channel_id": channel_id, "channel_name": channel_id, "user_id": user,
            "user_name": user, "command": command, "text": text, "api_app_id": app,
            "is_enterprise_install": "false",
            "response_url": "https://hooks.slack.com/commands/T0SIM/1/sim",
            "trigger_id": "1.1.sim",
        });
        self.hub.enqueue(Kind::SlashCommands, payload)
    }

    /// An interactivity `payload` (e.g. `block_actions`) over Socket Mode; the envelope id.
    pub fn socket_interaction(&self, payload: Value) -> String {
        self.hub.enqueue(Kind::Interactive, payload)
    }

    /// The first acknowledgement of `envelope_id` Slack saw, waiting up to `timeout`.
    pub async fn socket_ack(
        &self,
        envelope_id: &str,
        timeout: std::time::Duration,
    ) -> Option<SocketAck> {
        self.hub.ack_of(envelope_id, timeout).await
    }

    /// Every acknowledgement received, lost ones included, oldest first.
    pub fn socket_acks(&self) -> Vec<SocketAck> {
        self.hub.acks()
    }

    /// Every envelope delivery, retries included, oldest first.
    pub fn socket_deliveries(&self) -> Vec<Delivery> {
        self.hub.deliveries()
    }

    /// Sends `disconnect` with `refresh_requested` to every open socket, closing each
    /// `grace` later (Slack gives about 10 s).
    pub fn socket_refresh(&self, grace: std::time::Duration) {
        self.hub.disconnect_all("refresh_requested", grace);
    }

    /// Drops every open socket without a closing handshake, as a network failure would.
    pub fn socket_drop(&self) {
        self.hub.drop_all();
    }

    /// Ignores the next `n` acknowledgements, as if they were lost on the way: their events
    /// are delivered again.
    pub fn socket_lose_acks(&self, n: u32) {
        self.hub.lose_acks(n);
    }

    /// How long an event waits for its acknowledgement before a retry (default 3 s).
    pub fn set_socket_ack_timeout(&self, timeout: std::time::Duration) {
        self.hub.set_ack_timeout(timeout);
    }
}

fn check_auth(world: &World, header: Option<&str>, method: Method) -> AuthOutcome {
    let Some(header) = header else {
        return AuthOutcome::Missing;
    };
    let mut parts = header.trim().splitn(2, ' ');
    let scheme = parts.next().unwrap_or_default();
    let token = parts.next().unwrap_or_default().trim();
    if !scheme.eq_ignore_ascii_case("bearer") {
        return AuthOutcome::Invalid;
    }
    let bot = world.tokens.iter().any(|t| t == token);
    let app = world.app_tokens.iter().any(|t| t == token);
    let wants_app = method == Method::AppsConnectionsOpen;
    if (wants_app && app) || (!wants_app && bot) {
        AuthOutcome::Valid
    } else if bot || app {
        AuthOutcome::WrongTokenType
    } else {
        AuthOutcome::Invalid
    }
}

fn take_rate_limit(world: &mut World, method: Method) -> Option<u64> {
    let limit = world.rate_limit.as_mut()?;
    if limit.calls == 0 || limit.method.as_deref().is_some_and(|m| m != method.name()) {
        return None;
    }
    limit.calls -= 1;
    Some(limit.retry_after_seconds)
}

/// Query and body arguments. JSON bodies count only for methods that read them, as on Slack.
fn parse_params(method: Option<Method>, req: &RawRequest<'_>) -> Result<Params, ApiError> {
    let mut map = Map::new();
    if let Some(q) = req.query {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            map.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    if req.body.is_empty() {
        return Ok(Params(map));
    }
    let mime = req
        .content_type
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match mime.as_str() {
        "application/json" => {
            let parsed: Value =
                serde_json::from_slice(req.body).map_err(|_| ApiError::new("invalid_json"))?;
            let Value::Object(fields) = parsed else {
                return Err(ApiError::new("invalid_json"));
            };
            if method.is_some_and(Method::accepts_json) {
                map.extend(fields);
            }
        }
        "application/x-www-form-urlencoded" | "" => {
            for (k, v) in form_urlencoded::parse(req.body) {
                map.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
        _ => return Err(ApiError::new("invalid_form_data")),
    }
    Ok(Params(map))
}

fn capped_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.len() <= MAX_RECORDED_BODY {
        return text.into_owned();
    }
    let mut end = MAX_RECORDED_BODY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
