//! Where a store is: a SQLite file or a PostgreSQL URL, as `store:`, `--store` and
//! `SOPILOT_STORE` give it; and how it is shown (never with its password).

use std::fmt;
use std::path::{Path, PathBuf};

/// A store's location.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (created with its folder when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://user:password@host:port/db?options`).
    Postgres(String),
}

impl Location {
    /// `postgres://…` and `postgresql://…` are PostgreSQL; anything else is a SQLite file.
    pub fn of(path: &Path) -> Location {
        match path.to_str() {
            Some(s) if is_postgres_url(s) => Location::Postgres(s.to_owned()),
            _ => Location::Sqlite(path.to_owned()),
        }
    }

    /// Whether the store is a file (that may not exist yet) rather than a server.
    pub fn is_file(&self) -> bool {
        matches!(self, Location::Sqlite(_))
    }
}

/// Shown with the password replaced by `***`.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// `url` with the password of its user part (`user:password@`) and any `password=` query
/// parameter replaced by `***`.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority_end, _) = rest
        .char_indices()
        .find(|(_, c)| matches!(c, '/' | '?'))
        .unwrap_or((rest.len(), ' '));
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// This host's name (the runs' owners name it), `localhost` when it cannot be read.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_postgres_and_paths_are_sqlite() {
        assert!(matches!(
            Location::of(Path::new("postgresql://db/sopilot")),
            Location::Postgres(_)
        ));
        assert!(matches!(
            Location::of(Path::new("postgres://u@db/sopilot")),
            Location::Postgres(_)
        ));
        assert!(Location::of(Path::new("/var/lib/sopilot/postgres.db")).is_file());
        assert!(Location::of(Path::new("postgres.db")).is_file());
    }

    #[test]
    fn passwords_are_never_shown() {
        let shown = |s: &str| Location::of(Path::new(s)).to_string();
        assert_eq!(
            shown("postgres://sopilot:s3cr%40t@db.internal:5432/sopilot?sslmode=disable"),
            "postgres://sopilot:***@db.internal:5432/sopilot?sslmode=disable"
        );
        assert_eq!(
            shown("postgresql://db/sopilot?user=a&password=hunter2"),
            "postgresql://db/sopilot?user=a&password=***"
        );
        assert_eq!(
            shown("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert!(!format!("{:?}", Location::of(Path::new("postgres://a:pw@h/d"))).contains("pw"));
    }
}
