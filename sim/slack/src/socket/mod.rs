//! Socket Mode, as Slack serves it: `apps.connections.open` issues a one-time ticket in a
//! `ws://HOST/link/?ticket=…&app_id=…` URL; the WebSocket ([`ws`]) says `hello`, then carries
//! envelopes (`events_api`, `slash_commands`, `interactive`) that the app acknowledges by
//! `envelope_id`. An `events_api` envelope not acknowledged within the ack timeout (3 s, as
//! Slack) is delivered again with `retry_attempt` + 1 and `retry_reason: "timeout"`, up to
//! three retries; a command or an interaction is not (Slack shows the user an error instead).
//! An envelope sent while no socket is connected waits for the next one.
//!
//! Tests drive it through [`SlackState`](crate::SlackState): deliver envelopes, read the
//! acknowledgements back, ask for a `refresh_requested` disconnect, drop sockets abruptly,
//! lose acknowledgements.

mod envelope;
pub(crate) mod ws;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::{Notify, mpsc};

pub use envelope::Kind;

/// How long Slack waits for an acknowledgement before retrying an event.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(3);
/// How many times Slack retries an unacknowledged event.
pub const MAX_RETRIES: u32 = 3;

/// What a socket's task is told to do.
#[derive(Debug)]
pub(crate) enum Command {
    /// Send this text frame.
    Send(String),
    /// Send `disconnect` with this reason, then close after the grace period.
    Disconnect(&'static str, Duration),
    /// Drop the connection without a closing handshake.
    Drop,
}

/// An envelope as delivered: to which socket, which attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    pub envelope_id: String,
    pub kind: Kind,
    /// 0 for the first delivery.
    pub retry_attempt: u32,
    /// The socket it went to (1 for the first socket opened).
    pub connection: u64,
}

/// An acknowledgement the app sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SocketAck {
    pub envelope_id: String,
    /// The response payload (a slash command's immediate reply), if any.
    pub payload: Option<Value>,
    /// Dropped on purpose by [`crate::SlackState::socket_lose_acks`]: Slack never saw it.
    pub lost: bool,
}

struct Conn {
    tx: mpsc::UnboundedSender<Command>,
    /// Sent a `disconnect`: gets envelopes only when no other socket is open.
    draining: bool,
}

struct Pending {
    kind: Kind,
    payload: Value,
    retry_attempt: u32,
    /// Bumped at each delivery, so a stale retry timer does nothing.
    sent: u64,
}

#[derive(Default)]
struct Inner {
    tickets: HashSet<String>,
    conns: BTreeMap<u64, Conn>,
    opened: u64,
    pending: BTreeMap<String, Pending>,
    next_envelope: u64,
    deliveries: Vec<Delivery>,
    acks: Vec<SocketAck>,
    lose_acks: u32,
    ack_timeout: Option<Duration>,
}

/// The Socket Mode side of a simulated workspace; shared by clones of its `SlackState`.
#[derive(Default)]
pub(crate) struct Hub {
    inner: Mutex<Inner>,
    acked: Notify,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = self.lock();
        f.debug_struct("Hub")
            .field("connections", &i.conns.len())
            .field("pending", &i.pending.len())
            .finish_non_exhaustive()
    }
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new one-time ticket for the WebSocket URL.
    pub fn issue_ticket(&self) -> String {
        let mut i = self.lock();
        let ticket = envelope::uuid(0x7_1c4e, i.opened + i.tickets.len() as u64 + 1);
        i.tickets.insert(ticket.clone());
        ticket
    }

    /// Uses up `ticket`; false when it was never issued or already used.
    pub fn redeem(&self, ticket: &str) -> bool {
        self.lock().tickets.remove(ticket)
    }

    /// Registers a socket; its id and how many are open with it.
    pub fn register(&self, tx: mpsc::UnboundedSender<Command>) -> (u64, usize) {
        let mut i = self.lock();
        i.opened += 1;
        let id = i.opened;
        i.conns.insert(
            id,
            Conn {
                tx,
                draining: false,
            },
        );
        (id, i.conns.len())
    }

    pub fn unregister(&self, id: u64) {
        self.lock().conns.remove(&id);
    }

    /// How many sockets are open now.
    pub fn connections(&self) -> usize {
        self.lock().conns.len()
    }

    /// How many sockets were ever opened.
    pub fn opened(&self) -> u64 {
        self.lock().opened
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }

    pub fn acks(&self) -> Vec<SocketAck> {
        self.lock().acks.clone()
    }

    pub fn lose_acks(&self, n: u32) {
        self.lock().lose_acks = n;
    }

    pub fn set_ack_timeout(&self, timeout: Duration) {
        self.lock().ack_timeout = Some(timeout);
    }

    /// Sends `disconnect` (`reason`) to every open socket, closing each after `grace`.
    pub fn disconnect_all(&self, reason: &'static str, grace: Duration) {
        let mut i = self.lock();
        for c in i.conns.values_mut() {
            c.draining = true;
            let _ = c.tx.send(Command::Disconnect(reason, grace));
        }
    }

    /// Drops every open socket without a closing handshake.
    pub fn drop_all(&self) {
        for c in self.lock().conns.values() {
            let _ = c.tx.send(Command::Drop);
        }
    }

    /// A new envelope of `kind` carrying `payload`, delivered now if a socket is open (else
    /// when one opens); its id.
    pub fn enqueue(self: &Arc<Self>, kind: Kind, payload: Value) -> String {
        let id = {
            let mut i = self.lock();
            i.next_envelope += 1;
            let id = envelope::uuid(0xe_0e1d, i.next_envelope);
            i.pending.insert(
                id.clone(),
                Pending {
                    kind,
                    payload,
                    retry_attempt: 0,
                    sent: 0,
                },
            );
            id
        };
        self.send(&id);
        id
    }

    /// Sends every pending envelope no socket has received yet (a socket just said hello).
    pub fn flush(self: &Arc<Self>) {
        let unsent: Vec<String> = self
            .lock()
            .pending
            .iter()
            .filter(|(_, p)| p.sent == 0)
            .map(|(id, _)| id.clone())
            .collect();
        for id in unsent {
            self.send(&id);
        }
    }

    /// Sends pending envelope `id` to the newest socket not draining (else the newest), and
    /// arms its retry timer.
    fn send(self: &Arc<Self>, id: &str) {
        let mut i = self.lock();
        let target = i
            .conns
            .iter()
            .rev()
            .find(|(_, c)| !c.draining)
            .or_else(|| i.conns.iter().next_back())
            .map(|(cid, c)| (*cid, c.tx.clone()));
        let Some((cid, tx)) = target else { return };
        let timeout = i.ack_timeout.unwrap_or(ACK_TIMEOUT);
        let Some(p) = i.pending.get_mut(id) else {
            return;
        };
        p.sent += 1;
        let (kind, attempt, sent) = (p.kind, p.retry_attempt, p.sent);
        let frame = envelope::frame(kind, id, &p.payload, attempt);
        i.deliveries.push(Delivery {
            envelope_id: id.to_owned(),
            kind,
            retry_attempt: attempt,
            connection: cid,
        });
        drop(i);
        let _ = tx.send(Command::Send(frame));
        let hub = Arc::clone(self);
        let id = id.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            hub.expire(&id, sent);
        });
    }

    /// The ack timer of delivery `sent` of envelope `id` ran out: an event is retried (up to
    /// [`MAX_RETRIES`]), anything else is given up.
    fn expire(self: &Arc<Self>, id: &str, sent: u64) {
        let retry = {
            let mut i = self.lock();
            let Some(p) = i.pending.get_mut(id) else {
                return;
            };
            if p.sent != sent {
                return;
            }
            if p.kind == Kind::EventsApi && p.retry_attempt < MAX_RETRIES {
                p.retry_attempt += 1;
                true
            } else {
                i.pending.remove(id);
                false
            }
        };
        if retry {
            self.send(id);
        }
    }

    /// An acknowledgement frame from a socket: `{"envelope_id": …, "payload": …}`.
    pub fn receive(&self, text: &str) {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            tracing::debug!("slack sim: a socket sent a frame that is not JSON");
            return;
        };
        let Some(id) = v.get("envelope_id").and_then(Value::as_str) else {
            return;
        };
        let mut i = self.lock();
        let lost = i.lose_acks > 0;
        if lost {
            i.lose_acks -= 1;
        } else {
            i.pending.remove(id);
        }
        i.acks.push(SocketAck {
            envelope_id: id.to_owned(),
            payload: v.get("payload").cloned(),
            lost,
        });
        drop(i);
        self.acked.notify_waiters();
    }

    /// The first acknowledgement of envelope `id` that Slack saw, waiting up to `timeout`.
    pub async fn ack_of(&self, id: &str, timeout: Duration) -> Option<SocketAck> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.acked.notified();
            if let Some(a) = self
                .lock()
                .acks
                .iter()
                .find(|a| a.envelope_id == id && !a.lost)
            {
                return Some(a.clone());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}
