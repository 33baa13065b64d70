//! The one poller behind every `/events` stream of a server. However many pages are open,
//! the store is read once a tick: once for the pending approvals and once for each thing
//! watched (the runs list, or one run), and each stream is told through a
//! [`tokio::sync::watch`] channel when what it watches changed. The poller starts with the
//! first stream and stops when the last one ends (or the server shuts down).
//!
//! Streams are capped: [`MAX_PER_SESSION`] for a session (one per open page, well above what
//! a person keeps open) and [`MAX_TOTAL`] for the whole server. A stream is admitted only
//! after its session has been checked, so an unauthenticated request never starts the poller
//! or reads the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use crate::AppState;

/// How often the store is read, for all streams together.
#[cfg(not(test))]
pub const EVERY: Duration = Duration::from_secs(1);
#[cfg(test)]
pub const EVERY: Duration = Duration::from_millis(40);

/// The most `/events` streams one session may hold at once.
pub const MAX_PER_SESSION: usize = 6;

/// The most `/events` streams the server holds at once.
pub const MAX_TOTAL: usize = 128;

/// What a stream watches: the runs list and approvals (`None`), or one run.
type Key = Option<String>;

/// Why a stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error(
        "this session already has {MAX_PER_SESSION} live connections (/events, one per open console page); close a console tab and reload this page (it works without live updates meanwhile)"
    )]
    Session,
    #[error(
        "the console already holds {MAX_TOTAL} live connections (/events), its limit; reload this page later (it works without live updates meanwhile)"
    )]
    Full,
}

/// How much the poller read: its ticks that read the store, and the readings in all
/// (one for the approvals and one for each thing watched, a tick).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub ticks: u64,
    pub reads: u64,
}

/// One server's poller and the streams it feeds.
struct Feed {
    state: AppState,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    watched: HashMap<Key, watch::Sender<Option<String>>>,
    per_session: HashMap<String, usize>,
    total: usize,
    stats: Stats,
}

/// The feeds of the servers in this process (one in production), by [`server`].
static FEEDS: OnceLock<Mutex<HashMap<usize, Arc<Feed>>>> = OnceLock::new();

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn feeds() -> MutexGuard<'static, HashMap<usize, Arc<Feed>>> {
    lock(FEEDS.get_or_init(Mutex::default))
}

/// A server's identity: its options' address, stable while its feed (which holds the state)
/// exists.
fn server(s: &AppState) -> usize {
    Arc::as_ptr(&s.options) as usize
}

/// A stream's admission: gives its place back when the stream ends.
struct Ticket {
    feed: Arc<Feed>,
    session: String,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut inner = lock(&self.feed.inner);
        inner.total = inner.total.saturating_sub(1);
        if let Some(n) = inner.per_session.get_mut(&self.session) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.per_session.remove(&self.session);
            }
        }
    }
}

/// A stream's view of what it watches: the version the poller last read (`None` before its
/// first reading).
pub struct Subscription {
    rx: watch::Receiver<Option<String>>,
    _ticket: Ticket,
}

impl Subscription {
    /// The latest version read, marked as seen.
    pub fn current(&mut self) -> Option<String> {
        self.rx.borrow_and_update().clone()
    }

    /// Waits for a new version; `false` when the poller stopped (the server shuts down).
    pub async fn changed(&mut self) -> bool {
        self.rx.changed().await.is_ok()
    }
}

/// Admits a stream of `session` watching `run` (or the runs list), starting the server's
/// poller if it is the first.
pub fn subscribe(
    s: &AppState,
    session: &str,
    run: Option<String>,
) -> Result<Subscription, Refused> {
    let mut all = feeds();
    let feed = match all.get(&server(s)) {
        Some(f) => Arc::clone(f),
        None => {
            let f = Arc::new(Feed {
                state: s.clone(),
                inner: Mutex::default(),
            });
            all.insert(server(s), Arc::clone(&f));
            tokio::spawn(poll(Arc::clone(&f)));
            f
        }
    };
    let mut inner = lock(&feed.inner);
    if inner.total >= MAX_TOTAL {
        return Err(Refused::Full);
    }
    let mine = inner.per_session.get(session).copied().unwrap_or(0);
    if mine >= MAX_PER_SESSION {
        return Err(Refused::Session);
    }
    inner.per_session.insert(session.to_owned(), mine + 1);
    inner.total += 1;
    let rx = inner
        .watched
        .entry(run)
        .or_insert_with(|| watch::channel(None).0)
        .subscribe();
    drop(inner);
    Ok(Subscription {
        rx,
        _ticket: Ticket {
            feed,
            session: session.to_owned(),
        },
    })
}

/// What the poller of `s`'s server has read so far (`None`: no poller runs).
#[cfg(test)]
pub fn stats(s: &AppState) -> Option<Stats> {
    feeds().get(&server(s)).map(|f| lock(&f.inner).stats)
}

/// The things watched now; `None` (and the feed forgotten) when nothing is.
fn watched(feed: &Feed) -> Option<Vec<Key>> {
    let mut all = feeds();
    let mut inner = lock(&feed.inner);
    inner.watched.retain(|_, tx| tx.receiver_count() > 0);
    if inner.watched.is_empty() {
        all.remove(&server(&feed.state));
        return None;
    }
    Some(inner.watched.keys().cloned().collect())
}

/// Reads the store once a tick for everything watched, until nothing is or the server shuts
/// down.
async fn poll(feed: Arc<Feed>) {
    let stop = feed.state.runs.shutdown_token();
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let Some(keys) = watched(&feed) else {
            return;
        };
        let state = feed.state.clone();
        let read = tokio::task::spawn_blocking(move || super::events::versions(&state, &keys));
        let Ok(read) = read.await else {
            continue;
        };
        let mut inner = lock(&feed.inner);
        inner.stats.ticks += 1;
        inner.stats.reads += read.len() as u64 + 1;
        for (key, v) in read {
            if let Some(tx) = inner.watched.get(&key) {
                tx.send_if_modified(|cur| {
                    let new = cur.as_deref() != Some(v.as_str());
                    if new {
                        *cur = Some(v);
                    }
                    new
                });
            }
        }
    }
    // Shutting down: dropping the senders ends every stream.
    let mut all = feeds();
    if all
        .get(&server(&feed.state))
        .is_some_and(|f| Arc::ptr_eq(f, &feed))
    {
        all.remove(&server(&feed.state));
    }
    drop(all);
    lock(&feed.inner).watched.clear();
}
