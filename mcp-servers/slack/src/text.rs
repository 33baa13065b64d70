//! Text that goes to Slack: no broadcast pings from a model, mrkdwn escaping for report
//! fields, and cuts that respect characters (the last two are the Web API client's).

use serde_json::Value;
pub use sopilot_slack_api::text::{clip, escape};

/// The special mentions that notify a whole channel: `<!channel>`, `<!here>`, `<!everyone>`
/// (optionally `<!here|label>`). A model must not wake everyone at 3 a.m.
const BROADCAST: [&str; 3] = ["channel", "here", "everyone"];

/// `text` with broadcast mentions turned into plain words (`@here`), which notify nobody.
pub fn defuse(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("<!") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        if let Some(end) = after.find('>') {
            let word = after[..end].split('|').next().unwrap_or_default();
            if BROADCAST.iter().any(|b| b.eq_ignore_ascii_case(word)) {
                out.push('@');
                out.push_str(word);
                rest = &after[end + 1..];
                continue;
            }
        }
        out.push_str("<!");
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Defuses every string inside a Block Kit value.
pub fn defuse_json(v: &mut Value) {
    match v {
        Value::String(s) => *s = defuse(s),
        Value::Array(items) => items.iter_mut().for_each(defuse_json),
        Value::Object(map) => map.values_mut().for_each(defuse_json),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// One line for a table: newlines shown as ` / `, clipped.
pub fn one_line(text: &str, max: usize) -> String {
    let joined = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ");
    clip(&joined, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn broadcast_mentions_notify_nobody() {
        assert_eq!(
            defuse("<!channel> db down, <!here|here> <!EVERYONE> <@U0ALICE> <!subteam^S1>"),
            "@channel db down, @here @EVERYONE <@U0ALICE> <!subteam^S1>"
        );
        assert_eq!(defuse("a <!here b"), "a <!here b");
        assert_eq!(defuse("<!<!here>>"), "<!@here>");
        let mut v = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "<!here> x"}}]);
        defuse_json(&mut v);
        assert_eq!(v[0]["text"]["text"], "@here x");
    }

    #[test]
    fn escaping_and_clipping() {
        assert_eq!(
            escape("p99 < 200ms & <!here>"),
            "p99 &lt; 200ms &amp; &lt;!here&gt;"
        );
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("ééé", 3), "ééé");
        assert_eq!(one_line("a\n\n b \nc", 20), "a / b / c");
    }
}

#[cfg(test)]
mod redaction {
    /// Guards the `unicode-case` feature in Cargo.toml: without it the shared redaction
    /// silently skips its case-insensitive rules in this binary.
    #[test]
    fn shared_redaction_masks_bearer_tokens_in_this_build() {
        let masked =
            sopilot_mcp_common::redact("Authorization: Bearer abcdefgh12345 password=hunter22");
        assert_eq!(
            masked,
            "Authorization: Bearer [REDACTED] password=[REDACTED]"
        );
    }
}
