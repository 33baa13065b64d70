//! Byte ranges of a text that hold a secret, collected from every rule on the same input,
//! then merged (overlapping or touching ranges become one) and replaced by [`MASK`] in one
//! pass. Rules never see each other's output, so their order does not matter.

use crate::MASK;

/// A secret at `start..end` of the text (byte offsets on char boundaries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// The span without ASCII whitespace or literal `\n` / `\r` / `\t` escapes at either
    /// end (a JSON-escaped body keeps its line breaks visible); `None` when nothing is left.
    pub fn trimmed(self, text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        let (mut start, mut end) = (self.start, self.end.min(text.len()));
        loop {
            if start < end && bytes[start].is_ascii_whitespace() {
                start += 1;
            } else if start + 1 < end && bytes[start] == b'\\' && is_escape(bytes[start + 1]) {
                start += 2;
            } else {
                break;
            }
        }
        loop {
            if start < end && bytes[end - 1].is_ascii_whitespace() {
                end -= 1;
            } else if start + 1 < end && bytes[end - 2] == b'\\' && is_escape(bytes[end - 1]) {
                end -= 2;
            } else {
                break;
            }
        }
        (start < end).then_some(Self { start, end })
    }
}

fn is_escape(b: u8) -> bool {
    matches!(b, b'n' | b'r' | b't')
}

/// `text` with every span replaced by [`MASK`]; `None` when that changes nothing (no span,
/// or every merged span already reads exactly [`MASK`]).
pub(crate) fn apply(text: &str, mut spans: Vec<Span>) -> Option<String> {
    spans.retain(|s| s.start < s.end && s.end <= text.len());
    if spans.is_empty() {
        return None;
    }
    spans.sort_unstable();
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => merged.push(s),
        }
    }
    merged.retain(|s| text.get(s.start..s.end) != Some(MASK));
    if merged.is_empty() {
        return None;
    }
    // A span off a char boundary would be a bug in a rule: fail closed, mask everything.
    Some(splice(text, &merged).unwrap_or_else(|| MASK.to_owned()))
}

fn splice(text: &str, spans: &[Span]) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for s in spans {
        out.push_str(text.get(at..s.start)?);
        out.push_str(MASK);
        at = s.end;
    }
    out.push_str(text.get(at..)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_overlapping_and_touching_spans() {
        let spans = vec![Span::new(6, 9), Span::new(2, 4), Span::new(3, 6)];
        assert_eq!(apply("0123456789", spans).as_deref(), Some("01[REDACTED]9"));
    }

    #[test]
    fn a_span_that_is_already_the_mask_changes_nothing() {
        let text = "a=[REDACTED] b";
        assert_eq!(apply(text, vec![Span::new(2, 12)]), None);
        assert_eq!(apply(text, vec![]), None);
    }

    #[test]
    fn a_span_off_a_char_boundary_masks_everything() {
        assert_eq!(apply("aé b", vec![Span::new(2, 3)]).as_deref(), Some(MASK));
    }

    #[test]
    fn trims_whitespace_and_escaped_line_breaks() {
        let text = "x\\n  abc \n\\r\\ny";
        let s = Span::new(1, text.len() - 1).trimmed(text);
        assert_eq!(s.map(|s| &text[s.start..s.end]), Some("abc"));
        assert_eq!(Span::new(0, 2).trimmed(" \n"), None);
    }
}
