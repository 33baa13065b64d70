//! What the MCP servers' integration tests share: the repository root ([`repo`]), a server
//! binary with its arguments and environment ([`Server`]) spawned over stdio as a connected
//! [`Client`] or over streamable HTTP ([`HttpServer`]), tool calls with a timeout and what they
//! returned ([`Reply`]), the independent Python MCP client run against a server
//! ([`python_client`]), moto as a second AWS backend ([`moto`]), and with feature `aws` the
//! simulated AWS seeded from the repository's scenario (module `aws`).
//!
//! A dev-dependency only: everything here panics on failure, which is how a test reports it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "aws")]
pub mod aws;
mod moto;
mod python;
mod server;

use std::path::PathBuf;

pub use moto::{Moto, moto};
pub use python::{PythonReport, Via, python_client};
pub use server::{Client, HttpServer, Reply, Server};

/// The repository's root directory.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
