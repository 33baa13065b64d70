//! The PostgreSQL connection, owned by a thread of its own.
//!
//! The store's API is synchronous and is called from async code; the synchronous `postgres`
//! client runs its own small runtime and must not be driven from inside another one. So one
//! OS thread owns the connection and runs the store's requests in order, and a caller blocks
//! on the answer like it blocks on SQLite's lock and fsync.
//!
//! Every call is bounded: connecting by [`CONNECT_TIMEOUT`], each statement by the server's
//! `statement_timeout` ([`STATEMENT_TIMEOUT`]), a caller's wait by [`REPLY_TIMEOUT`]. A broken
//! connection fails the call it broke (naming the URL, never its password) and is replaced
//! by a new one on the next call; a connection idle for [`IDLE_CHECK`] is checked first.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use postgres::{Client, Config};

use super::tls::{self, MakeRustls, Mode};
use crate::store::StoreError;
use crate::store::location::query_start;

/// How long connecting may take.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one statement may run on the server.
pub(super) const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a caller waits for its answer (its turn, a reconnect and its statements).
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// A connection unused this long is checked before use, so a server restart in between
/// costs a reconnect instead of a failed call.
const IDLE_CHECK: Duration = Duration::from_secs(5);

type Job = Box<dyn FnOnce(&mut Worker) + Send>;

/// A handle on the connection thread. Dropping it ends the thread and closes the connection.
#[derive(Debug)]
pub(super) struct PgClient {
    jobs: mpsc::Sender<Job>,
    /// The URL with its password hidden.
    shown: String,
    /// The URL's `sslmode`.
    mode: Mode,
}

struct Worker {
    config: Config,
    tls: MakeRustls,
    client: Option<Client>,
    last_used: Instant,
}

impl PgClient {
    /// Starts the thread and connects; fails when the first connection does.
    pub fn connect(url: &str, shown: &str) -> Result<PgClient, StoreError> {
        let unusable = |what: String| StoreError::Unavailable {
            url: shown.to_owned(),
            what,
        };
        let (url, settings) = tls::split_url(url, query_start(url)).map_err(unusable)?;
        let tls = tls::connector(&settings).map_err(unusable)?;
        let mut config: Config = url.parse().map_err(|source| StoreError::Postgres {
            url: shown.to_owned(),
            source,
        })?;
        config
            .ssl_mode(settings.mode.driver())
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_user_timeout(STATEMENT_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30));
        if config.get_application_name().is_none() {
            config.application_name("sopilot");
        }
        let (jobs, inbox) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sopilot-store-pg".into())
            .spawn(move || {
                let mut worker = Worker {
                    config,
                    tls,
                    client: None,
                    last_used: Instant::now(),
                };
                for job in inbox {
                    // A request that panics (a bug) loses its answer and its connection, not
                    // the thread: the next request connects anew.
                    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        job(&mut worker);
                    }));
                    if ran.is_err() {
                        worker.client = None;
                    }
                }
            })
            .map_err(|e| StoreError::Unavailable {
                url: shown.to_owned(),
                what: format!("cannot start the connection thread: {e}"),
            })?;
        let client = PgClient {
            jobs,
            shown: shown.to_owned(),
            mode: settings.mode,
        };
        client.call(|_| Ok(()))?;
        Ok(client)
    }

    /// Runs `f` on the connection (connecting first if needed) and returns its answer.
    pub fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |w: &mut Worker| {
            let result = w.client().and_then(f);
            w.last_used = Instant::now();
            let _ = tx.send(result);
        });
        self.jobs
            .send(job)
            .map_err(|_| self.unavailable("the connection thread stopped"))?;
        match rx.recv_timeout(REPLY_TIMEOUT) {
            Ok(result) => result.map_err(|source| self.failed(source)),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(self.unavailable(&format!(
                "no answer within {} s (the server or the network is stuck)",
                REPLY_TIMEOUT.as_secs()
            ))),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(self.unavailable("the request failed on the connection thread"))
            }
        }
    }

    /// A failed call; a TLS failure under an `sslmode` that requires TLS says what to change.
    fn failed(&self, source: postgres::Error) -> StoreError {
        let text = match std::error::Error::source(&source) {
            Some(cause) => format!("{source}: {cause}"),
            None => source.to_string(),
        };
        if self.mode.requires_tls() && text.starts_with("error performing TLS handshake") {
            return self.unavailable(&format!(
                "{text} (sslmode={} requires TLS: turn TLS on in the server, fix its certificate or sslrootcert=, or set sslmode=prefer to fall back to an unencrypted connection)",
                self.mode.as_str()
            ));
        }
        StoreError::Postgres {
            url: self.shown.clone(),
            source,
        }
    }

    fn unavailable(&self, what: &str) -> StoreError {
        StoreError::Unavailable {
            url: self.shown.clone(),
            what: what.to_owned(),
        }
    }
}

impl Worker {
    /// The connection, replaced by a new one when it is closed (or idle and not answering).
    fn client(&mut self) -> Result<&mut Client, postgres::Error> {
        let idle = self.last_used.elapsed() > IDLE_CHECK;
        let client = match self.client.take().filter(|c| !c.is_closed()) {
            Some(mut c) if idle => match c.is_valid(CONNECT_TIMEOUT) {
                Ok(()) => c,
                Err(_) => connect(&self.config, &self.tls)?,
            },
            Some(c) => c,
            None => connect(&self.config, &self.tls)?,
        };
        Ok(self.client.insert(client))
    }
}

/// A new connection, set up.
fn connect(config: &Config, tls: &MakeRustls) -> Result<Client, postgres::Error> {
    let mut client = config.connect(tls.clone())?;
    set_up(&mut client)?;
    Ok(client)
}

/// The session's settings: every commit durable (whatever the server's default), and every
/// statement bounded.
fn set_up(client: &mut Client) -> Result<(), postgres::Error> {
    client.batch_execute(&format!(
        "SET synchronous_commit = on; SET statement_timeout = {}; \
         SET idle_in_transaction_session_timeout = {}",
        STATEMENT_TIMEOUT.as_millis(),
        2 * STATEMENT_TIMEOUT.as_millis()
    ))
}
