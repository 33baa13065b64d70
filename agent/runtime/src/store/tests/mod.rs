//! The store's tests. The suite (`suite.rs`, `lease.rs`, `queue.rs`, …) runs against both
//! backends: SQLite in a temporary folder, and PostgreSQL in a schema of its own when `SOPILOT_TEST_POSTGRES`
//! names a server (`postgres://postgres@127.0.0.1:5432/test`; `.ci/run` and `scripts/test`
//! set it when one answers). Without it the PostgreSQL half says it is skipped and passes,
//! except under `CI=true`, where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod dedup;
mod execution;
mod fixture;
mod lease;
mod postgres;
mod queue;
mod suite;

pub(super) use fixture::Fixture;

/// `both_backends!(name, ...)`: for each suite function `name(&Fixture)`, a test
/// `sqlite::name` and a test `postgres::name`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(&$crate::store::tests::Fixture::sqlite());
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                if let Some(f) = $crate::store::tests::Fixture::postgres(stringify!($name)) {
                    super::$name(&f);
                }
            })*
        }
    };
}
pub(super) use both_backends;
