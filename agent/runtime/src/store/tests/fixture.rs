//! A store to test: a SQLite file in a temporary folder, or a PostgreSQL schema of its own
//! (created for the test, dropped after it), reopened as often as a test needs.

use crate::store::{Location, Store};

/// Names the server the PostgreSQL half of the suite runs against.
pub const ENV: &str = "SOPILOT_TEST_POSTGRES";

pub enum Fixture {
    Sqlite(tempfile::TempDir),
    Postgres(Schema),
}

impl Fixture {
    pub fn sqlite() -> Fixture {
        Fixture::Sqlite(tempfile::tempdir().unwrap())
    }

    /// A fresh schema, or None (saying so) when `SOPILOT_TEST_POSTGRES` is not set. Under
    /// `CI=true` a missing server is a failure, not a skip.
    pub fn postgres(test: &str) -> Option<Fixture> {
        let Some(base) = base_url() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{ENV} is not set: under CI the store's PostgreSQL tests must run (.ci/run sets it when PostgreSQL answers on 127.0.0.1:5432)"
            );
            eprintln!(
                "skipped {test} on PostgreSQL: set {ENV}=postgres://postgres@127.0.0.1:5432/test to run it"
            );
            return None;
        };
        Some(Fixture::Postgres(Schema::create(&base)))
    }

    /// Where the store is.
    pub fn location(&self) -> Location {
        match self {
            Fixture::Sqlite(dir) => Location::Sqlite(dir.path().join("sopilot.db")),
            Fixture::Postgres(s) => Location::Postgres(s.url()),
        }
    }

    /// A new handle on the store (the first one creates it).
    pub fn open(&self) -> Store {
        Store::open_at(&self.location()).unwrap()
    }

    /// Runs `sql` on the store behind the backend's back (to stage what a test needs).
    pub fn execute(&self, sql: &str) {
        match self {
            Fixture::Sqlite(dir) => {
                let c = rusqlite::Connection::open(dir.path().join("sopilot.db")).unwrap();
                c.execute_batch(sql).unwrap();
            }
            Fixture::Postgres(s) => s.execute(sql),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Fixture::Postgres(_))
    }
}

pub fn base_url() -> Option<String> {
    std::env::var(ENV).ok().filter(|u| !u.trim().is_empty())
}

/// A schema of the test database, dropped with this value.
pub struct Schema {
    base: String,
    pub name: String,
}

impl Schema {
    pub fn create(base: &str) -> Schema {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        admin(base, &format!("CREATE SCHEMA {name}"));
        Schema {
            base: base.to_owned(),
            name,
        }
    }

    /// The server's URL with this schema first on the search path and the schema as the
    /// application name (so a test finds its own connections).
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!(
            "{}{sep}options=-c%20search_path%3D{}&application_name={}",
            self.base, self.name, self.name
        )
    }

    pub fn execute(&self, sql: &str) {
        admin(
            &self.base,
            &format!("SET search_path = {}; {sql}", self.name),
        );
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (base, sql) = (
            self.base.clone(),
            format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        );
        let _ = std::thread::spawn(move || {
            if let Ok(mut c) = postgres::Client::connect(&base, postgres::NoTls) {
                let _ = c.batch_execute(&sql);
            }
        })
        .join();
    }
}

/// Runs `sql` on a connection of its own (on a thread of its own: the synchronous client
/// must not run inside a test's async runtime).
pub fn admin(base: &str, sql: &str) {
    let (base, sql) = (base.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&base, postgres::NoTls)
            .unwrap_or_else(|e| panic!("{ENV}={base}: {e}"));
        c.batch_execute(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    })
    .join()
    .unwrap();
}
