//! `mcp-slack`'s integration tests (the binary over MCP, against the simulated Slack), in one test
//! binary: every other file of `tests/all/` is a module of it, so the crate and its dependencies
//! are linked once for all of them (`cargo nextest run -p mcp-slack MODULE::` runs one file's
//! tests).

mod common;

mod approvals;
mod fetching;
mod posting;
mod python_client;
mod reading;
mod resilience;
mod surface;
