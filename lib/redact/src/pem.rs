//! PEM private keys across lines. The `BEGIN`/`END` marker lines stay (they say what was
//! there); the body between them is masked. A `BEGIN` with no `END` (a truncated log, a
//! `head`) is masked to the end of the text or to the next `BEGIN`; an `END` with no
//! `BEGIN` (a `tail`) masks the base64-looking lines right above it.
//! Lines may be real line breaks or JSON-escaped `\n`, and may carry a log prefix
//! (`2024-05-01T10:00:00Z stdout F MIIEv...`).

use regex::Regex;

use crate::spans::Span;

/// `-----BEGIN RSA PRIVATE KEY-----`, `-----END OPENSSH PRIVATE KEY-----`,
/// `-----BEGIN PGP PRIVATE KEY BLOCK-----`, `-----BEGIN ENCRYPTED PRIVATE KEY-----`.
pub(crate) const MARKER: &str = r"-----(BEGIN|END)[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----";

/// A body line of a tail, ignoring any log prefix: its last word is at least this long.
const MIN_BODY_WORD: usize = 16;

/// Pushes the body of every private key in `text`.
pub(crate) fn spans(marker: &Regex, text: &str, out: &mut Vec<Span>) {
    let mut open: Option<usize> = None;
    // A tail never reaches above the previous marker (linear time with many markers).
    let mut floor = 0;
    for c in marker.captures_iter(text) {
        let (Some(whole), Some(kind)) = (c.get(0), c.get(1)) else {
            continue;
        };
        match (kind.as_str(), open) {
            ("BEGIN", Some(body)) => push(text, body, whole.start(), out),
            ("END", Some(body)) => push(text, body, whole.start(), out),
            ("END", None) => out.extend(tail(text, floor, whole.start())),
            _ => {}
        }
        open = (kind.as_str() == "BEGIN").then_some(whole.end());
        floor = whole.end();
    }
    if let Some(body) = open {
        push(text, body, text.len(), out);
    }
}

fn push(text: &str, start: usize, end: usize, out: &mut Vec<Span>) {
    out.extend(Span::new(start, end).trimmed(text));
}

/// The base64-looking lines right above an `END` marker at `end` that has no `BEGIN`,
/// not above `floor`.
fn tail(text: &str, floor: usize, end: usize) -> Option<Span> {
    let mut lines = Lines {
        text,
        floor,
        at: end,
    };
    // The marker's own line: what precedes the marker is either a log prefix or, in a
    // JSON-escaped one-liner, the last body line.
    let first = lines.next_up()?;
    let mut top = None;
    let mut bottom = None;
    if let Some(word) = body_word(&text[first.start..first.end]) {
        (top, bottom) = (Some(first.start + word), Some(first.end));
    }
    while let Some(line) = lines.next_up() {
        let Some(word) = body_word(&text[line.start..line.end]) else {
            break;
        };
        top = Some(line.start + word);
        bottom.get_or_insert(line.end);
    }
    Span::new(top?, bottom?).trimmed(text)
}

/// Where a key body line's base64 starts, if it is one: the line ends in base64 that is
/// long, padded, or the whole line (a log prefix or an opening quote may precede it).
fn body_word(line: &str) -> Option<usize> {
    let trimmed = line.trim_end();
    let bytes = trimmed.as_bytes();
    let mut start = bytes.len();
    while start > 0 && is_base64(bytes[start - 1]) {
        start -= 1;
    }
    let word = &trimmed[start..];
    let whole = trimmed[..start].trim().is_empty();
    let body = !word.is_empty() && (word.len() >= MIN_BODY_WORD || word.ends_with('=') || whole);
    body.then_some(start)
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
}

/// Walks lines upwards from a byte offset; a line ends at `\n` or at a literal `\n`.
struct Lines<'a> {
    text: &'a str,
    /// Where the walk stops (the end of the previous marker).
    floor: usize,
    /// Where the line above ends (exclusive).
    at: usize,
}

impl Lines<'_> {
    /// The line above `at` (without its break), or `None` above `floor`.
    fn next_up(&mut self) -> Option<Span> {
        if self.at == usize::MAX {
            return None;
        }
        let bytes = self.text.as_bytes();
        let end = self.at;
        let mut i = end;
        while i > self.floor {
            if bytes[i - 1] == b'\n' {
                self.at = i - 1;
                return Some(Span::new(i, end));
            }
            if i >= self.floor + 2 && bytes[i - 2] == b'\\' && bytes[i - 1] == b'n' {
                self.at = i - 2;
                return Some(Span::new(i, end));
            }
            i -= 1;
        }
        self.at = usize::MAX;
        Some(Span::new(self.floor, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> Vec<&str> {
        let re = Regex::new(MARKER).unwrap();
        let mut out = Vec::new();
        spans(&re, text, &mut out);
        out.iter().map(|s| &text[s.start..s.end]).collect()
    }

    const BODY: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nZw==";

    #[test]
    fn masks_the_body_between_markers() {
        let text =
            format!("a\n-----BEGIN RSA PRIVATE KEY-----\n{BODY}\n-----END RSA PRIVATE KEY-----\nb");
        assert_eq!(masked(&text), [BODY]);
    }

    #[test]
    fn a_begin_without_end_masks_to_the_end() {
        let text = format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{BODY}\n2024 next line");
        assert_eq!(masked(&text), [format!("{BODY}\n2024 next line")]);
    }

    #[test]
    fn an_end_without_begin_masks_the_lines_above() {
        let text = format!("log line 1\n{BODY}\n-----END PRIVATE KEY-----\nafter");
        assert_eq!(masked(&text), [BODY]);
    }

    #[test]
    fn a_tail_with_log_prefixes() {
        let text = "12:00 starting up\n12:01 MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n12:01 Zw==\n12:01 -----END EC PRIVATE KEY-----";
        assert_eq!(
            masked(text),
            ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n12:01 Zw=="]
        );
    }

    #[test]
    fn json_escaped_line_breaks() {
        let text = r#"{"key":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nZw==\n-----END PRIVATE KEY-----\n"}"#;
        assert_eq!(masked(text), [r"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nZw=="]);
        let tail = r#""MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nZw==\n-----END PRIVATE KEY-----""#;
        assert_eq!(masked(tail), [r"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nZw=="]);
    }

    #[test]
    fn certificates_and_ordinary_text_are_left() {
        assert!(masked("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----").is_empty());
        assert!(masked("just a log line\n-----END RSA PRIVATE KEY-----").is_empty());
    }
}
