//! Interactive Slack content: buttons, menus, inputs, pickers, legacy attachment actions, and
//! SOPilot's reserved `sopilot_` ids.
//!
//! SOPilot's server posts approval requests with Approve/Deny buttons (`sopilot_approve`,
//! `sopilot_deny`) whose `value` is the approval id, and a press decides the approval. So
//! this server never posts interactive content (a model could forge an approval request or
//! plant a button), and what it reads back never shows the values of interactive elements (a
//! model could harvest approval ids).
//!
//! The JSON is walked generically, at any depth, rather than by known block shapes: an
//! element is interactive when its type is one of Block Kit's interactive elements (or looks
//! like one: `*_select`, `*_input`, `*picker`), when it has an `action_id`, when it is an
//! accessory other than an image, or when it carries legacy attachment `actions` or a
//! `callback_id`.

use serde_json::{Map, Value};

/// Block types that exist only to be interacted with.
const INTERACTIVE_BLOCKS: [&str; 2] = ["actions", "input"];

/// Block Kit's interactive elements (and legacy attachment action types).
const INTERACTIVE_ELEMENTS: [&str; 14] = [
    "button",
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "timepicker",
    "overflow",
    "radio_buttons",
    "select",
    "workflow_button",
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
    "file_input",
];

/// Keys that only interactive content (or legacy interactive attachments) carries.
const INTERACTIVE_KEYS: [&str; 4] = ["action_id", "actions", "callback_id", "dispatch_action"];

/// Keys whose string value must not use SOPilot's reserved prefix.
const ID_KEYS: [&str; 5] = [
    "action_id",
    "block_id",
    "callback_id",
    "value",
    "external_id",
];

/// SOPilot's reserved prefix for its own action, block and callback ids.
const RESERVED_PREFIX: &str = "sopilot_";

/// Values shorter than this are not hidden from text (hiding "1" would wreck the text).
const MIN_HIDDEN: usize = 6;

/// What replaces a hidden value in what the model reads.
pub const HIDDEN: &str = "[hidden]";

/// The first interactive thing found in a list of blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The index of the top-level block (or attachment) that holds it.
    pub index: usize,
    /// That block's `type` (`?` when it has none).
    pub block_type: String,
    /// A JSON pointer to the offending value, e.g. `/blocks/2/accessory`.
    pub pointer: String,
    /// What it is, e.g. "a `button` element".
    pub what: String,
}

/// The first interactive element or reserved id in `items` (the `blocks` or `attachments`
/// array called `name`), if any.
pub fn find(name: &str, items: &[Value]) -> Option<Finding> {
    items.iter().enumerate().find_map(|(index, item)| {
        let mut scan = Scan::default();
        walk(item, &format!("/{name}/{index}"), false, &mut scan);
        scan.finding().map(|(pointer, what)| Finding {
            index,
            block_type: item
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned(),
            pointer,
            what,
        })
    })
}

/// The first interactive thing in a message as Slack returns it (its blocks and attachments).
pub fn find_in_message(message: &Value) -> Option<Finding> {
    ["blocks", "attachments"].into_iter().find_map(|key| {
        message
            .get(key)
            .and_then(Value::as_array)
            .and_then(|items| find(key, items))
    })
}

/// What a message read from Slack must not show, and what it may say instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hidden {
    /// Values of interactive elements (approval ids) and reserved ids, to mask in text.
    pub secrets: Vec<String>,
    /// The interactive elements, by type and visible label: `button "Approve"`.
    pub controls: Vec<String>,
}

impl Hidden {
    /// Scans a message's blocks and attachments.
    pub fn of_message(message: &Value) -> Hidden {
        let mut scan = Scan::default();
        for key in ["blocks", "attachments"] {
            if let Some(v) = message.get(key) {
                walk(v, &format!("/{key}"), false, &mut scan);
            }
        }
        let mut secrets: Vec<String> = scan
            .secrets
            .into_iter()
            .filter(|s| s.chars().count() >= MIN_HIDDEN)
            .collect();
        sort_longest_first(&mut secrets);
        Hidden {
            secrets,
            controls: scan.controls,
        }
    }

    /// Adds another message's secrets (a thread reply may quote the approval message's id).
    pub fn merge_secrets(&mut self, other: &Hidden) {
        self.secrets.extend(other.secrets.iter().cloned());
        sort_longest_first(&mut self.secrets);
    }

    /// `text` with every secret replaced by [`HIDDEN`].
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), HIDDEN);
            }
        }
        out
    }
}

/// Longest first (so a value that contains another is masked whole), without repeats.
fn sort_longest_first(secrets: &mut Vec<String>) {
    secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    secrets.dedup();
}

/// What a walk collects.
#[derive(Debug, Default)]
struct Scan {
    /// The first reserved id: pointer and description (the most telling finding).
    reserved: Option<(String, String)>,
    /// The first interactive element: pointer and description.
    interactive: Option<(String, String)>,
    secrets: Vec<String>,
    controls: Vec<String>,
}

impl Scan {
    fn finding(self) -> Option<(String, String)> {
        self.reserved.or(self.interactive)
    }
}

fn reserved(s: &str) -> bool {
    s.trim().to_ascii_lowercase().contains(RESERVED_PREFIX)
}

fn interactive_type(t: &str) -> bool {
    INTERACTIVE_ELEMENTS.contains(&t)
        || t.ends_with("_select")
        || t.ends_with("_input")
        || t.ends_with("picker")
}

/// What makes an object interactive.
enum Kind {
    /// A block or attachment holding interactive elements.
    Container(String),
    /// An element a person can press, pick or fill in.
    Control(String),
}

/// Why this object is interactive, if it is (its children are looked at by [`walk`]).
fn classify(obj: &Map<String, Value>) -> Option<Kind> {
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or_default();
    if INTERACTIVE_BLOCKS.contains(&kind) {
        return Some(Kind::Container(format!("an `{kind}` block")));
    }
    if interactive_type(kind) {
        return Some(Kind::Control(format!("a `{kind}` element")));
    }
    if let Some(key) = INTERACTIVE_KEYS.iter().find(|k| obj.contains_key(**k)) {
        return Some(match *key {
            "actions" | "callback_id" => {
                Kind::Container(format!("a legacy attachment with `{key}`"))
            }
            _ => Kind::Control(format!("an element with `{key}`")),
        });
    }
    match obj.get("accessory") {
        Some(acc) if acc.get("type").and_then(Value::as_str) != Some("image") => {
            Some(Kind::Container(format!(
                "an accessory of type `{}` (an accessory other than an image is interactive)",
                acc.get("type").and_then(Value::as_str).unwrap_or("?")
            )))
        }
        _ => None,
    }
}

/// The visible label of an interactive element: `button "Approve"`.
fn control(obj: &Map<String, Value>) -> String {
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or("element");
    let label = ["text", "placeholder", "label"]
        .iter()
        .find_map(|k| match obj.get(*k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(o) => o.get("text").and_then(Value::as_str).map(str::to_owned),
            None => None,
        })
        .or_else(|| obj.get("name").and_then(Value::as_str).map(str::to_owned));
    match label {
        Some(l) => format!("{kind} {l:?}"),
        None => kind.to_owned(),
    }
}

fn walk(v: &Value, at: &str, interactive: bool, scan: &mut Scan) {
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{at}/{i}"), interactive, scan);
            }
        }
        Value::Object(obj) => walk_object(obj, at, interactive, scan),
        Value::String(_) | Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn walk_object(obj: &Map<String, Value>, at: &str, inside: bool, scan: &mut Scan) {
    for key in ID_KEYS {
        if let Some(Value::String(s)) = obj.get(key)
            && reserved(s)
        {
            if scan.reserved.is_none() {
                scan.reserved = Some((
                    format!("{at}/{key}"),
                    format!(
                        "the {key} {:?}, which uses SOPilot's reserved `{RESERVED_PREFIX}` prefix",
                        crate::text::clip(s, 60)
                    ),
                ));
            }
            scan.secrets.push(s.clone());
        }
    }
    let kind = classify(obj);
    if let Some(Kind::Container(what) | Kind::Control(what)) = &kind
        && scan.interactive.is_none()
    {
        scan.interactive = Some((at.to_owned(), what.clone()));
    }
    if let Some(Kind::Control(_)) = &kind {
        scan.controls.push(control(obj));
    }
    // Everything inside interactive content is the app's, and its values are ids.
    let inside = inside || kind.is_some();
    if inside && let Some(Value::String(s)) = obj.get("value") {
        scan.secrets.push(s.clone());
    }
    for (key, child) in obj {
        walk(child, &format!("{at}/{key}"), inside, scan);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn first(blocks: Value) -> Option<Finding> {
        find("blocks", blocks.as_array().map_or(&[][..], Vec::as_slice))
    }

    #[test]
    fn layout_blocks_pass() {
        let blocks = json!([
            {"type": "header", "text": {"type": "plain_text", "text": "SEV2"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*down*"},
             "accessory": {"type": "image", "image_url": "https://x/y.png", "alt_text": "graph"}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "*a*\nb"}]},
            {"type": "divider"},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "value: 42"}]},
            {"type": "rich_text", "elements": [{"type": "rich_text_section",
              "elements": [{"type": "text", "text": "hello"}]}]},
            {"type": "image", "image_url": "https://x/y.png", "alt_text": "graph"},
        ]);
        assert_eq!(first(blocks), None);
    }

    #[test]
    fn interactive_content_is_found_anywhere() {
        let cases = [
            (
                json!([{"type": "divider"}, {"type": "actions", "elements": []}]),
                1,
                "actions",
                "/blocks/1",
                "an `actions` block",
            ),
            (
                json!([{"type": "input", "element": {"type": "plain_text_input"}}]),
                0,
                "input",
                "/blocks/0",
                "an `input` block",
            ),
            (
                json!([{"type": "section", "text": {"type": "mrkdwn", "text": "x"},
                     "accessory": {"type": "overflow", "options": []}}]),
                0,
                "section",
                "/blocks/0",
                "an accessory of type `overflow`",
            ),
            (
                json!([{"type": "section", "text": {"type": "mrkdwn", "text": "x"},
                     "accessory": {"type": "fancy_new_thing"}}]),
                0,
                "section",
                "/blocks/0",
                "an accessory of type `fancy_new_thing`",
            ),
            (
                json!([{"type": "context", "elements": [{"type": "mrkdwn", "text": "x",
                     "deep": [{"nested": {"type": "users_select"}}]}]}]),
                0,
                "context",
                "/blocks/0/elements/0/deep/0/nested",
                "a `users_select` element",
            ),
            (
                json!([{"type": "section", "text": {"type": "mrkdwn", "text": "x"},
                     "attachments": [{"fallback": "f", "actions": [{"name": "ok", "type": "button"}]}]}]),
                0,
                "section",
                "/blocks/0/attachments/0",
                "a legacy attachment with `actions`",
            ),
            (
                json!([{"type": "section", "block_id": "sopilot_approval", "text": {"type": "mrkdwn", "text": "x"}}]),
                0,
                "section",
                "/blocks/0/block_id",
                "reserved `sopilot_` prefix",
            ),
            (
                json!([{"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "x": {"action_id": "go"}}]),
                0,
                "section",
                "/blocks/0/x",
                "an element with `action_id`",
            ),
        ];
        for (blocks, index, block_type, pointer, what) in cases {
            let f = first(blocks.clone()).unwrap_or_else(|| panic!("not found in {blocks}"));
            assert_eq!(
                (f.index, f.block_type.as_str(), f.pointer.as_str()),
                (index, block_type, pointer),
                "{blocks}"
            );
            assert!(f.what.contains(what), "{} lacks {what}", f.what);
        }
    }

    #[test]
    fn reserved_ids_come_first() {
        let f = first(json!([{"type": "actions", "elements": [
            {"type": "button", "action_id": "SOPILOT_approve", "value": "apr-1"}]}]));
        let f = f.unwrap_or_else(|| panic!("not found"));
        assert_eq!(f.pointer, "/blocks/0/elements/0/action_id");
    }

    #[test]
    fn approval_ids_are_hidden_and_buttons_named() {
        let msg = json!({"text": "Approval needed: kubectl.scale (apr-0123456789ab)",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": "approve?"}},
                {"type": "actions", "block_id": "sopilot_approval", "elements": [
                    {"type": "button", "action_id": "sopilot_approve", "value": "apr-0123456789ab",
                     "text": {"type": "plain_text", "text": "Approve"}},
                    {"type": "button", "action_id": "sopilot_deny", "value": "apr-0123456789ab",
                     "text": {"type": "plain_text", "text": "Deny"}},
                    {"type": "static_select", "action_id": "pick", "placeholder": {"type": "plain_text", "text": "Pick"},
                     "options": [{"text": {"type": "plain_text", "text": "a"}, "value": "option-secret"}]}]}]});
        let h = Hidden::of_message(&msg);
        assert_eq!(
            h.controls,
            [
                "button \"Approve\"",
                "button \"Deny\"",
                "static_select \"Pick\""
            ]
        );
        for s in [
            "apr-0123456789ab",
            "sopilot_approve",
            "sopilot_approval",
            "option-secret",
        ] {
            assert!(
                h.secrets.iter().any(|x| x == s),
                "{s} not in {:?}",
                h.secrets
            );
        }
        assert_eq!(
            h.mask("Approval needed: kubectl.scale (apr-0123456789ab) via sopilot_approve"),
            "Approval needed: kubectl.scale ([hidden]) via [hidden]"
        );
        assert_eq!(find_in_message(&msg).map(|f| f.index), Some(1));
        let plain = Hidden::of_message(
            &json!({"text": "x", "attachments": [{"fields": [{"title": "t", "value": "shown-value"}]}]}),
        );
        assert!(
            plain.secrets.is_empty() && plain.controls.is_empty(),
            "{plain:?}"
        );
    }
}
