//! The simulated Slack's integration tests (the Web API, the router, sections), in one test binary:
//! every other file of `tests/all/` is a module of it, so the crate and its dependencies are linked
//! once for all of them (`cargo nextest run -p sopilot-sim-slack MODULE::` runs one file's tests).

mod common;

mod api;
mod router;
mod section;
mod socket;
