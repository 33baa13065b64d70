//! A line-oriented view of Markdown: just enough to find headings, list items and fenced
//! code blocks, with the line of each. Headings inside code fences are not headings.

/// What a line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    /// Ordinary text (prose, list items, blank lines).
    Text,
    /// `#` .. `######` outside a fence.
    Heading { level: usize, text: String },
    /// The opening fence of a code block; `info` is the first word after the fence.
    FenceOpen { info: String },
    /// A line inside a code block.
    FenceBody,
    /// The closing fence of a code block.
    FenceClose,
}

/// One classified line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based line number in the whole file.
    pub no: usize,
    pub text: &'a str,
    pub kind: LineKind,
}

fn fence_start(text: &str) -> Option<(char, usize, &str)> {
    let indent = text.len() - text.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &text[indent..];
    let ch = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = rest.chars().take_while(|c| *c == ch).count();
    if len < 3 {
        return None;
    }
    let info = &rest[len..];
    // A backtick fence's info string may not contain backticks (CommonMark).
    if ch == '`' && info.contains('`') {
        return None;
    }
    Some((ch, len, info.trim()))
}

fn heading(text: &str) -> Option<(usize, String)> {
    let indent = text.len() - text.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &text[indent..];
    let level = rest.chars().take_while(|c| *c == '#').count();
    if level == 0 || level > 6 {
        return None;
    }
    let after = &rest[level..];
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    // Drop an optional closing sequence of #s.
    let body = after.trim();
    let body = body.trim_end_matches('#');
    let body =
        if body.len() < after.trim().len() && !body.ends_with([' ', '\t']) && !body.is_empty() {
            after.trim()
        } else {
            body.trim_end()
        };
    Some((level, body.to_owned()))
}

/// Classifies every line of `text`; line numbers start at `first_line`.
pub fn scan(text: &str, first_line: usize) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut open: Option<(char, usize)> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let no = first_line + i;
        let kind = match open {
            Some((ch, len)) => match fence_start(line) {
                Some((c, l, info)) if c == ch && l >= len && info.is_empty() => {
                    open = None;
                    LineKind::FenceClose
                }
                _ => LineKind::FenceBody,
            },
            None => {
                if let Some((ch, len, info)) = fence_start(line) {
                    open = Some((ch, len));
                    LineKind::FenceOpen {
                        info: info.split_whitespace().next().unwrap_or("").to_owned(),
                    }
                } else if let Some((level, text)) = heading(line) {
                    LineKind::Heading { level, text }
                } else {
                    LineKind::Text
                }
            }
        };
        out.push(Line {
            no,
            text: line,
            kind,
        });
    }
    // A trailing newline yields one empty final line; it is not part of the document.
    if text.ends_with('\n') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_inside_fences_are_not_headings() {
        let text = "# T\n\n```markdown\n# Not a heading\n## Nor this\n```\n## Real\n````\n```\n# still code\n````\n";
        let lines = scan(text, 1);
        let headings: Vec<_> = lines
            .iter()
            .filter_map(|l| match &l.kind {
                LineKind::Heading { level, text } => Some((l.no, *level, text.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            headings,
            vec![(1, 1, "T".to_owned()), (7, 2, "Real".to_owned())]
        );
        assert_eq!(
            lines[2].kind,
            LineKind::FenceOpen {
                info: "markdown".into()
            }
        );
        assert_eq!(lines[10].kind, LineKind::FenceClose);
    }

    #[test]
    fn heading_forms() {
        assert_eq!(heading("## Steps ##"), Some((2, "Steps".into())));
        assert_eq!(heading("### 1. Do it"), Some((3, "1. Do it".into())));
        assert_eq!(heading("#hashtag"), None);
        assert_eq!(heading("    # code"), None);
        assert_eq!(heading("# C#"), Some((1, "C#".into())));
    }

    #[test]
    fn tilde_fences_and_info() {
        let lines = scan("~~~tool extra\nk.t: {}\n~~~\n", 5);
        assert_eq!(
            lines[0].kind,
            LineKind::FenceOpen {
                info: "tool".into()
            }
        );
        assert_eq!(lines[1].kind, LineKind::FenceBody);
        assert_eq!((lines[2].no, &lines[2].kind), (7, &LineKind::FenceClose));
    }
}
