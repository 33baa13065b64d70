//! The simulated Jira's integration tests (the REST API, the router, sections), in one test
//! binary (`cargo nextest run -p sopilot-sim-jira MODULE::` runs one file's tests).

mod common;

mod api;
mod api_v2;
mod router;
mod section;
