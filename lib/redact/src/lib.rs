//! One credential redactor for SOPilot: nothing that looks like a credential may reach a
//! model, the store, a report, Slack or a log. Pure: `regex` and `serde_json`, no I/O.
//!
//! - [`redact`] masks secrets in a whole text, across lines (a PEM key printed over many
//!   log lines is one secret). A text that is a JSON object or array is redacted as JSON.
//! - [`redact_json`] masks secrets in a JSON value in place, by structure: credential-like
//!   keys, env entries named like a credential, Kubernetes Secrets' `data`, JSON nested in
//!   strings (`last-applied-configuration`), and the text rules on every other string.
//! - [`contains_credential`] says whether [`redact`] would change a text.
//! - [`is_credential_name`] is the one rule for "this key names a secret", shared by both.
//!
//! Every secret becomes [`MASK`]; what names it (a key, a header, a URL's user, PEM marker
//! lines) stays, so a reader still sees that a credential was there and where.
//! Redaction is idempotent, runs in linear time (finite-automaton regexes compiled once)
//! and returns the text borrowed when nothing matched.

use std::borrow::Cow;

mod flags;
mod json;
mod keyvalue;
mod names;
mod pem;
mod spans;
mod text;
mod yaml_secret;

pub use names::is_credential_name;

/// What replaces a secret.
pub const MASK: &str = "[REDACTED]";

/// `text` with every credential masked; borrowed when there was none.
pub fn redact(text: &str) -> Cow<'_, str> {
    json::redact_json_text(text).unwrap_or_else(|| text::redact_text(text))
}

/// Masks every credential in `v`, in place, by structure and by the text rules.
pub fn redact_json(v: &mut serde_json::Value) {
    json::walk(v, 0);
}

/// Whether [`redact`] would change `text`: some credential shape is in it.
pub fn contains_credential(text: &str) -> bool {
    matches!(redact(text), Cow::Owned(_))
}

/// Redacts a stream one line at a time (a child process's stderr), remembering across lines
/// whether it is inside a PEM private key, so the key's body lines — which carry no marker of
/// their own — are masked too.
#[derive(Debug, Default, Clone)]
pub struct LineRedactor {
    in_key: bool,
}

impl LineRedactor {
    /// The next line, masked.
    pub fn line<'a>(&mut self, line: &'a str) -> Cow<'a, str> {
        let begins = line.contains("-----BEGIN") && line.contains("PRIVATE KEY");
        let ends = line.contains("-----END") && line.contains("PRIVATE KEY");
        if self.in_key && !begins && !ends {
            return Cow::Borrowed(MASK);
        }
        self.in_key = (self.in_key || begins) && !ends;
        redact(line)
    }
}

#[cfg(test)]
mod line_tests {
    use super::*;

    #[test]
    fn a_key_split_over_lines_is_masked_line_by_line() {
        let mut r = LineRedactor::default();
        let lines = [
            "starting",
            "2026-12-06 key: -----BEGIN RSA PRIVATE KEY-----",
            "MIIEowIBAAKCAQEAattackmarker0001",
            "c2VjcmV0IGJvZHkgbGluZQ==",
            "-----END RSA PRIVATE KEY-----",
            "LOG_LEVEL=debug",
        ];
        let out: Vec<String> = lines.iter().map(|l| r.line(l).into_owned()).collect();
        assert_eq!(out[0], "starting");
        assert_eq!(out[2], MASK);
        assert_eq!(out[3], MASK);
        assert!(
            out[4].contains("-----END RSA PRIVATE KEY-----"),
            "{}",
            out[4]
        );
        assert_eq!(out[5], "LOG_LEVEL=debug");
        assert!(!out.join("\n").contains("attackmarker"));
    }
}
