//! The Atlassian Document Format (ADF) as the simulator checks and reads it: a `doc` of
//! version 1 whose nodes have known types, text nodes with non-empty text and known marks.

use serde_json::{Value, json};

/// What Jira answers (in `errors.<field>`) for a value that is not an ADF document.
pub const NOT_A_DOCUMENT: &str =
    "Operation value must be an Atlassian Document (see the Atlassian Document Format)";

const BLOCKS: &[&str] = &[
    "paragraph",
    "heading",
    "bulletList",
    "orderedList",
    "listItem",
    "codeBlock",
    "blockquote",
    "rule",
    "panel",
    "table",
    "tableRow",
    "tableHeader",
    "tableCell",
];
const INLINES: &[&str] = &[
    "text",
    "hardBreak",
    "mention",
    "emoji",
    "inlineCard",
    "date",
    "status",
];
const MARKS: &[&str] = &[
    "strong",
    "em",
    "code",
    "strike",
    "underline",
    "link",
    "subsup",
    "textColor",
];

/// Whether `v` is an ADF document Jira would accept.
pub fn is_document(v: &Value) -> bool {
    v["type"] == "doc"
        && v["version"] == 1
        && v["content"]
            .as_array()
            .is_some_and(|c| c.iter().all(valid_node))
}

fn valid_node(n: &Value) -> bool {
    let Some(kind) = n["type"].as_str() else {
        return false;
    };
    if kind == "text" {
        let marks_ok = match n.get("marks") {
            None => true,
            Some(m) => m.as_array().is_some_and(|m| {
                m.iter()
                    .all(|m| m["type"].as_str().is_some_and(|t| MARKS.contains(&t)))
            }),
        };
        return n["text"].as_str().is_some_and(|t| !t.is_empty()) && marks_ok;
    }
    if !BLOCKS.contains(&kind) && !INLINES.contains(&kind) {
        return false;
    }
    match n.get("content") {
        None => true,
        Some(c) => c.as_array().is_some_and(|c| c.iter().all(valid_node)),
    }
}

/// A document of one paragraph per line block of `text` (how the section seeds descriptions).
pub fn from_text(text: &str) -> Value {
    let content: Vec<Value> = text
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| json!({"type": "paragraph", "content": [{"type": "text", "text": p.trim()}]}))
        .collect();
    json!({"type": "doc", "version": 1, "content": content})
}

/// The text of a document: blocks on their own lines, marks dropped.
pub fn to_text(doc: &Value) -> String {
    let mut out = String::new();
    walk(doc, &mut out);
    out.trim_end().to_owned()
}

fn walk(n: &Value, out: &mut String) {
    match n["type"].as_str() {
        Some("text") => out.push_str(n["text"].as_str().unwrap_or_default()),
        Some("hardBreak") => out.push('\n'),
        _ => {}
    }
    if let Some(c) = n["content"].as_array() {
        for child in c {
            walk(child, out);
        }
    }
    if matches!(
        n["type"].as_str(),
        Some("paragraph" | "heading" | "codeBlock" | "listItem")
    ) && !out.ends_with('\n')
    {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_and_not() {
        let doc = from_text("first\n\nsecond");
        assert!(is_document(&doc));
        assert_eq!(to_text(&doc), "first\nsecond");
        assert!(!is_document(&json!("plain text")));
        assert!(!is_document(
            &json!({"type": "doc", "version": 2, "content": []})
        ));
        let empty_text = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": ""}]}]});
        assert!(!is_document(&empty_text));
        let bad_mark = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "x", "marks": [{"type": "blink"}]}]}]});
        assert!(!is_document(&bad_mark));
        let unknown = json!({"type": "doc", "version": 1, "content": [{"type": "marquee"}]});
        assert!(!is_document(&unknown));
    }
}
