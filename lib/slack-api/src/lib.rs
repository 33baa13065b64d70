//! The one Slack Web API client of SOPilot: the server's bot (status and approval messages,
//! ephemeral replies, response URLs, user groups) and `mcp-slack` (the model's Slack tools)
//! both call Slack through [`SlackClient`].
//!
//! What every call gets, whoever makes it:
//! - read methods go as GET with query arguments, write methods as POST with a JSON body
//!   ([`Args`]), with `Authorization: Bearer` from a [`Token`] that no `Debug`, log or error
//!   shows;
//! - a timeout on every request ([`Options::request_timeout`]); a connection that fails is
//!   tried again (nothing reached Slack), a read that meets a server error too;
//! - HTTP 429 waited out as `Retry-After` asks, within a bound ([`RetryPolicy`]), then
//!   [`Error::RateLimited`];
//! - Slack's `ok: false` as [`Error::Api`], its `error` code parsed into [`SlackCode`] and
//!   explained in a sentence that says what to do;
//! - Slack's limits on text ([`text`]): message text over 40,000 characters is cut with a
//!   visible mark by the typed methods ([`SlackClient::post_message`] and friends);
//! - the base URL from `SLACK_API_URL` ([`api_url_from_env`]), so tests and `--simulate`
//!   talk to the simulated Slack.
//!
//! What is posted, and who may see it, is the callers' business: this crate neither redacts
//! nor refuses content.

mod client;
mod config;
mod error;
mod methods;
pub mod text;

pub use client::{Args, SlackClient};
pub use config::{
    API_URL_ENV, DEFAULT_API_URL, Options, RetryPolicy, TOKEN_ENV, Token, api_base,
    api_url_from_env,
};
pub use error::{ApiFailure, Error, SlackCode};
pub use methods::{Identity, Posted, next_cursor};
/// The URL type of [`api_base`] and [`SlackClient::connect`].
pub use reqwest::Url;
