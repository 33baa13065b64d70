//! `mcp-cloudwatch`'s integration tests (the binary over MCP, against the simulated AWS and moto),
//! in one test binary: every other file of `tests/all/` is a module of it, so the crate and its
//! dependencies are linked once for all of them (`cargo nextest run -p mcp-cloudwatch MODULE::`
//! runs one file's tests).

mod common;

mod correlate;
mod errors;
mod log_secrets;
mod moto;
mod predict;
mod python_client;
mod surface;
mod tools;
mod xray;
