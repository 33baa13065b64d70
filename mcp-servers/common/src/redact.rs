//! Credentials never leave a server: literal env values and log lines that look like AWS
//! keys, bearer tokens, passwords in URLs, Slack tokens or private keys are masked.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// What replaces a secret.
const MASK: &str = "[REDACTED]";

struct Rule {
    re: Regex,
    /// Replacement; `$1` keeps the part before the secret (a key name, a scheme).
    with: &'static str,
}

fn rule(pattern: &str, with: &'static str) -> Option<Rule> {
    // The patterns are constants covered by tests; a bad one is skipped, never a panic.
    Regex::new(pattern).ok().map(|re| Rule { re, with })
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    [
        // PEM private keys.
        rule(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----", "[REDACTED PRIVATE KEY]"),
        // AWS access key ids.
        rule(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b", MASK),
        // key=value / key: value where the key names a secret.
        rule(
            r#"(?i)((?:aws_secret_access_key|secret_access_key|secret|password|passwd|pwd|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret)["']?\s*[:=]\s*["']?)[^\s"',;&]{4,}"#,
            "${1}[REDACTED]",
        ),
        // Authorization headers.
        rule(r"(?i)(\b(?:bearer|basic|token)\s+)[A-Za-z0-9\-._~+/]{8,}=*", "${1}[REDACTED]"),
        // user:password@ in URLs.
        rule(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:)[^@\s/]+(@)", "${1}[REDACTED]${2}"),
        // Slack and GitHub tokens.
        rule(r"\bxox[abposr]-[A-Za-z0-9-]{10,}", MASK),
        rule(r"\bgh[pousr]_[A-Za-z0-9]{20,}", MASK),
        // JWTs.
        rule(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", MASK),
    ]
    .into_iter()
    .flatten()
    .collect()
});

/// `text` with credentials masked; borrowed when nothing matched.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for r in RULES.iter() {
        if r.re.is_match(&out) {
            out = Cow::Owned(r.re.replace_all(&out, r.with).into_owned());
        }
    }
    out
}

/// Masks credentials in every string of a JSON value.
pub fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            if let Cow::Owned(r) = redact(s) {
                *s = r;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::Object(map) => map.values_mut().for_each(redact_json),
        serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_credentials() {
        let cases = [
            ("key AKIAIOSFODNN7EXAMPLE used", "key [REDACTED] used"),
            (
                "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws_secret_access_key=[REDACTED]",
            ),
            (
                "Authorization: Bearer abcdef123456.xyz",
                "Authorization: Bearer [REDACTED]",
            ),
            (
                "postgres://app:s3cr3t@db:5432/pay",
                "postgres://app:[REDACTED]@db:5432/pay",
            ),
            (
                "DB_PASSWORD: \"hunter2hunter2\"",
                "DB_PASSWORD: \"[REDACTED]\"",
            ),
            ("token=xoxb-1234567890-abcdefghij", "token=[REDACTED]"),
            ("slack xoxb-1234567890-abcdefghij", "slack [REDACTED]"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "{input}");
        }
        let pem = "a\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\nb";
        assert_eq!(redact(pem), "a\n[REDACTED PRIVATE KEY]\nb");
    }

    #[test]
    fn leaves_ordinary_text() {
        for t in [
            "Back-off restarting failed container",
            "GET /api/v1/pods 200",
            "passed: 3 tests",
            "http://db:5432/x",
        ] {
            assert!(matches!(redact(t), Cow::Borrowed(_)), "{t}");
        }
    }

    #[test]
    fn every_rule_compiles() {
        assert_eq!(RULES.len(), 8);
    }

    #[test]
    fn json_strings_are_masked() {
        let mut v =
            serde_json::json!({"env": [{"name": "URL", "value": "https://u:p4ssw0rd@x"}], "n": 1});
        redact_json(&mut v);
        assert_eq!(v["env"][0]["value"], "https://u:[REDACTED]@x");
    }
}
