//! Simulated Jira REST API for SOPilot — Cloud's v3 and Data Center's v2 — recording every
//! request.
//!
//! Serves, under `/rest/api/3/`: `POST issue`, `GET issue/{key}`, `POST issue/{key}/comment`,
//! `GET`/`POST issue/{key}/transitions` and `POST search/jql` (the enhanced JQL search with
//! `nextPageToken` paging) with the shapes of Jira's published OpenAPI document: descriptions
//! and comments in the Atlassian Document Format (ADF), errors as an `ErrorCollection`
//! (`{"errorMessages": [...], "errors": {...}}`), 401 without valid credentials, 403 for a
//! user without write permission, 404 for an issue the user may not see (as Jira hides it).
//! Credentials: `Basic base64(email:api_token)` (Cloud) or `Bearer PAT` (Data Center's
//! personal access tokens), on either API. Under `/rest/api/2/` the same resources speak
//! Data Center's REST v2: descriptions and comment bodies are strings (wiki markup; an ADF
//! document is refused with Jira's "Operation value must be a string"), users carry `name`
//! and `key`, and the search is `POST search` paged by `startAt` with a `total`. JQL is a
//! subset (see [`jql`]); anything else is refused with Jira's 400.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let state = sopilot_sim_jira::JiraState::from_section(None)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("http://{}", listener.local_addr()?);
//! tokio::spawn(axum::serve(listener, sopilot_sim_jira::router(state.clone())).into_future());
//! // ... point JIRA_URL at `url`, then assert on state.requests() and state.issue("OPS-1").
//! # Ok(()) }
//! ```
//!
//! The scenario section (`jira:`) is described in [`section`].

pub mod adf;
mod api;
mod auth;
mod error;
pub mod jql;
mod model;
mod router;
pub mod section;
mod state;
mod time;

pub use error::JiraSimError;
pub use model::{Comment, Issue, RecordedRequest};
pub use router::router;
pub use section::{DEFAULT_API_TOKEN, DEFAULT_EMAIL, DEFAULT_PAT};
pub use state::{JiraState, Login, RawRequest, Reply};
