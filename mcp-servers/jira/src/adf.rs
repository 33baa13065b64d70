//! Markdown-ish text to the Atlassian Document Format (ADF) Jira v3 takes, and ADF back to
//! text for reading. Understood: blank-line paragraphs (single newlines kept as breaks),
//! `#` headings, `-`/`*` and `1.` lists, ``` fenced code, `inline code` and **bold**.

use serde_json::{Value, json};

/// A document Jira accepts, for `text`.
pub fn from_markdown(text: &str) -> Value {
    let mut blocks = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_end();
        if trimmed.trim().is_empty() {
            continue;
        }
        if let Some(lang) = trimmed.trim_start().strip_prefix("```") {
            let mut code = Vec::new();
            for l in lines.by_ref() {
                if l.trim_start().starts_with("```") {
                    break;
                }
                code.push(l);
            }
            let content = if code.is_empty() {
                json!([])
            } else {
                json!([{"type": "text", "text": code.join("\n")}])
            };
            let mut block = json!({"type": "codeBlock", "content": content});
            if !lang.trim().is_empty() {
                block["attrs"] = json!({"language": lang.trim()});
            }
            blocks.push(block);
        } else if let Some((level, rest)) = heading(trimmed) {
            blocks.push(
                json!({"type": "heading", "attrs": {"level": level}, "content": inline(rest)}),
            );
        } else if let Some((ordered, _)) = list_item(trimmed) {
            let mut items = Vec::new();
            let mut current = Some(trimmed.to_owned());
            while let Some(l) = current.take() {
                if let Some((_, rest)) = list_item(&l) {
                    items.push(json!({"type": "listItem", "content": [paragraph(rest)]}));
                }
                if let Some(next) = lines
                    .peek()
                    .filter(|n| list_item(n.trim_end()).is_some_and(|(o, _)| o == ordered))
                {
                    current = Some(next.trim_end().to_owned());
                    lines.next();
                }
            }
            let kind = if ordered { "orderedList" } else { "bulletList" };
            blocks.push(json!({"type": kind, "content": items}));
        } else {
            let mut para = vec![trimmed.trim_start().to_owned()];
            while let Some(next) = lines.peek().map(|n| n.trim_end()).filter(|n| {
                !n.trim().is_empty()
                    && heading(n).is_none()
                    && list_item(n).is_none()
                    && !n.trim_start().starts_with("```")
            }) {
                para.push(next.trim_start().to_owned());
                lines.next();
            }
            let mut content = Vec::new();
            for (i, p) in para.iter().enumerate() {
                if i > 0 {
                    content.push(json!({"type": "hardBreak"}));
                }
                content.extend(inline(p));
            }
            blocks.push(json!({"type": "paragraph", "content": content}));
        }
    }
    json!({"type": "doc", "version": 1, "content": blocks})
}

fn paragraph(text: &str) -> Value {
    json!({"type": "paragraph", "content": inline(text)})
}

fn heading(line: &str) -> Option<(usize, &str)> {
    let hashes = line.bytes().take_while(|b| *b == b'#').count();
    let rest = line.get(hashes..)?.strip_prefix(' ')?;
    ((1..=6).contains(&hashes) && !rest.trim().is_empty()).then_some((hashes, rest.trim()))
}

/// `(ordered, text)` of a list line.
fn list_item(line: &str) -> Option<(bool, &str)> {
    let l = line.trim_start();
    if let Some(rest) = l.strip_prefix("- ").or_else(|| l.strip_prefix("* ")) {
        return Some((false, rest.trim()));
    }
    let digits = l.bytes().take_while(u8::is_ascii_digit).count();
    let rest = l.get(digits..)?.strip_prefix(". ")?;
    (digits > 0).then_some((true, rest.trim()))
}

/// Text nodes with `code` and `strong` marks; never an empty text node (Jira refuses them).
fn inline(text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let code = rest
            .find('`')
            .and_then(|s| rest[s + 1..].find('`').map(|e| (s, s + 1 + e, "code", 1)));
        let bold = rest.find("**").and_then(|s| {
            rest[s + 2..]
                .find("**")
                .map(|e| (s, s + 2 + e, "strong", 2))
        });
        let next = match (code, bold) {
            (Some(c), Some(b)) => Some(if c.0 <= b.0 { c } else { b }),
            (c, b) => c.or(b),
        };
        let Some((start, end, mark, width)) = next.filter(|(s, e, _, w)| e > &(s + w)) else {
            push_text(&mut out, rest, None);
            break;
        };
        push_text(&mut out, &rest[..start], None);
        push_text(&mut out, &rest[start + width..end], Some(mark));
        rest = &rest[end + width..];
    }
    out
}

fn push_text(out: &mut Vec<Value>, text: &str, mark: Option<&str>) {
    if text.is_empty() {
        return;
    }
    let mut node = json!({"type": "text", "text": text});
    if let Some(m) = mark {
        node["marks"] = json!([{"type": m}]);
    }
    out.push(node);
}

/// The text of an ADF document, for reading: blocks on their own lines, lists with `- `,
/// code fenced; unknown nodes contribute their text.
pub fn to_text(doc: &Value) -> String {
    let mut out = String::new();
    block(doc, &mut out, "");
    out.trim_end().to_owned()
}

fn block(n: &Value, out: &mut String, prefix: &str) {
    let children = n["content"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    match n["type"].as_str().unwrap_or_default() {
        "text" => out.push_str(n["text"].as_str().unwrap_or_default()),
        "hardBreak" => out.push('\n'),
        "mention" | "emoji" => out.push_str(n["attrs"]["text"].as_str().unwrap_or_default()),
        "inlineCard" => out.push_str(n["attrs"]["url"].as_str().unwrap_or_default()),
        "codeBlock" => {
            out.push_str("```\n");
            children.iter().for_each(|c| block(c, out, prefix));
            out.push_str("\n```\n");
        }
        "listItem" => {
            out.push_str(prefix);
            children.iter().for_each(|c| block(c, out, prefix));
        }
        "bulletList" | "orderedList" => children.iter().for_each(|c| block(c, out, "- ")),
        kind => {
            if kind == "heading" {
                let level = n["attrs"]["level"].as_u64().unwrap_or(1);
                out.push_str(&"#".repeat(usize::try_from(level).unwrap_or(1)));
                out.push(' ');
            }
            children.iter().for_each(|c| block(c, out, prefix));
            if matches!(kind, "paragraph" | "heading") && !out.ends_with('\n') {
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdownish_to_adf_and_back() {
        let text = "# Impact\nCheckout fails for **EU** users.\nSince 10:02.\n\n- rolled back `payments:v42`\n- paged DBA\n\n1. one\n2. two\n\n```sql\nselect 1;\n```";
        let doc = from_markdown(text);
        let kinds: Vec<&str> = doc["content"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b["type"].as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "heading",
                "paragraph",
                "bulletList",
                "orderedList",
                "codeBlock"
            ]
        );
        assert_eq!(
            doc["content"][1]["content"][1]["marks"][0]["type"],
            "strong"
        );
        assert_eq!(doc["content"][1]["content"][3]["type"], "hardBreak");
        assert_eq!(
            doc["content"][2]["content"][0]["content"][0]["content"][1]["marks"][0]["type"],
            "code"
        );
        assert_eq!(doc["content"][4]["attrs"]["language"], "sql");
        let back = to_text(&doc);
        assert!(
            back.contains("# Impact\nCheckout fails for EU users.\nSince 10:02."),
            "{back}"
        );
        assert!(
            back.contains("- rolled back payments:v42\n- paged DBA"),
            "{back}"
        );
    }

    #[test]
    fn no_empty_text_nodes() {
        for t in ["****", "``", "**a**", "a ** b", "`x"] {
            let doc = from_markdown(t);
            assert!(!doc.to_string().contains(r#""text":"""#), "{t}: {doc}");
        }
    }
}
