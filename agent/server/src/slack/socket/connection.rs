//! One Socket Mode WebSocket: opened from a one-time URL, read until it closes, with a ping
//! every few seconds and a deadline on silence (a half-open connection is noticed, not
//! waited on forever). Envelopes go to [`dispatch`] in tasks of their own; their
//! acknowledgements come back through a channel and are written here. The supervisor hears
//! of `hello`, of `disconnect` notices and of the end.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use sopilot_runtime::CancellationToken;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::dispatch::dispatch;
use super::frame::{Frame, parse};
use crate::AppState;
use crate::slack::{SlackBot, SlackClient, SlackError};

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Deadlines and rhythms of a socket.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Opening the WebSocket (TCP, TLS, upgrade).
    pub connect: Duration,
    /// From open to Slack's `hello`.
    pub hello: Duration,
    /// Between two pings the bot sends.
    pub ping_every: Duration,
    /// The longest silence (no frame, no pong) before the socket counts as dead.
    pub read_timeout: Duration,
    /// How long a socket Slack said it will close is kept open for envelopes in flight.
    pub drain: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            connect: Duration::from_secs(10),
            hello: Duration::from_secs(10),
            ping_every: Duration::from_secs(10),
            read_timeout: Duration::from_secs(35),
            drain: Duration::from_secs(15),
        }
    }
}

/// Why a socket could not be opened, or ended badly.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnError {
    #[error("{0} (check SLACK_APP_TOKEN: an app-level token, xapp-..., with connections:write)")]
    Open(#[from] SlackError),
    #[error("opening the WebSocket took more than {0} s")]
    ConnectTimeout(u64),
    #[error("WebSocket: {0}")]
    Ws(#[from] tungstenite::Error),
    #[error("Slack sent no hello within {0} s")]
    NoHello(u64),
    #[error("nothing from Slack for {0} s, not even a pong")]
    Silent(u64),
}

/// What the supervisor hears from a socket.
#[derive(Debug)]
pub(crate) enum Notice {
    Hello { conn: u64 },
    Disconnect { conn: u64, reason: String },
    Ended { conn: u64, error: Option<ConnError> },
}

/// What a socket needs besides itself.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub state: AppState,
    pub bot: SlackBot,
    pub notices: mpsc::UnboundedSender<Notice>,
    pub timing: Timing,
    pub stop: CancellationToken,
}

/// Asks Slack for a socket URL (`apps.connections.open`) and opens it.
pub(crate) async fn open(
    app: &SlackClient,
    tls: &Arc<rustls::ClientConfig>,
    timing: &Timing,
) -> Result<Ws, ConnError> {
    // The URL holds a one-time ticket: it is never logged.
    let url = app.apps_connections_open().await?;
    let connecting = tokio_tungstenite::connect_async_tls_with_config(
        url.as_str(),
        None,
        true,
        Some(Connector::Rustls(Arc::clone(tls))),
    );
    let (ws, _) = tokio::time::timeout(timing.connect, connecting)
        .await
        .map_err(|_| ConnError::ConnectTimeout(timing.connect.as_secs()))??;
    Ok(ws)
}

/// Serves socket `conn` until it ends, then says so.
pub(crate) async fn run(conn: u64, mut ws: Ws, ctx: Ctx) {
    let error = serve(conn, &mut ws, &ctx).await.err();
    let _ = ctx.notices.send(Notice::Ended { conn, error });
}

async fn serve(conn: u64, ws: &mut Ws, ctx: &Ctx) -> Result<(), ConnError> {
    let t = ctx.timing;
    let (acks, mut to_send) = mpsc::unbounded_channel::<String>();
    let opened = Instant::now();
    let mut ping = tokio::time::interval_at(opened + t.ping_every, t.ping_every);
    let mut heard = opened;
    let mut said_hello = false;
    let mut drain_until: Option<Instant> = None;
    loop {
        let quiet = if said_hello {
            heard + t.read_timeout
        } else {
            opened + t.hello
        };
        let deadline = drain_until.map_or(quiet, |d| d.min(quiet));
        tokio::select! {
            () = ctx.stop.cancelled() => {
                let _ = ws.close(None).await;
                return Ok(());
            }
            Some(ack) = to_send.recv() => ws.send(Message::Text(ack.into())).await?,
            msg = ws.next() => {
                heard = Instant::now();
                match msg {
                    None | Some(Err(tungstenite::Error::ConnectionClosed)) => return Ok(()),
                    Some(Err(e)) => return Err(e.into()),
                    Some(Ok(Message::Text(text))) => match parse(text.as_str()) {
                        Ok(Frame::Hello { .. }) => {
                            said_hello = true;
                            let _ = ctx.notices.send(Notice::Hello { conn });
                        }
                        Ok(Frame::Disconnect { reason }) => {
                            drain_until = Some(Instant::now() + t.drain);
                            let _ = ctx.notices.send(Notice::Disconnect { conn, reason });
                        }
                        Ok(Frame::Envelope(envelope)) => {
                            tokio::spawn(dispatch(ctx.state.clone(), ctx.bot.clone(), envelope, acks.clone()));
                        }
                        Ok(Frame::Other(kind)) => tracing::debug!("Socket Mode frame of type {kind} ignored"),
                        Err(e) => tracing::warn!("{e}"),
                    },
                    // Pongs count as heard; pings are answered by tungstenite; a close frame
                    // is answered too, and the stream then ends.
                    Some(Ok(_)) => {}
                }
            }
            _ = ping.tick() => ws.send(Message::Ping(Default::default())).await?,
            () = sleep_until(deadline) => {
                if drain_until.is_some_and(|d| d <= Instant::now()) {
                    let _ = ws.close(None).await;
                    return Ok(());
                }
                return Err(if said_hello {
                    ConnError::Silent(t.read_timeout.as_secs())
                } else {
                    ConnError::NoHello(t.hello.as_secs())
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// A WebSocket server that upgrades, says hello if asked, then neither reads nor writes
    /// (so it answers no ping): a half-open connection.
    async fn mute_server(hello: bool) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            if hello {
                let frame = r#"{"type":"hello","num_connections":1}"#;
                ws.send(Message::Text(frame.into())).await.unwrap();
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        format!("ws://{addr}/link/")
    }

    async fn ctx(notices: mpsc::UnboundedSender<Notice>) -> Ctx {
        let app = super::super::app_client("http://127.0.0.1:9/api/", "xapp-1-A1-1-x").unwrap();
        let store = Arc::new(sopilot_runtime::Store::in_memory().unwrap());
        let bot = SlackBot::socket_mode(Default::default(), app, None, store);
        Ctx {
            state: crate::testing::state(Vec::new(), Some(bot.clone())).await,
            bot,
            notices,
            timing: Timing {
                hello: Duration::from_millis(300),
                ping_every: Duration::from_millis(100),
                read_timeout: Duration::from_millis(400),
                ..Timing::default()
            },
            stop: CancellationToken::new(),
        }
    }

    #[tokio::test]
    async fn a_socket_without_hello_or_gone_silent_ends_in_an_error() {
        for hello in [false, true] {
            let (tx, mut rx) = mpsc::unbounded_channel();
            let (ws, _) = tokio_tungstenite::connect_async(mute_server(hello).await)
                .await
                .unwrap();
            let started = std::time::Instant::now();
            tokio::time::timeout(Duration::from_secs(5), run(7, ws, ctx(tx).await))
                .await
                .expect("the read deadline ends it");
            let mut notices = Vec::new();
            while let Ok(n) = rx.try_recv() {
                notices.push(n);
            }
            match (hello, notices.as_slice()) {
                (
                    false,
                    [
                        Notice::Ended {
                            conn: 7,
                            error: Some(ConnError::NoHello(_)),
                        },
                    ],
                ) => {}
                (
                    true,
                    [
                        Notice::Hello { conn: 7 },
                        Notice::Ended {
                            conn: 7,
                            error: Some(ConnError::Silent(_)),
                        },
                    ],
                ) => {
                    // Pings went out, but no pong came: dead after the read timeout.
                    assert!(started.elapsed() >= Duration::from_millis(400));
                }
                other => panic!("unexpected: {other:?}"),
            }
        }
    }
}
