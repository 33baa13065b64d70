//! The simulated environment's integration tests (starting it, the scenario files), in one test
//! binary: every other file of `tests/all/` is a module of it, so the crate and its dependencies
//! are linked once for all of them (`cargo nextest run -p sopilot-sim-env MODULE::` runs one file's
//! tests).

mod common;

mod env;
mod jira;
mod prometheus;
mod scenarios;
