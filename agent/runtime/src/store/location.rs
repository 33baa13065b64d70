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
///
/// The password may hold `/`, `?`, `#`, `@`, `:` or percent-escapes, escaped or not: the user
/// part runs to the *last* `@` followed by something that can be a host list (the host never
/// holds an `@`), so every character of a password is hidden, at worst with some of what
/// follows it (never the other way round).
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (userinfo, rest) = match last_userinfo_end(rest) {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(authority_end);
    let user = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((name, _)) => format!("{name}:***@"),
            None => format!("{u}@"),
        },
        None => String::new(),
    };
    format!("{scheme}://{user}{host}{}", redact_query(tail))
}

/// The hosts of `url`'s authority (after the user part, before the path or query), as
/// written: `db.internal`, `127.0.0.1:5432`, `a:5432,b:5432`, or empty (the local socket).
pub(crate) fn hosts(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = last_userinfo_end(rest).map_or(rest, |at| &rest[at + 1..]);
    &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())]
}

/// Where `url`'s query begins (its `?`), after the user part (whose password may hold a `?`).
pub(crate) fn query_start(url: &str) -> Option<usize> {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[after_scheme..];
    let from = last_userinfo_end(rest).map_or(0, |at| at + 1);
    rest[from..].find('?').map(|q| after_scheme + from + q)
}

/// Where the user part ends: the last `@` whose following authority (up to `/`, `?`, `#` or
/// the end) can be a host list and whose user name (before the first `:`) holds no `/`, `?`
/// or `#` (so an `@` in the path or the query is not taken for it).
fn last_userinfo_end(rest: &str) -> Option<usize> {
    rest.match_indices('@').map(|(i, _)| i).rev().find(|&i| {
        let after = &rest[i + 1..];
        let host = &after[..after.find(['/', '?', '#']).unwrap_or(after.len())];
        let name = rest[..i].split(':').next().unwrap_or_default();
        host.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:,[]%".contains(c))
            && !name.contains(['/', '?', '#'])
    })
}

/// A path and query with the value of every `password` parameter (its name percent-escaped or
/// not, in any case) replaced by `***`.
fn redact_query(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if percent_decoded(k).eq_ignore_ascii_case("password") => {
                format!("{k}=***")
            }
            _ => kv.to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// `s` with its `%XX` escapes decoded (a malformed escape kept as it is).
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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

    #[test]
    fn a_password_with_url_delimiters_or_escapes_is_hidden_whole() {
        let cases = [
            ("postgres://u:pa/ss@db:5432/x", "postgres://u:***@db:5432/x"),
            (
                "postgres://u:pa?ss@db/x?sslmode=disable",
                "postgres://u:***@db/x?sslmode=disable",
            ),
            ("postgres://u:p@ss@db/x", "postgres://u:***@db/x"),
            ("postgres://u:pa#ss@db/x", "postgres://u:***@db/x"),
            ("postgres://u:p%40s%2Fs@db/x", "postgres://u:***@db/x"),
            (
                "postgres://u:a:b@[::1]:5432/x",
                "postgres://u:***@[::1]:5432/x",
            ),
            (
                "postgres://u:pw@h1:5432,h2:5433/x",
                "postgres://u:***@h1:5432,h2:5433/x",
            ),
            (
                "postgres://u:pw@/x?host=/run/pg",
                "postgres://u:***@/x?host=/run/pg",
            ),
            (
                "postgres://u@db/x?application_name=me@corp",
                "postgres://u@db/x?application_name=me@corp",
            ),
            (
                "postgres://db/x?%70assword=pw&PASSWORD=pw",
                "postgres://db/x?%70assword=***&PASSWORD=***",
            ),
            (
                "postgres://db/x?password=S:E@cret",
                "postgres://db/x?password=***",
            ),
            (
                "postgres://db/x?user=a&password=p@ss/w",
                "postgres://db/x?user=a&password=***",
            ),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn the_query_starts_after_the_user_part() {
        let url = "postgres://u:p?w@db/x?sslmode=require";
        assert_eq!(
            query_start(url).map(|q| &url[q..]),
            Some("?sslmode=require")
        );
        assert_eq!(query_start("postgres://u:p?w@db/x"), None);
        assert_eq!(query_start("postgres://db/x?a=b@c"), Some(15));
    }

    /// Passwords drawn from URL delimiters, escapes and letters, in several URL shapes: none
    /// is ever shown, in part or whole, and the host is shown unless the password is hidden
    /// with it.
    #[test]
    fn no_generated_password_is_ever_shown() {
        const PIECES: [&str; 12] = [
            "/", "?", "@", "#", ":", "&", "=", "%40", "%2F", "%", "Zq", "x9",
        ];
        let mut seed: u64 = 0x5eed;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(seed >> 33).unwrap() % n
        };
        for round in 0..2000 {
            let in_query = round % 3 == 2;
            let mut pw = String::from("SECRET");
            for _ in 0..(1 + next(6)) {
                // In the query a raw `&` ends the parameter (for the driver too).
                match PIECES[next(PIECES.len())] {
                    "&" if in_query => pw.push_str("%26"),
                    piece => pw.push_str(piece),
                }
            }
            pw.push_str("TAIL");
            let url = match round % 3 {
                0 => format!("postgres://sopilot:{pw}@db.internal:5432/sopilot"),
                1 => format!("postgresql://sopilot:{pw}@db.internal/sopilot?sslmode=require"),
                _ => format!("postgres://db.internal/sopilot?user=a&password={pw}"),
            };
            let shown = redact_url(&url);
            assert!(
                !shown.contains("SECRET") && !shown.contains("TAIL"),
                "{url} shown as {shown}"
            );
            assert!(shown.contains("db.internal"), "{url} shown as {shown}");
        }
    }
}
