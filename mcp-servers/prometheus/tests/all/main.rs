//! `mcp-prometheus`'s integration tests, in one test binary: the server against a real
//! Prometheus (Debian's `prometheus` and `promtool`) backfilled with a scenario's history,
//! behind stand-ins that check bearer, basic and SigV4 authentication (`cargo nextest run -p
//! mcp-prometheus MODULE::` runs one file's tests).

mod support;

mod auth;
mod errors;
mod surface;
mod tools;
