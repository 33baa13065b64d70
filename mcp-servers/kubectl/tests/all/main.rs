//! `mcp-kubectl`'s integration tests (the binary over MCP, against the simulated cluster), in one
//! test binary: every other file of `tests/all/` is a module of it, so the crate and its
//! dependencies are linked once for all of them (`cargo nextest run -p mcp-kubectl MODULE::` runs
//! one file's tests).

mod common;

mod changes;
mod diagnosis;
mod eks;
mod karpenter;
mod mutations;
mod no_leaks;
mod python_client;
mod rbac;
mod surface;
