//! Simulated Slack Web API for SOPilot, recording every request.
//!
//! Serves `auth.test`, `chat.postMessage`, `chat.postEphemeral`, `chat.update`,
//! `conversations.history`, `conversations.replies`, `conversations.list`,
//! `conversations.info`, `reactions.add`, `users.info`, `usergroups.users.list` and
//! `apps.connections.open` under `/api/` with Slack's shapes:
//! `Authorization: Bearer` tokens, JSON bodies for write methods and query or form arguments
//! for all, `ok: false` errors with HTTP 200, HTTP 429 with `Retry-After` when throttled,
//! cursor pagination, unique ordered message timestamps, and threads. Socket Mode too: the
//! WebSocket at `/link/` that `apps.connections.open` points to, carrying events, slash
//! commands and interactions as envelopes (see `SlackState::socket_*`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let state = sopilot_sim_slack::SlackState::from_section(None)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("http://{}/api/", listener.local_addr()?);
//! tokio::spawn(axum::serve(listener, sopilot_sim_slack::router(state.clone())).into_future());
//! // ... point SLACK_API_URL at `url`, then assert on state.requests() and state.messages("#incidents").
//! # Ok(()) }
//! ```
//!
//! The scenario section is documented in `docs/scenarios-slack.md`.

mod blocks;
mod error;
mod methods;
mod model;
mod router;
mod section;
mod socket;
mod state;
mod ts;

pub use error::SlackSimError;
pub use methods::Method;
pub use model::{AuthOutcome, Ephemeral, Message, RateLimit, RecordedRequest};
pub use router::router;
pub use section::{DEFAULT_APP_TOKEN, DEFAULT_TOKEN};
pub use socket::{ACK_TIMEOUT, Delivery, Kind as EnvelopeKind, MAX_RETRIES, SocketAck};
pub use state::{RawRequest, Reply, SlackState};
