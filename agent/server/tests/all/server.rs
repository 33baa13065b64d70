//! Servers for the route tests, each over its own in-memory store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use sopilot_runtime::Store;
use sopilot_server::slack::{SlackBot, SlackSettings};
use sopilot_server::{ApiToken, AppState, ServeOptions};

use crate::testing::state_with;

/// A server with `options`.
pub async fn with_options(options: ServeOptions) -> AppState {
    state_with(options, Arc::new(Store::in_memory().unwrap())).await
}

/// A server whose API and `/mcp` accept `tokens` (none: both closed).
pub async fn with_tokens(tokens: Vec<ApiToken>) -> AppState {
    with_options(ServeOptions {
        api_tokens: tokens,
        ..ServeOptions::default()
    })
    .await
}

/// A server with a Slack bot verifying with `secret`, posting nowhere, `approvers` deciding.
pub async fn with_slack(secret: &str, approvers: &[&str]) -> AppState {
    let store = Arc::new(Store::in_memory().unwrap());
    let settings = SlackSettings {
        approvers: approvers.iter().map(|a| (*a).to_owned()).collect(),
        ..SlackSettings::default()
    };
    let bot = SlackBot::new(settings, secret, None, store.clone());
    let options = ServeOptions {
        slack: Some(bot),
        ..ServeOptions::default()
    };
    state_with(options, store).await
}
