//! Command-line flags whose value is a separate argument: `["--db-password", "hunter2"]` in a
//! printed manifest, or `--db-password` and `hunter2` on consecutive lines (`kubectl
//! describe`'s `Args:`, a YAML block list). The argument after a flag that names a
//! credential is its value, however it looks. (`--password=x` and `--password x` on one line
//! are [`crate::keyvalue`]'s.)

use std::sync::LazyLock;

use regex::Regex;

use crate::is_credential_name;
use crate::spans::Span;

/// `"--flag", "value"` in a quoted list (JSON, YAML flow style, a log line).
static QUOTED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"\\?["'](?P<f>-{1,2}[A-Za-z0-9][A-Za-z0-9_.-]*)\\?["'][ \t]*,[ \t]*\\?["'](?P<v>[^"'\\\r\n]+)"#,
    )
    .ok()
});

/// Whether `flag` is a command-line flag (`-p`, `--db-password`: one or two dashes, then a
/// letter or digit, then letters, digits, `_`, `.`, `-`) that names a credential.
pub(crate) fn names_credential(flag: &str) -> bool {
    let name = flag
        .strip_prefix("--")
        .or_else(|| flag.strip_prefix('-'))
        .unwrap_or("");
    let shaped = name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    shaped && is_credential_name(name)
}

/// A line holding only a flag (optionally as a YAML list item): the flag.
fn lone_flag(line: &str) -> Option<&str> {
    let t = line.trim();
    let t = t.strip_prefix("- ").map_or(t, str::trim_start);
    (t.starts_with('-') && !t.contains(char::is_whitespace)).then_some(t)
}

/// Adds the spans of flag values to `out`.
pub(crate) fn spans(text: &str, out: &mut Vec<Span>) {
    if let Some(re) = QUOTED.as_ref() {
        for c in re.captures_iter(text) {
            if let (Some(f), Some(v)) = (c.name("f"), c.name("v"))
                && names_credential(f.as_str())
                && !v.as_str().starts_with('-')
            {
                out.push(Span::new(v.start(), v.end()));
            }
        }
    }
    let mut offset = 0;
    let mut after_flag = false;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let t = body.trim();
        if after_flag && !t.is_empty() {
            let value = t.strip_prefix("- ").map_or(t, str::trim_start);
            if !value.starts_with('-') {
                let start =
                    offset + (body.len() - body.trim_start().len()) + (t.len() - value.len());
                out.push(Span::new(start, start + value.len()));
            }
            after_flag = false;
        }
        if let Some(flag) = lone_flag(body) {
            after_flag = names_credential(flag);
        }
        offset += line.len();
    }
}

#[cfg(test)]
mod tests {
    use crate::redact;

    #[test]
    fn values_after_credential_flags_are_masked() {
        for (input, secret) in [
            (r#"args: ["--password", "s3cr3tval"]"#, "s3cr3tval"),
            (
                r#"{\"args\":[\"--api-key\",\"ak-attack-1\"]}"#,
                "ak-attack-1",
            ),
            (
                "    Args:\n      --db-password\n      hunter2-lines\n      --port\n",
                "hunter2-lines",
            ),
            (
                "args:\n- --client-secret\n- cs-attack-2\n- --verbose\n",
                "cs-attack-2",
            ),
        ] {
            let out = redact(input);
            assert!(!out.contains(secret), "{input:?} -> {out}");
        }
    }

    #[test]
    fn other_flags_keep_their_values() {
        for t in [
            r#"args: ["--port", "8080", "--log-level", "debug"]"#,
            "    Args:\n      --port\n      8080\n",
            "args:\n- --password-file\n- /etc/app/pw\n",
        ] {
            assert_eq!(redact(t), t);
        }
    }
}
