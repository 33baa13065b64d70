//! The text rules: every rule finds spans in the whole text (never line by line, so a key
//! printed over many lines is one secret), the spans are merged and masked in one go, and
//! that repeats until nothing changes (a mask can end a run of characters and so expose a
//! new token boundary; at most [`MAX_PASSES`] passes keep the time linear).
//!
//! Shapes recognised by their form, whatever names them: PEM private keys, AWS access key
//! ids and secret access keys, GitHub, Slack and Stripe tokens, Slack webhook URLs, JWTs,
//! `Authorization` headers and bare `Bearer` tokens, passwords in URLs and connection
//! strings, `curl -u`, `.netrc`. Shapes recognised by their name: see [`crate::keyvalue`];
//! a Kubernetes Secret printed as YAML: see [`crate::yaml_secret`].
//!
//! All patterns use the `regex` crate (finite automata, no backtracking) and compile once.
//! If one failed to compile, redaction fails closed: the whole text is masked.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::spans::{self, Span};
use crate::{MASK, flags, keyvalue, pem, yaml_secret};

/// Passes over the text before it is returned as it is.
const MAX_PASSES: usize = 3;

/// A secret recognised by its form: the named group `s` if the pattern has one, else the
/// whole match, if `valid` accepts it.
struct TokenRule {
    re: Regex,
    valid: Validator,
}

struct Rules {
    tokens: Vec<TokenRule>,
    pem: Regex,
    keyed: Vec<Regex>,
    secret: yaml_secret::Patterns,
}

/// Whether a match is really the secret (a shape a regex cannot say alone).
type Validator = fn(&str) -> bool;

/// `(pattern, validator)` for every [`TokenRule`].
const TOKEN_PATTERNS: &[(&str, Validator)] = &[
    // AWS access key ids.
    (
        r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|AKPA|ANPA|ANVA|AROA|APKA|ASCA|A3T[A-Z0-9])[A-Z0-9]{16}(?-u:\b)",
        any,
    ),
    // AWS secret access keys standing alone: a run of exactly 40 (see `aws_secret`).
    (r"[A-Za-z0-9/+]{40,}", aws_secret),
    // GitHub tokens.
    (
        r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}",
        any,
    ),
    // Slack tokens and webhook URLs.
    (
        r"xox[abposre]-[A-Za-z0-9-]{10,}|xoxe\.xox[a-z]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}",
        any,
    ),
    (
        r"(?i)hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9/_-]+)",
        any,
    ),
    // Stripe secret and restricted keys, webhook signing secrets.
    (
        r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{10,}",
        any,
    ),
    // OpenAI and Anthropic API keys (`sk-…`, `sk-proj-…`, `sk-ant-api03-…`), GitLab tokens.
    (
        r"(?-u:\b)sk-(?:proj-|ant-[a-z]+[0-9]*-)?[A-Za-z0-9_-]{20,}|(?-u:\b)glpat-[A-Za-z0-9_-]{20,}",
        any,
    ),
    // JWTs (and JWEs): base64url JSON header, payload, signature.
    (
        r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2}",
        any,
    ),
    // Authorization headers whose credential has parameters (Digest, AWS SigV4...): the
    // rest of the line, quotes included. The one-word schemes (Bearer, Basic, token) are
    // `authorization` as a credential name.
    (
        r#"(?i)(?-u:\b)(?:proxy-)?authorization(?:\\?["'])?[ \t]*[:=][ \t]*(?:\\?["'])?(?:digest|aws4-hmac-sha256|hmac[a-z0-9-]*|signature|negotiate|ntlm|oauth|mac)[ \t]+(?P<s>[^\r\n]+)"#,
        any,
    ),
    // Bare bearer tokens, wherever they are.
    (
        r"(?i)(?-u:\b)bearer[ \t]+(?P<s>[A-Za-z0-9._~+/-]+=*)",
        bearer,
    ),
    // user:password@ in URLs.
    (
        r#"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@"'<>]*:(?P<s>[^\s/"'<>]+)@"#,
        any,
    ),
    // curl -u user:password, --user=user:password.
    (
        r#"(?:^|[ \t])(?:-u|--user)(?:[ \t]+|=)["']?[^:\s"']+:(?P<s>[^\s"']+)"#,
        any,
    ),
    // .netrc: machine HOST login USER password SECRET, on one line or several.
    (
        r"(?i)(?-u:\b)machine\s+\S+(?:\s+(?:login|account)\s+\S+)*\s+password\s+(?P<s>\S+)",
        any,
    ),
    // Password=...; in connection strings (the value may hold blanks).
    (
        r#"(?i)(?:^|[;\s"'{])(?:password|pwd)[ \t]*=[ \t]*(?P<s>[^;\r\n"']+);"#,
        any,
    ),
];

static RULES: LazyLock<Option<Rules>> = LazyLock::new(compile);

fn compile() -> Option<Rules> {
    let tokens = TOKEN_PATTERNS
        .iter()
        .map(|&(p, valid)| Regex::new(p).ok().map(|re| TokenRule { re, valid }))
        .collect::<Option<Vec<_>>>()?;
    let keyed = [keyvalue::KEY, keyvalue::FLAG, keyvalue::ENTRY]
        .iter()
        .map(|p| Regex::new(p).ok())
        .collect::<Option<Vec<_>>>()?;
    let pem = Regex::new(pem::MARKER).ok()?;
    let secret = yaml_secret::Patterns::compile()?;
    Some(Rules {
        tokens,
        pem,
        keyed,
        secret,
    })
}

/// `text` with every secret the text rules find masked; borrowed when nothing was found.
pub(crate) fn redact_text(text: &str) -> Cow<'_, str> {
    let Some(rules) = RULES.as_ref() else {
        return fail_closed(text);
    };
    let mut out = Cow::Borrowed(text);
    for _ in 0..MAX_PASSES {
        match spans::apply(&out, rules.spans(&out)) {
            Some(next) => out = Cow::Owned(next),
            None => break,
        }
    }
    out
}

fn fail_closed(text: &str) -> Cow<'_, str> {
    if text.is_empty() || text == MASK {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(MASK.to_owned())
    }
}

impl Rules {
    fn spans(&self, text: &str) -> Vec<Span> {
        let mut out = Vec::new();
        for rule in &self.tokens {
            for c in rule.re.captures_iter(text) {
                if let Some(m) = c.name("s").or_else(|| c.get(0))
                    && (rule.valid)(m.as_str())
                {
                    out.push(Span::new(m.start(), m.end()));
                }
            }
        }
        pem::spans(&self.pem, text, &mut out);
        flags::spans(text, &mut out);
        self.secret.spans(text, &mut out);
        for re in &self.keyed {
            keyvalue::spans(re, text, &mut out);
        }
        out
    }
}

fn any(_: &str) -> bool {
    true
}

/// 40 characters of the base64 alphabet with both cases and a digit or `+`/`/`, not hex:
/// an AWS secret access key, while git SHAs, hex digests and long words stay.
fn aws_secret(run: &str) -> bool {
    let b = run.as_bytes();
    b.len() == 40
        && b.iter().any(u8::is_ascii_uppercase)
        && b.iter().any(u8::is_ascii_lowercase)
        && b.iter()
            .any(|c| c.is_ascii_digit() || matches!(c, b'+' | b'/'))
        && !b.iter().all(u8::is_ascii_hexdigit)
}

/// A bearer token is 8+ characters with a digit or a symbol: `Bearer instruments` is prose.
fn bearer(token: &str) -> bool {
    token.len() >= 8 && token.bytes().any(|c| !c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_compiles() {
        let rules = RULES.as_ref().unwrap();
        assert_eq!(rules.tokens.len(), TOKEN_PATTERNS.len());
        assert_eq!(rules.keyed.len(), 3);
    }

    #[test]
    fn fails_closed() {
        assert_eq!(fail_closed("abc"), MASK);
        assert!(matches!(fail_closed(""), Cow::Borrowed(_)));
    }

    #[test]
    fn aws_secret_shape() {
        assert!(aws_secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
        assert!(!aws_secret("0123456789abcdef0123456789abcdef01234567")); // a git SHA
        assert!(!aws_secret("0123456789ABCDEF0123456789abcdef01234567")); // mixed-case hex
        assert!(!aws_secret("ThisIsAVeryLongJavaClassNameForTestingXy")); // no digit
        assert!(!aws_secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY1"));
    }

    #[test]
    fn repeats_until_nothing_changes() {
        // The first pass masks the Slack token; the second finds the 40 characters
        // before it standing alone.
        let text = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12xoxb-1234567890-abcdef";
        assert_eq!(redact_text(text), "[REDACTED][REDACTED]");
    }
}
