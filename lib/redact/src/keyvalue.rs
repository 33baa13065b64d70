//! Secrets named by a key in text: `KEY=value`, `export KEY=value`, `KEY: value`,
//! `"KEY": "value"`, `--password=value`, `--token value`, YAML block scalars (`tls.key: |`),
//! and env entries written out as text (`- name: DB_PASSWORD` / `value: ...`, or
//! `{"name":"DB_PASSWORD","value":"..."}` inside a log line), where the key is
//! credential-like by [`crate::is_credential_name`].
//!
//! Where a value ends: a quoted value at its closing quote; an unquoted value after `=` at
//! whitespace or one of `, ; & " ' \ } ]`; an unquoted value after `:` at the end of the
//! line when the key starts the line (YAML, `kubectl describe`), else like after `=`; a
//! YAML block scalar where its indentation ends. A leading `Bearer `/`Basic `/... stays.
//! Left alone: references (`${DB_PASSWORD}`, `$DB_PASSWORD`, `{{ .Values.x }}`,
//! `<set to the key 'password' in secret 'db-creds'>`), `true`/`false`/`null`, masks
//! already applied, and prose after a colon (`failed to refresh token: connection refused`).

use regex::{Captures, Regex};

use crate::names::is_credential_name;
use crate::spans::Span;

/// A key and its separator: `KEY=`, `"KEY": `, `--key=`, `\"key\":` (inside a JSON string).
/// Blanks may precede `=` (`key = value`) but not `:` (`volume "x" : secret "y"` is prose).
/// Neither the character before the key nor the blanks after the separator are part of the
/// match, so that `env: DB_PASSWORD=x` finds `DB_PASSWORD` right after `env: `. Leftmost
/// matching starts a key at the start of its run of key characters.
pub(crate) const KEY: &str =
    r#"(?P<key>-{0,2}[A-Za-z_][A-Za-z0-9_.\-]*)(?:\\?["'])?(?P<sep>[ \t]*=|:)"#;

/// A command-line flag and its value after a blank: `--password hunter2`. That the flag
/// starts a word is checked in code (see [`KEY`] for why).
pub(crate) const FLAG: &str = r"(?P<key>--?[A-Za-z][A-Za-z0-9_\-]*)(?P<sep>[ \t])";

/// An env entry, a tag or a parameter written as text: its name, then its value.
pub(crate) const ENTRY: &str = r#"(?i)(?-u:\b)(?:name|key|parameter_?key)(?:\\?["'])?[ \t]*[:=][ \t]*(?:\\?["'])?(?P<key>[A-Za-z0-9_.\-]+)(?:\\?["'])?[ \t]*,?[ \t]*(?:\r?\n|\\n)?[ \t]*(?:-[ \t]+)?(?:\\?["'])?(?P<vk>value|parameter_?value)(?:\\?["'])?[ \t]*(?P<sep>[:=])"#;

/// HTTP authorization schemes a value may start with; the credential is the next word.
const SCHEMES: &[&str] = &[
    "bearer",
    "basic",
    "token",
    "jwt",
    "apikey",
    "digest",
    "negotiate",
    "ntlm",
    "aws4-hmac-sha256",
];

/// Pushes the value of every credential-like key matched by `re` (one of the patterns above).
/// A key inside a value already found is skipped: it is masked with that value, and
/// skipping it keeps every byte scanned by at most one value (linear time).
pub(crate) fn spans(re: &Regex, text: &str, out: &mut Vec<Span>) {
    let mut scanned_to = 0;
    for c in re.captures_iter(text) {
        if c.get(0).is_some_and(|m| m.start() < scanned_to) {
            continue;
        }
        if let Some(span) = value_of(text, &c) {
            scanned_to = span.end;
            out.push(span);
        }
    }
}

fn value_of(text: &str, c: &Captures<'_>) -> Option<Span> {
    let key = c.name("key")?;
    let sep = c.name("sep")?;
    let sep_byte = sep.as_str().bytes().last()?;
    if sep_byte.is_ascii_whitespace() && !starts_word(text, key.start()) {
        return None;
    }
    if !is_credential_name(key.as_str()) {
        return None;
    }
    let blanks = text[sep.end()..]
        .bytes()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    let line_start = starts_line(text, c.name("vk").unwrap_or(key).start());
    value_span(text, sep.end() + blanks, sep_byte, line_start)
}

/// Whether `at` starts the text or follows whitespace.
fn starts_word(text: &str, at: usize) -> bool {
    at == 0
        || text
            .as_bytes()
            .get(at - 1)
            .is_some_and(u8::is_ascii_whitespace)
}

/// Whether only indentation, a YAML list dash or a quote precede `at` on its line.
fn starts_line(text: &str, at: usize) -> bool {
    let before = &text.as_bytes()[..at];
    let lead = before
        .iter()
        .rev()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'-' | b'"' | b'\''))
        .count();
    at == lead || before[at - lead - 1] == b'\n'
}

/// The value that starts at `at`, after separator `sep` (`=`, `:` or a space for flags).
fn value_span(text: &str, at: usize, sep: u8, line_start: bool) -> Option<Span> {
    let rest = &text.as_bytes()[at..];
    if matches!(rest, [b':' | b'=', ..])
        || (sep == b' ' && matches!(rest, [b'-', ..]))
        || rest.starts_with(crate::MASK.as_bytes())
        || is_placeholder(&text[at..])
    {
        return None; // `password::hash`, `password == x`, `--password --verbose`, masked
    }
    let span = match rest {
        [b'"', ..] => quoted(text, at + 1, b'"'),
        [b'\'', ..] => quoted(text, at + 1, b'\''),
        [b'\\', b'"', ..] => escaped_quoted(text, at + 2),
        [b'|' | b'>', ..] if sep == b':' => block_scalar(text, at),
        _ => unquoted(text, at, sep == b':' && line_start),
    }?;
    (!is_left_alone(&text[span.start..span.end])).then_some(span)
}

/// Up to the closing `quote` (a backslash escapes one character) or the end of the line.
fn quoted(text: &str, start: usize, quote: u8) -> Option<Span> {
    let bytes = text.as_bytes();
    let mut i = start;
    while i < bytes.len() && bytes[i] != quote && bytes[i] != b'\n' {
        let escape = bytes[i] == b'\\' && quote == b'"' && bytes.get(i + 1) != Some(&b'\n');
        i += if escape { 2 } else { 1 };
    }
    Span::new(start, i.min(bytes.len())).trimmed(text)
}

/// Inside a JSON string: up to the next `\"` (or a bare quote, or the end of the line).
fn escaped_quoted(text: &str, start: usize) -> Option<Span> {
    let bytes = text.as_bytes();
    let mut i = start;
    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'"') {
            break;
        }
        i += 1;
    }
    Span::new(start, i).trimmed(text)
}

/// An unquoted value, after an authorization scheme word if there is one. To the end of
/// the line when `to_line_end`, else to whitespace or one of `, ; & " ' \ } ]`.
fn unquoted(text: &str, at: usize, to_line_end: bool) -> Option<Span> {
    let bytes = text.as_bytes();
    let scheme = scheme_len(&text[at..]);
    let start = at + scheme;
    if text[start..].starts_with(crate::MASK) {
        return None; // `Bearer [REDACTED]`: `]` would end the value inside the mask
    }
    // After a scheme the credential is one word, even where a YAML value runs to the end.
    let to_line_end = to_line_end && scheme == 0;
    let mut end = start;
    while end < bytes.len() {
        let b = bytes[end];
        let stop = if to_line_end {
            matches!(b, b'\n' | b'\r')
        } else {
            b.is_ascii_whitespace()
                || matches!(b, b',' | b';' | b'&' | b'"' | b'\'' | b'\\' | b'}' | b']')
        };
        if stop {
            break;
        }
        end += 1;
    }
    if !to_line_end && is_prose(text, start, end) {
        return None;
    }
    Span::new(start, end).trimmed(text)
}

/// Length of a leading `Bearer ` (any scheme of [`SCHEMES`] and the blanks after it).
fn scheme_len(rest: &str) -> usize {
    let word_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
        .count();
    let blanks = rest[word_len..]
        .bytes()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    let word = &rest[..word_len];
    let scheme = blanks > 0 && SCHEMES.iter().any(|s| word.eq_ignore_ascii_case(s));
    if scheme { word_len + blanks } else { 0 }
}

/// `token: connection refused` in the middle of a line: a lowercase word, then another
/// lowercase word that is not itself a key (`abc private_key: x` is not prose).
fn is_prose(text: &str, start: usize, end: usize) -> bool {
    let lowercase = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_lowercase);
    let bytes = text.as_bytes();
    let next = bytes.get(end + 1..).unwrap_or_default();
    let next_len = next.iter().take_while(|b| b.is_ascii_lowercase()).count();
    lowercase(&bytes[start..end])
        && bytes.get(end) == Some(&b' ')
        && lowercase(&next[..next_len])
        && !matches!(next.get(next_len), Some(b':' | b'=' | b'_'))
}

/// A YAML block scalar (`key: |` or `key: >-`): the more-indented lines below the key.
fn block_scalar(text: &str, at: usize) -> Option<Span> {
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let header = &text[at + 1..line_end];
    let header = header.split('#').next().unwrap_or(header);
    if !header
        .trim_end()
        .bytes()
        .all(|b| matches!(b, b'-' | b'+' | b'0'..=b'9'))
    {
        return unquoted(text, at, true);
    }
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let indent = indent_of(&text[line_start..]);
    let mut end = line_end;
    let mut next = line_end;
    while next < text.len() {
        let line_from = next + 1;
        let line_to = text[line_from..]
            .find('\n')
            .map_or(text.len(), |i| line_from + i);
        let line = &text[line_from..line_to];
        if !line.trim().is_empty() {
            if indent_of(line) <= indent {
                break;
            }
            end = line_to;
        }
        next = line_to;
    }
    Span::new(line_end, end).trimmed(text)
}

fn indent_of(line: &str) -> usize {
    line.bytes()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count()
}

/// Longest `<...>` placeholder looked for (bounded, so that many `key=<` stay linear).
const MAX_PLACEHOLDER: usize = 256;

/// `<set to the key 'password' in secret 'db-creds'>`, `<none>`: a short `<...>` on one line.
fn is_placeholder(rest: &str) -> bool {
    let head = &rest.as_bytes()[..rest.len().min(MAX_PLACEHOLDER)];
    head.first() == Some(&b'<') && head.iter().take_while(|&&b| b != b'\n').any(|&b| b == b'>')
}

/// References, placeholders, booleans and masks: values that are not a secret.
pub(crate) fn is_left_alone(value: &str) -> bool {
    let reference = value.starts_with("${")
        || value.starts_with("$(")
        || value.starts_with("{{")
        || (value.starts_with('$')
            && value.len() > 1
            && value[1..]
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'))
        || is_placeholder(value);
    let literal = ["true", "false", "null", "nil", "none", "~"]
        .iter()
        .any(|l| value.eq_ignore_ascii_case(l));
    let masked = value.starts_with(crate::MASK) || value.bytes().all(|b| b == b'*');
    reference || literal || masked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for p in [KEY, FLAG, ENTRY] {
            spans(&Regex::new(p).unwrap(), text, &mut out);
        }
        out.sort();
        out.dedup();
        out.iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn key_value_forms() {
        let cases = [
            ("DB_PASSWORD=hunter2 LOG_LEVEL=debug", "hunter2"),
            ("export GITHUB_TOKEN=abc123def", "abc123def"),
            (
                "  password: correct horse battery staple",
                "correct horse battery staple",
            ),
            ("{\"client_secret\": \"s3 cr3t\", \"a\": 1}", "s3 cr3t"),
            ("{'apiKey': 'k-123'}", "k-123"),
            ("run --password=p4ss --verbose", "p4ss"),
            ("run --token t0ken-value --verbose", "t0ken-value"),
            ("Server=db;User Id=sa;Password=Pa55w0rd;", "Pa55w0rd"),
            (
                "aws_secret_access_key = wJalrXUtnFEMIK7MDENG",
                "wJalrXUtnFEMIK7MDENG",
            ),
            ("msg=\"x\" secret=abc\\\"def\"", "abc"),
            (r#"{\"password\":\"p@ss\"}"#, "p@ss"),
            ("Authorization: Bearer abc.def", "abc.def"),
            ("Authorization: Bearer abc123 user=bob", "abc123"),
            ("url?token=abc123&page=2", "abc123"),
            ("SECRET_KEY: \"esc\\\"aped\"", "esc\\\"aped"),
        ];
        for (text, want) in cases {
            assert_eq!(masked(text), [want], "{text}");
        }
    }

    #[test]
    fn env_entries_as_text() {
        let yaml =
            "env:\n- name: DB_PASSWORD\n  value: hunter2 two\n- name: LOG_LEVEL\n  value: debug";
        assert_eq!(masked(yaml), ["hunter2 two"]);
        let json = "{\n  \"name\": \"API_TOKEN\",\n  \"value\": \"abc\"\n}";
        assert_eq!(masked(json), ["abc"]);
        let flow = "{name: STRIPE_KEY, value: sk_x}, {name: DB_HOST, value: db}";
        assert_eq!(masked(flow), ["sk_x"]);
        let escaped = r#"{\"name\":\"DB_PASSWORD\",\"value\":\"hunter2\"}"#;
        assert_eq!(masked(escaped), ["hunter2"]);
        let cli = "--tags Key=api_token,Value=abc123 Key=team,Value=pay";
        assert_eq!(masked(cli), ["abc123"]);
    }

    #[test]
    fn yaml_block_scalars() {
        let text = "data:\n  tls.key: |\n    line one\n\n    line two\n  tls.crt: |\n    cert\n";
        assert_eq!(masked(text), ["line one\n\n    line two"]);
        assert_eq!(masked("password: |\n"), Vec::<&str>::new());
    }

    #[test]
    fn values_left_alone() {
        for text in [
            "password=${DB_PASSWORD}",
            "password=$DB_PASSWORD",
            "password: {{ .Values.db.password }}",
            "      DB_PASSWORD:  <set to the key 'password' in secret 'db-creds'>  Optional: false",
            "require_password: true",
            "password=[REDACTED]",
            "x Authorization: Bearer [REDACTED] y",
            "password: ********",
            "error: failed to refresh token: connection refused",
            "secretKeyRef: {name: db-creds, key: password}",
            "valueFrom:\n  secretKeyRef:\n    name: db-creds\n    key: password",
            "max_tokens: 4096 tokens_used=1234",
            "password:\n  nested: x",
            "token=",
            "password::hash(x)",
        ] {
            assert_eq!(masked(text), Vec::<&str>::new(), "{text}");
        }
    }
}
