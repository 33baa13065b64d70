//! Test helpers of the unit tests: those the in-process route tests share
//! ([`router`], re-exported here), and a state built around a Slack bot's own store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod router;

use std::sync::Arc;

use sopilot_runtime::Store;

pub use router::*;

use crate::auth::ApiToken;
use crate::{AppState, ServeOptions};

/// A server state with `tokens` and, optionally, a Slack bot (over the bot's store).
pub async fn state(tokens: Vec<ApiToken>, slack: Option<crate::slack::SlackBot>) -> AppState {
    let store = match &slack {
        Some(bot) => bot.store.clone(),
        None => Arc::new(Store::in_memory().unwrap()),
    };
    let options = ServeOptions {
        api_tokens: tokens,
        slack,
        ..ServeOptions::default()
    };
    state_with(options, store).await
}
