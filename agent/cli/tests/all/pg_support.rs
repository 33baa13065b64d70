//! A PostgreSQL schema of a test's own, for the tests of `--store postgres://…` and of
//! several replicas on one store. They run when `SOPILOT_TEST_POSTGRES` names a server
//! (`.ci/run` and `scripts/test` set it when one answers); they say they are skipped
//! otherwise, and fail under `CI=true`.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr
)]

use std::process::Command;

/// A schema of the test database, dropped with this value (through `psql`).
pub struct Schema {
    base: String,
    name: String,
}

impl Schema {
    /// A fresh schema named after this process and `tag`, or `None` (skipped) without a
    /// server.
    pub fn create(tag: &str) -> Option<Schema> {
        let Some(base) = std::env::var("SOPILOT_TEST_POSTGRES")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "SOPILOT_TEST_POSTGRES is not set: under CI the PostgreSQL tests must run"
            );
            eprintln!("skipped: set SOPILOT_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test");
            return None;
        };
        let name = format!("{tag}_{}", std::process::id());
        psql(
            &base,
            &format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"),
        );
        Some(Schema { base, name })
    }

    /// The store URL: the server's, with the schema as its search path.
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.base, self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        psql(
            &self.base,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        );
    }
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .expect("psql (PostgreSQL's client) runs");
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
