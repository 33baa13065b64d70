//! Markdown-ish text to the wiki markup Jira Data Center's REST v2 takes as a description or
//! comment body: `#` headings become `h1.`, `-`/`*` lists `*`, `1.` lists `#`, ``` fences
//! `{noformat}`, `inline code` `{{monospace}}`, **bold** `*bold*`. Pure: the same subset as
//! [`crate::adf`] understands.
//!
//! The text is often hostile (log lines, alert text), and Jira renders wiki markup when anyone
//! opens the issue: `!https://x/p.png!` is an image fetched with no click, `[a|https://x]` a
//! link, `[~user]` a mention, `{html}`/`{color}`... macros, `|` a table. So outside the subset
//! the characters that open those (`! [ ] { } |`) are backslash-escaped, and a backslash is
//! written as the entity `&#92;` (a literal `\` before an escape would otherwise make a line
//! break `\\` and free the character after it). A code block's lines are kept as written inside
//! `{noformat}` (which renders nothing), except that a `{noformat` or `{code` in them is broken
//! (`{ noformat`), so a log line cannot close the block. Bare URLs stay autolinks (a click).

/// The wiki markup for `text`.
pub fn from_markdown(text: &str) -> String {
    let mut out = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            // The language is dropped: {noformat} has none, and it is text to escape.
            out.push(NOFORMAT.to_owned());
            in_code = !in_code;
        } else if in_code {
            out.push(in_block(line));
        } else {
            out.push(block(line.trim_end()));
        }
    }
    if in_code {
        out.push(NOFORMAT.to_owned());
    }
    out.join("\n")
}

const NOFORMAT: &str = "{noformat}";

/// A line inside `{noformat}`: kept, but a `{noformat`/`{code` (any case) cannot end the block.
fn in_block(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let opens = |name: &str| {
            rest.get(..name.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(name))
        };
        if opens("noformat") || opens("code") {
            out.push(' ');
        }
    }
    out.push_str(rest);
    out
}

/// Text with no markup of ours: what Jira would render as a link, an image, a macro, a
/// mention or a table cell is escaped.
fn escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("&#92;"),
            '!' | '[' | ']' | '{' | '}' | '|' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// One line outside code: a heading, a list item or text, with its inline marks.
fn block(line: &str) -> String {
    let l = line.trim_start();
    let hashes = l.bytes().take_while(|b| *b == b'#').count();
    if (1..=6).contains(&hashes)
        && let Some(rest) = l[hashes..].strip_prefix(' ')
    {
        return format!("h{hashes}. {}", inline(rest.trim()));
    }
    if let Some(rest) = l.strip_prefix("- ").or_else(|| l.strip_prefix("* ")) {
        return format!("* {}", inline(rest.trim()));
    }
    let digits = l.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0
        && let Some(rest) = l[digits..].strip_prefix(". ")
    {
        return format!("# {}", inline(rest.trim()));
    }
    inline(line)
}

/// `code` → `{{code}}`, **bold** → `*bold*`; an unpaired marker stays as written.
fn inline(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    loop {
        let code = rest
            .find('`')
            .and_then(|s| rest[s + 1..].find('`').map(|e| (s, s + 1 + e, 1)));
        let bold = rest
            .find("**")
            .and_then(|s| rest[s + 2..].find("**").map(|e| (s, s + 2 + e, 2)));
        let next = match (code, bold) {
            (Some(c), Some(b)) => Some(if c.0 <= b.0 { c } else { b }),
            (c, b) => c.or(b),
        };
        let Some((start, end, width)) = next.filter(|(s, e, w)| *e > s + w) else {
            out.push_str(&escaped(rest));
            return out;
        };
        out.push_str(&escaped(&rest[..start]));
        let inner = escaped(&rest[start + width..end]);
        if width == 1 {
            out.push_str(&format!("{{{{{inner}}}}}"));
        } else {
            out.push_str(&format!("*{inner}*"));
        }
        rest = &rest[end + width..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_wiki_markup() {
        let md = "## Timeline\n- 14:10 rollout of `payment-service`\n1. first\nroot cause: **pool 10**\n```sql\nSELECT 1;\n- not a list\n```\ntail";
        assert_eq!(
            from_markdown(md),
            "h2. Timeline\n* 14:10 rollout of {{payment-service}}\n# first\nroot cause: *pool 10*\n{noformat}\nSELECT 1;\n- not a list\n{noformat}\ntail"
        );
    }

    #[test]
    fn unpaired_markers_and_an_open_fence_are_kept_safe() {
        assert_eq!(from_markdown("a ` b ** c"), "a ` b ** c");
        assert_eq!(from_markdown("```\nx"), "{noformat}\nx\n{noformat}");
        assert_eq!(from_markdown("#nospace"), "#nospace");
    }

    /// Whether `wiki` has `open` not preceded by an escaping backslash.
    fn live(wiki: &str, open: &str) -> bool {
        wiki.match_indices(open)
            .any(|(i, _)| i == 0 || !wiki[..i].ends_with('\\'))
    }

    #[test]
    fn hostile_images_links_and_macros_are_not_live() {
        let w = from_markdown("x !https://e/p.png?d=secret! and **!http://e/q.png!**");
        assert!(!live(&w, "!http"), "{w}");
        assert_eq!(
            w,
            "x \\!https://e/p.png?d=secret\\! and *\\!http://e/q.png\\!*"
        );
        let w = from_markdown("- [click|https://evil] [~admin] `{html}<img>{html}` a|b");
        assert!(
            !live(&w, "[") && !live(&w, "{html") && !live(&w, "|"),
            "{w}"
        );
        assert!(w.starts_with("* \\[click\\|https://evil\\]"), "{w}");
        // A backslash of the text cannot pair with an escape into a line break.
        let w = from_markdown("a\\!http://e/p.png\\!");
        assert!(!w.contains("\\\\") && !live(&w, "!http"), "{w}");
    }

    #[test]
    fn a_code_block_cannot_be_closed_from_inside() {
        let w = from_markdown("```\n{code}\n!http://e/p.png!\n{NoFormat}\n```\nafter");
        assert_eq!(
            w,
            "{noformat}\n{ code}\n!http://e/p.png!\n{ NoFormat}\n{noformat}\nafter"
        );
        // The image text is inside the block: the only {noformat}s are the two of the fence.
        assert_eq!(w.matches("{noformat}").count(), 2);
        let inside = &w[..w.rfind("{noformat}").unwrap_or(0)];
        assert!(inside.contains("!http://e/p.png!"));
        // A hostile language after the fence is not kept.
        assert_eq!(
            from_markdown("```x}{html}\ny\n```"),
            "{noformat}\ny\n{noformat}"
        );
    }
}
