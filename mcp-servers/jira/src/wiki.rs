//! Markdown-ish text to the wiki markup Jira Data Center's REST v2 takes as a description or
//! comment body: `#` headings become `h1.`, `-`/`*` lists `*`, `1.` lists `#`, ``` fences
//! `{code}`, `inline code` `{{monospace}}`, **bold** `*bold*`; everything else is kept.
//! Pure: the same subset as [`crate::adf`] understands.

/// The wiki markup for `text`.
pub fn from_markdown(text: &str) -> String {
    let mut out = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(lang) = trimmed.strip_prefix("```") {
            out.push(match (in_code, lang.trim()) {
                (true, _) => "{code}".to_owned(),
                (false, "") => "{code}".to_owned(),
                (false, lang) => format!("{{code:{lang}}}"),
            });
            in_code = !in_code;
        } else if in_code {
            out.push(line.to_owned());
        } else {
            out.push(block(line.trim_end()));
        }
    }
    if in_code {
        out.push("{code}".to_owned());
    }
    out.join("\n")
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
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..start]);
        let inner = &rest[start + width..end];
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
            "h2. Timeline\n* 14:10 rollout of {{payment-service}}\n# first\nroot cause: *pool 10*\n{code:sql}\nSELECT 1;\n- not a list\n{code}\ntail"
        );
    }

    #[test]
    fn unpaired_markers_and_an_open_fence_are_kept_safe() {
        assert_eq!(from_markdown("a ` b ** c"), "a ` b ** c");
        assert_eq!(from_markdown("```\nx"), "{code}\nx\n{code}");
        assert_eq!(from_markdown("#nospace"), "#nospace");
    }
}
