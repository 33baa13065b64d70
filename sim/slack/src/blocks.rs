//! Block Kit checks, the subset of Slack's rules a client most often breaks. Each problem is
//! reported the way Slack does: `[ERROR] what [json-pointer:/blocks/0/text]`.

use serde_json::Value;

/// Block types a message may hold.
const BLOCK_TYPES: &[&str] = &[
    "section",
    "header",
    "divider",
    "context",
    "actions",
    "image",
    "rich_text",
    "markdown",
    "file",
    "video",
    "input",
];
const MAX_BLOCKS: usize = 50;
const MAX_SECTION_TEXT: usize = 3000;
const MAX_FIELD_TEXT: usize = 2000;
const MAX_FIELDS: usize = 10;
const MAX_HEADER_TEXT: usize = 150;
const MAX_CONTEXT_ELEMENTS: usize = 10;
const MAX_ACTION_ELEMENTS: usize = 25;
const MAX_BLOCK_ID: usize = 255;

/// Checks a `blocks` argument; the errors are Slack's `response_metadata.messages`.
pub fn validate(blocks: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    match blocks {
        Value::Array(items) => {
            if items.len() > MAX_BLOCKS {
                errors.push(err(
                    &format!("must provide at most {MAX_BLOCKS} items"),
                    "/blocks",
                ));
            }
            let mut ids: Vec<&str> = Vec::new();
            for (i, block) in items.iter().enumerate() {
                let at = format!("/blocks/{i}");
                block_errors(block, &at, &mut errors);
                if let Some(id) = block.get("block_id").and_then(Value::as_str) {
                    if ids.contains(&id) {
                        errors.push(err("duplicate block_id", &format!("{at}/block_id")));
                    }
                    ids.push(id);
                }
            }
        }
        _ => errors.push(err("must be an array", "/blocks")),
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn err(what: &str, pointer: &str) -> String {
    format!("[ERROR] {what} [json-pointer:{pointer}]")
}

fn block_errors(block: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(obj) = block.as_object() else {
        errors.push(err("must be an object", at));
        return;
    };
    if let Some(id) = obj.get("block_id") {
        match id.as_str() {
            Some(s) if !s.is_empty() && s.len() <= MAX_BLOCK_ID => {}
            _ => errors.push(err(
                &format!("must be a string of 1 to {MAX_BLOCK_ID} characters"),
                &format!("{at}/block_id"),
            )),
        }
    }
    let kind = match obj.get("type").and_then(Value::as_str) {
        Some(k) if BLOCK_TYPES.contains(&k) => k,
        Some(k) => {
            errors.push(err(
                &format!("unknown block type `{k}`"),
                &format!("{at}/type"),
            ));
            return;
        }
        None => {
            errors.push(err("missing required field: type", at));
            return;
        }
    };
    match kind {
        "section" => {
            let text = obj.get("text");
            let fields = obj.get("fields");
            if text.is_none() && fields.is_none() {
                errors.push(err("must provide text or fields", at));
            }
            if let Some(t) = text {
                text_object(t, &format!("{at}/text"), MAX_SECTION_TEXT, false, errors);
            }
            if let Some(f) = fields {
                match f.as_array() {
                    Some(items) if !items.is_empty() && items.len() <= MAX_FIELDS => {
                        for (j, item) in items.iter().enumerate() {
                            text_object(
                                item,
                                &format!("{at}/fields/{j}"),
                                MAX_FIELD_TEXT,
                                false,
                                errors,
                            );
                        }
                    }
                    _ => errors.push(err(
                        &format!("must be an array of 1 to {MAX_FIELDS} text objects"),
                        &format!("{at}/fields"),
                    )),
                }
            }
        }
        "header" => match obj.get("text") {
            Some(t) => text_object(t, &format!("{at}/text"), MAX_HEADER_TEXT, true, errors),
            None => errors.push(err("missing required field: text", at)),
        },
        "context" => elements(
            obj.get("elements"),
            at,
            MAX_CONTEXT_ELEMENTS,
            errors,
            |e, p, errs| {
                if e.get("type").and_then(Value::as_str) != Some("image") {
                    text_object(e, p, MAX_SECTION_TEXT, false, errs);
                }
            },
        ),
        "actions" => elements(
            obj.get("elements"),
            at,
            MAX_ACTION_ELEMENTS,
            errors,
            |e, p, errs| {
                if e.get("type").and_then(Value::as_str).is_none() {
                    errs.push(err("missing required field: type", p));
                }
            },
        ),
        "markdown" => match obj.get("text").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => {}
            _ => errors.push(err("must be more than 0 characters", &format!("{at}/text"))),
        },
        "image" if obj.get("alt_text").and_then(Value::as_str).is_none() => {
            errors.push(err("missing required field: alt_text", at));
        }
        // divider, rich_text, file, video, input: accepted as written.
        _ => {}
    }
}

fn elements(
    elements: Option<&Value>,
    at: &str,
    max: usize,
    errors: &mut Vec<String>,
    check: impl Fn(&Value, &str, &mut Vec<String>),
) {
    match elements.and_then(Value::as_array) {
        Some(items) if !items.is_empty() && items.len() <= max => {
            for (j, e) in items.iter().enumerate() {
                check(e, &format!("{at}/elements/{j}"), errors);
            }
        }
        Some(_) => errors.push(err(
            &format!("must provide 1 to {max} items"),
            &format!("{at}/elements"),
        )),
        None => errors.push(err("missing required field: elements", at)),
    }
}

fn text_object(t: &Value, at: &str, max: usize, plain_only: bool, errors: &mut Vec<String>) {
    let kind = t.get("type").and_then(Value::as_str);
    match kind {
        Some("plain_text") => {}
        Some("mrkdwn") if !plain_only => {}
        Some(other) => {
            let allowed = if plain_only {
                "plain_text"
            } else {
                "plain_text, mrkdwn"
            };
            errors.push(err(
                &format!("`{other}` is not one of [{allowed}]"),
                &format!("{at}/type"),
            ));
        }
        None => errors.push(err("missing required field: type", at)),
    }
    match t.get("text").and_then(Value::as_str) {
        Some("") => errors.push(err("must be more than 0 characters", &format!("{at}/text"))),
        Some(s) if s.chars().count() > max => errors.push(err(
            &format!("must be less than {} characters", max + 1),
            &format!("{at}/text"),
        )),
        Some(_) => {}
        None => errors.push(err("missing required field: text", at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_a_report() {
        let blocks = json!([
            {"type": "header", "text": {"type": "plain_text", "text": "SEV2 payment"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*down*"}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "*a*\nb"}]},
            {"type": "divider"},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "run r-1"}]},
        ]);
        assert_eq!(validate(&blocks), Ok(()));
    }

    #[test]
    fn names_each_problem() {
        let long = "x".repeat(151);
        let blocks = json!([
            {"type": "header", "text": {"type": "mrkdwn", "text": long}},
            {"type": "section"},
            {"type": "bogus"},
            "text",
            {"type": "context", "elements": []},
        ]);
        let Err(errors) = validate(&blocks) else {
            panic!("invalid blocks accepted")
        };
        let all = errors.join("\n");
        for needle in [
            "`mrkdwn` is not one of [plain_text] [json-pointer:/blocks/0/text/type]",
            "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
            "must provide text or fields [json-pointer:/blocks/1]",
            "unknown block type `bogus` [json-pointer:/blocks/2/type]",
            "must be an object [json-pointer:/blocks/3]",
            "must provide 1 to 10 items [json-pointer:/blocks/4/elements]",
        ] {
            assert!(all.contains(needle), "{needle} not in\n{all}");
        }
        assert!(validate(&json!({"type": "divider"})).is_err());
        assert!(validate(&json!(vec![json!({"type": "divider"}); 51])).is_err());
    }
}
