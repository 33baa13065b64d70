//! Whether a text names a credential or carries a credential's prefix or shape: the anchors a
//! query needs to find a secret and test it one character at a time (`password=hunter2-a`,
//! `Bearer eyJ`, `ghp_x`). Case is ignored. A text is refused when:
//!
//! - a word, or a run of words joined by `_ - .`, is a credential name by
//!   [`sopilot_redact::is_credential_name`] (`password`, `DB_PASSWORD`, `api_key`, `auth`);
//! - a word contains a credential word (`dbpassword`, `secrets`, `tokens`), or is a piece of
//!   at least four letters of one (`ssword`, `asswo`, `oken`: what `p.ssword` leaves);
//! - a run of words joined by `_ - .`, those removed, contains one (`pass_word`, `api-key`,
//!   `access_key_id`), or a token prefix (`github-pat`, `sk-live`);
//! - words around [`WILDCARD`]s (what a regex's `.` or `[^x]` becomes) spell one, the
//!   wildcards standing for any letters: `p.ssw.rd`, `to.en`, `se.*ret` (at least four of
//!   the word's letters, and half of them);
//! - it carries a token prefix or shape the redactor masks: AWS key ids (`AKIA`, `ASIA`, ...
//!   at the start of a word), `ghp_` and GitHub's other prefixes, `github_pat_`, `xox`,
//!   `xapp-`, Stripe's `sk_live_`/`sk_test_`/`rk_`/`whsec_`, JWTs' `eyJ`, `-----BEGIN`,
//!   `private key`, `Bearer`, `Basic `, Slack webhook hosts, or a URL with a user or password.

use sopilot_redact::is_credential_name;

/// Credential words a word may not contain.
const STEMS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credential",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "privkey",
    "authorization",
    "bearer",
    "cookie",
];

/// Credential words whose pieces (four letters or more) are refused too.
const PIECES_OF: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credential",
    "authorization",
    "bearer",
];

/// The shortest piece of a credential word that is refused.
const MIN_PIECE: usize = 4;
/// The longest credential word (`authorization`).
const LONGEST_STEM: usize = 13;
/// The longest run of words and wildcards checked; a longer one is refused.
const MAX_WILDCARD_RUN: usize = 200;

/// What a regex's wildcards, wide classes and anchors become in its spellings: any letters.
pub const WILDCARD: char = '\u{1}';

/// Token prefixes looked for in the text with only letters and digits kept.
const SQUASHED: &[&str] = &[
    "githubpat",
    "sklive",
    "sktest",
    "rklive",
    "rktest",
    "whsec",
    "xox",
    "xapp",
    "akia",
    "asia",
];

/// Prefixes and shapes looked for anywhere in the (lower-case) text.
const MARKERS: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "xox",
    "xapp-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "whsec_",
    "eyj",
    "-----begin",
    "private key",
    "bearer",
    "basic ",
    "hooks.slack.com",
];

/// AWS access key id prefixes, refused at the start of a word.
const AWS_KEY_PREFIXES: &[&str] = &[
    "akia", "asia", "abia", "acca", "agpa", "aida", "aipa", "akpa", "anpa", "anva", "aroa", "apka",
    "asca",
];

/// Why `text` could anchor a search for a secret, if it could: "names a credential
/// (`password`)", "carries a credential prefix (`ghp_`)".
pub fn credential_hint(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    named(&lower)
        .or_else(|| squashed(&lower))
        .or_else(|| marked(&lower))
        .or_else(|| url_with_user(&lower))
        .or_else(|| around_wildcards(&lower))
}

/// Runs of letters, digits and `_ - .`: a key name as a log line would spell it.
fn runs(lower: &str) -> impl Iterator<Item = &str> {
    lower
        .split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .filter(|r| !r.is_empty())
}

/// A credential name, a word containing one, or a piece of one.
fn named(lower: &str) -> Option<String> {
    for run in runs(lower) {
        if is_credential_name(run) {
            return Some(format!("names a credential (`{run}`)"));
        }
        for word in run.split(|c: char| !c.is_alphanumeric()) {
            if let Some(hint) = word_hint(word) {
                return Some(hint);
            }
        }
    }
    None
}

fn word_hint(word: &str) -> Option<String> {
    if word.is_empty() {
        return None;
    }
    if is_credential_name(word) || STEMS.iter().any(|s| word.contains(s)) {
        return Some(format!("names a credential (`{word}`)"));
    }
    let piece = word.chars().count() >= MIN_PIECE && PIECES_OF.iter().any(|s| s.contains(word));
    piece.then(|| format!("holds part of a credential name (`{word}`)"))
}

/// A credential word or token prefix once `_ - .` are dropped (`pass_word`, `sk-live`).
fn squashed(lower: &str) -> Option<String> {
    runs(lower).find_map(|run| {
        let s: String = run.chars().filter(|c| c.is_alphanumeric()).collect();
        STEMS
            .iter()
            .chain(SQUASHED)
            .find(|m| s.contains(**m))
            .map(|m| format!("names a credential or its prefix (`{m}` in `{run}`)"))
    })
}

/// A token prefix or shape the redactor masks.
fn marked(lower: &str) -> Option<String> {
    if let Some(m) = MARKERS.iter().find(|m| lower.contains(**m)) {
        return Some(format!("carries a credential prefix (`{}`)", m.trim()));
    }
    let at_word_start = |p: &&&str| {
        lower.match_indices(**p).any(|(i, _)| {
            lower
                .get(..i)
                .and_then(|before| before.chars().next_back())
                .is_none_or(|c| !c.is_alphanumeric())
        })
    };
    AWS_KEY_PREFIXES
        .iter()
        .find(at_word_start)
        .map(|p| format!("carries an AWS access key prefix (`{}`)", p.to_uppercase()))
}

/// `scheme://user:` or `scheme://user@`: a URL that can carry a password.
fn url_with_user(lower: &str) -> Option<String> {
    lower.match_indices("://").find_map(|(i, _)| {
        let rest = lower.get(i + 3..).unwrap_or_default();
        let host = rest
            .split(|c: char| c == '/' || c.is_whitespace())
            .next()
            .unwrap_or_default();
        host.contains([':', '@'])
            .then(|| "holds a URL with a user or password (`://user:`)".to_owned())
    })
}

/// Words around wildcards that spell a credential word (`p.ssw.rd`, `dbp.ssw.rd=`).
fn around_wildcards(lower: &str) -> Option<String> {
    lower
        .split(|c: char| !(c.is_alphanumeric() || c == WILDCARD))
        .filter(|run| run.contains(WILDCARD))
        .find_map(|run| {
            let shown = run.replace(WILDCARD, ".");
            if run.chars().count() > MAX_WILDCARD_RUN {
                return Some(format!(
                    "holds a run of words and wildcards longer than {MAX_WILDCARD_RUN} characters, too long to check (`{}...`)",
                    shown.chars().take(40).collect::<String>()
                ));
            }
            let words: Vec<&str> = run.split(WILDCARD).filter(|w| !w.is_empty()).collect();
            spelled(&words).map(|stem| format!("spells the credential word `{stem}` around wildcards (`{shown}`)"))
        })
}

/// The credential word that the end of one word, the words after it and the start of a later
/// one spell when each gap between them stands for any letters.
fn spelled(words: &[&str]) -> Option<&'static str> {
    for (i, first) in words.iter().enumerate() {
        let mut middle: Vec<&str> = Vec::new();
        for last in words.iter().skip(i + 1) {
            for s in ends(first, true) {
                for p in ends(last, false) {
                    let mut segs = vec![s];
                    segs.extend(&middle);
                    segs.push(p);
                    if let Some(stem) = matching_stem(&segs) {
                        return Some(stem);
                    }
                }
            }
            middle.push(last);
            if middle.iter().map(|w| w.len()).sum::<usize>() > LONGEST_STEM {
                break;
            }
        }
    }
    None
}

/// The suffixes (or prefixes) of `word` no longer than the longest credential word.
fn ends(word: &str, suffixes: bool) -> Vec<&str> {
    let n = word.chars().count();
    (0..=n.min(LONGEST_STEM))
        .filter_map(|k| {
            let at = if suffixes { n - k } else { k };
            let byte = word.char_indices().nth(at).map_or(word.len(), |(b, _)| b);
            if suffixes {
                word.get(byte..)
            } else {
                word.get(..byte)
            }
        })
        .collect()
}

/// A credential word in which `segs` appear in order, gaps allowed between them, when they
/// hold at least [`MIN_PIECE`] letters and half of the word's.
fn matching_stem(segs: &[&str]) -> Option<&'static str> {
    let letters: usize = segs.iter().map(|s| s.chars().count()).sum();
    if letters < MIN_PIECE {
        return None;
    }
    STEMS.iter().chain(PIECES_OF).copied().find(|stem| {
        letters * 2 >= stem.len() && {
            let mut at = 0;
            segs.iter().filter(|s| !s.is_empty()).all(|seg| {
                match stem.get(at..).and_then(|rest| rest.find(seg)) {
                    Some(k) => {
                        at += k + seg.len();
                        true
                    }
                    None => false,
                }
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_anchors_are_named() {
        for text in [
            "password=hunter2-a",
            "DB_PASSWORD",
            "dbPassword",
            "api_key=",
            "X-Api-Key",
            "access_key_id",
            "pass_word",
            "p ssword",
            "pa sword",
            " oken=",
            "client-secret",
            "secrets",
            "auth=",
            "Authorization: Basic dXNlcjpw",
            "Bearer eyJhbGciOi",
            "token expired",
            "ghp_abc",
            "github_pat_",
            "xoxb-1",
            "XAPP-1",
            "sk_live_",
            "sk-live",
            "whsec_",
            "eyJhbG",
            "-----BEGIN RSA",
            "BEGIN PRIVATE KEY",
            "AKIAIOSFODNN",
            "key id ASIA",
            "postgres://app:s3",
            "https://user@host",
            "hooks.slack.com/services",
            "cookie: sid",
            "passphrase",
        ] {
            assert!(
                credential_hint(text).is_some(),
                "{text:?} should be refused"
            );
        }
    }

    #[test]
    fn everyday_searches_pass() {
        for text in [
            "Exception",
            "OutOfMemoryError",
            "ERROR|WARN",
            "timed out",
            "Connection refused",
            "CannotGetJdbcConnectionException",
            "HikariPool-1 - Connection is not available",
            "GET /health 200",
            "status=503",
            "\"level\":\"error\"",
            "upstream payment-service returned 503 for POST /v1/charges",
            "authentication failed",
            "Unauthorized",
            "AccessDenied",
            "access denied",
            "x509: certificate has expired",
            "OOMKilled",
            "kubernetes.pod_name",
            "https://api.example.com/v1",
            "payment-service-7d8f9c6b5-x2k9p",
            "keyspace",
            "a monkey",
        ] {
            assert_eq!(credential_hint(text), None, "{text:?} should pass");
        }
    }

    #[test]
    fn wildcards_inside_credential_words_are_seen_through() {
        let w = |s: &str| s.replace('.', &WILDCARD.to_string());
        for text in [
            "p.ssw.rd=h",
            "dbp.ssw.rd",
            "to.en=",
            "se..ret",
            "auth.riz",
            "b.arer x",
        ] {
            assert!(
                credential_hint(&w(text)).is_some(),
                "{text:?} should be refused"
            );
        }
        for text in [
            "error.timeout",
            "conn.refused",
            "time.out",
            "5..",
            "or.ti",
            "p.od",
        ] {
            assert_eq!(credential_hint(&w(text)), None, "{text:?} should pass");
        }
        assert_eq!(
            credential_hint(&w("p.ssw.rd")).as_deref(),
            Some("spells the credential word `password` around wildcards (`p.ssw.rd`)")
        );
        assert!(credential_hint(&w(&"a.".repeat(150))).is_some());
    }

    #[test]
    fn hints_say_what_was_found() {
        assert_eq!(
            credential_hint("filter password=h").as_deref(),
            Some("names a credential (`password`)")
        );
        assert_eq!(
            credential_hint("p ssword").as_deref(),
            Some("holds part of a credential name (`ssword`)")
        );
        assert_eq!(
            credential_hint("ghp_x").as_deref(),
            Some("carries a credential prefix (`ghp_`)")
        );
    }
}
